#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Fetches Docker Engine 28 for the engine matrix of the test suite (the meson suite `engines`),
# without installing anything on the machine: Debian's `docker.io` 28.x, the `docker-cli` of the
# same release, a `containerd` it accepts and `tini-static` (its docker-init) are downloaded with
# apt from a newer Debian suite and unpacked with `dpkg -x`.
#
#   scripts/fetch-engine.sh [DIR]
#
# DIR (default: $CORE_INTERCEPTOR_ENGINE_DIR, else /var/cache/core_interceptor-tests/engines/docker28)
# receives the unpacked tree: DIR/usr/sbin/dockerd, DIR/usr/bin/{docker,containerd,
# containerd-shim-runc-v2,docker-init}, and DIR/VERSION naming the packages. The machine's
# own runc serves as the runtime. A second run finds DIR/VERSION and does nothing (no network).
#
# How: apt runs with private state (sources list, lists, cache under DIR.apt/), never the
# machine's. The sources list is built from the machine's own apt sources (one-line *.list and
# deb822 *.sources): the URI and Signed-By keyring of the Debian archive entry that serves
# bookworm main, with the suites forky and sid (ENGINE_SUITES overrides them). The highest 28.x
# docker.io is taken, and the highest containerd that satisfies its dependency.
# Prints one line on failure (no network, no 28.x, no Debian archive among the sources).
set -euo pipefail

prog=${0##*/}
die() { echo "$prog: $*" >&2; exit 1; }

dest=${1:-${CORE_INTERCEPTOR_ENGINE_DIR:-/var/cache/core_interceptor-tests/engines/docker28}}
major=28
suites=${ENGINE_SUITES:-forky sid}

if [[ -f $dest/VERSION && -x $dest/usr/sbin/dockerd ]]; then
  exit 0
fi
command -v apt-get >/dev/null || die "no apt-get: Docker $major is fetched from Debian's archive"
command -v dpkg >/dev/null || die "no dpkg"

work="$dest.apt"
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/debs"

# The Debian archive entry serving bookworm main: "URI KEYRING" (keyring may be empty).
archive=$(python3 - <<'EOF'
import glob, re, sys

def one_line(path):
    for raw in open(path, encoding="utf-8", errors="replace"):
        line = raw.split("#", 1)[0].strip()
        if not line.startswith("deb "):
            continue
        opts = {}
        m = re.match(r"deb\s+\[([^\]]*)\]\s+(.*)", line)
        rest = line[4:].strip()
        if m:
            for o in m.group(1).split():
                if "=" in o:
                    k, v = o.split("=", 1)
                    opts[k.lower()] = v
            rest = m.group(2)
        f = rest.split()
        if len(f) >= 3:
            yield f[0], [f[1]], f[2:], opts.get("signed-by", "")

def deb822(path):
    text = open(path, encoding="utf-8", errors="replace").read()
    for stanza in re.split(r"\n\s*\n", text):
        fields, key = {}, None
        for raw in stanza.splitlines():
            if raw.lstrip().startswith("#"):
                continue
            if raw[:1] in (" ", "\t") and key:
                fields[key] += "\n" + raw.strip()
                continue
            if ":" in raw:
                key, v = raw.split(":", 1)
                key = key.strip().lower()
                fields[key] = v.strip()
        if "deb" not in fields.get("types", "").split():
            continue
        if fields.get("enabled", "yes").lower() == "no":
            continue
        signed = fields.get("signed-by", "")
        if "\n" in signed or "BEGIN PGP" in signed:
            signed = ""  # an inline key: use the default keyrings
        for uri in fields.get("uris", "").split():
            yield uri, fields.get("suites", "").split(), fields.get("components", "").split(), signed

entries = []
for p in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")):
    try:
        entries += list(one_line(p))
    except OSError:
        pass
for p in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
    try:
        entries += list(deb822(p))
    except OSError:
        pass
for uri, suites, components, signed in entries:
    if "bookworm" in suites and "main" in components:
        print(uri.rstrip("/"), signed)
        sys.exit(0)
sys.exit(1)
EOF
) || die "no apt source serves Debian bookworm main (/etc/apt/sources.list, /etc/apt/sources.list.d/)"
uri=${archive%% *}
keyring=${archive#"$uri"}
keyring=${keyring# }

{
  for s in $suites; do
    if [[ -n $keyring ]]; then
      echo "deb [signed-by=$keyring] $uri $s main"
    else
      echo "deb $uri $s main"
    fi
  done
} >"$work/sources.list"

apt_opts=(
  -o "Dir::Etc::SourceList=$work/sources.list"
  -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$work/lists"
  -o "Dir::State::Status=/var/lib/dpkg/status"
  -o "Dir::Cache=$work/cache"
  -o APT::Sandbox::User=root
  -o Acquire::Retries=2
  -o Debug::NoLocking=1
)

if ! apt-get "${apt_opts[@]}" -q update >"$work/update.log" 2>&1 ||
  grep -qE '^(Err|W: Failed to fetch)' "$work/update.log"; then
  die "apt-get update of $uri ($suites) failed (no network?): see $work/update.log"
fi

# The highest 28.x docker.io, and the highest containerd its Depends accept.
docker_version=$(apt-cache "${apt_opts[@]}" madison docker.io |
  awk -F'|' '{gsub(/ /, "", $2); print $2}' | grep -E "^([0-9]+:)?$major\." |
  sort -V | tail -n1 || true)
[[ -n $docker_version ]] || die "no docker.io $major.x in $uri ($suites)"

containerd_dep=$(apt-cache "${apt_opts[@]}" show "docker.io=$docker_version" |
  sed -n 's/^Depends: //p' | head -n1 | tr ',' '\n' | grep -E '^\s*containerd\b' | head -n1 || true)
containerd_version=""
for v in $(apt-cache "${apt_opts[@]}" madison containerd |
  awk -F'|' '{gsub(/ /, "", $2); print $2}' | sort -Vr | uniq); do
  ok=1
  # "containerd (>= 1.7.24~)" or "containerd (>= 1.7), containerd (<< 3)"
  while read -r op want; do
    [[ -n $op ]] || continue
    dpkg --compare-versions "$v" "$(sed 's/>>/gt/;s/<</lt/;s/>=/ge/;s/<=/le/;s/^=$/eq/' <<<"$op")" "$want" || ok=0
  done < <(grep -oE '\((>=|<=|>>|<<|=) *[^)]+\)' <<<"$containerd_dep" | tr -d '()')
  if [[ $ok == 1 ]]; then
    containerd_version=$v
    break
  fi
done
[[ -n $containerd_version ]] || die "no containerd in $uri ($suites) satisfies docker.io $docker_version ($containerd_dep)"

(cd "$work/debs" && rm -f ./*.deb &&
  apt-get "${apt_opts[@]}" -q download "docker.io=$docker_version" "docker-cli=$docker_version" \
    "containerd=$containerd_version" tini-static >"$work/download.log" 2>&1) ||
  die "apt-get download of docker.io and docker-cli $docker_version, containerd $containerd_version and tini-static failed: see $work/download.log"

tmp="$dest.new"
rm -rf "$tmp"
mkdir -p "$tmp"
for deb in "$work"/debs/*.deb; do
  dpkg -x "$deb" "$tmp"
done
[[ -x $tmp/usr/sbin/dockerd ]] || die "docker.io $docker_version has no usr/sbin/dockerd"
[[ -x $tmp/usr/bin/containerd ]] || die "containerd $containerd_version has no usr/bin/containerd"
[[ -x $tmp/usr/bin/docker ]] || die "docker-cli $docker_version has no usr/bin/docker"
[[ -x $tmp/usr/bin/docker-init ]] || die "docker.io $docker_version: usr/bin/docker-init does not lead to tini-static"
printf 'docker.io %s\ndocker-cli %s\ncontainerd %s\n' "$docker_version" "$docker_version" \
  "$containerd_version" >"$tmp/VERSION"
rm -rf "$dest"
mv "$tmp" "$dest"
rm -rf "$work/debs" "$work/cache"
echo "$prog: docker.io $docker_version and containerd $containerd_version unpacked in $dest" >&2
