# SPDX-License-Identifier: MIT
# Sourced by the scripts that need root (they start a private dockerd or install packages),
# after they cd to the top of the tree:
#   . scripts/lib/as-root.sh
#   as_root "$@"
# As root: returns. Otherwise re-runs the calling script with sudo, keeping the environment
# (CI, BUILD_DIR, ...), when sudo exists; else says in one line what to do and exits 1.
as_root() {
  [ "$(id -u)" -eq 0 ] && return 0
  local script
  script=$(basename "$0")
  if command -v sudo >/dev/null 2>&1; then
    echo "$script: needs root, re-running with sudo" >&2
    exec sudo -E "$PWD/scripts/$script" "$@"
  fi
  echo "$script: needs root and there is no sudo here: run it from a root shell (su -)" >&2
  exit 1
}
