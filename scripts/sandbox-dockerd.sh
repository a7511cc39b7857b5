#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A private Docker daemon for demos and manual tests (SPEC §7): its own socket, data root and
# exec root in one directory, and always the network-disabling flags. Containers run on it must
# use `--network none`. Needs root and Debian's docker.io (plus busybox-static for `image`).
#
#   scripts/sandbox-dockerd.sh [start] [DIR]      start it in DIR (default: a new
#                                                 /tmp/ci-XXXXXX), wait until it answers, print
#                                                 its DOCKER_HOST url on stdout
#   scripts/sandbox-dockerd.sh image DIR [NAME]   import the busybox test image (testimg:1.0)
#   scripts/sandbox-dockerd.sh stop DIR           stop it by the PID in DIR/docker.pid, end
#                                                 leftover shims, unmount and remove DIR
#
# Example:
#   host=$(scripts/sandbox-dockerd.sh start); dir=${host#unix://}; dir=${dir%/docker.sock}
#   scripts/sandbox-dockerd.sh image "$dir"
#   docker -H "$host" run --network none --ulimit core=-1 -w /tmp testimg:1.0 \
#       sh -c 'sh -c "kill -SEGV \$\$"; exit $?'
#   scripts/sandbox-dockerd.sh stop "$dir"
set -euo pipefail

prog=${0##*/}
die() { echo "$prog: $*" >&2; exit 1; }

# Unix socket paths are limited to 108 bytes; containerd puts deeper ones under the exec root.
max_dir_length=48

find_sbin() {
    PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin" command -v "$1" || true
}

docker_cli() {
    local dir=$1; shift
    DOCKER_CONFIG="$dir/cli" docker -H "unix://$dir/docker.sock" "$@"
}

ping_ok() {
    local dir=$1
    if command -v curl >/dev/null; then
        curl -sf --max-time 2 --unix-socket "$dir/docker.sock" http://docker/_ping >/dev/null 2>&1
    else
        docker_cli "$dir" version >/dev/null 2>&1
    fi
}

alive() {
    local pid=$1 state
    [[ -r /proc/$pid/stat ]] || return 1
    state=$(sed 's/.*) //' "/proc/$pid/stat" | cut -d' ' -f1)
    [[ $state != Z && $state != X ]]
}

cmd_start() {
    [[ $(id -u) == 0 ]] || die "needs root"
    local dockerd dir
    dockerd=$(find_sbin dockerd)
    [[ -n $dockerd ]] || die "no dockerd (Debian package docker.io)"
    if [[ $# -ge 1 ]]; then
        dir=$1
        mkdir -p "$dir"
        dir=$(cd "$dir" && pwd)
    else
        dir=$(mktemp -d /tmp/ci-XXXXXX)
    fi
    (( ${#dir} <= max_dir_length )) || die "$dir: keep it under $max_dir_length characters"
    if [[ -r $dir/docker.pid ]] && alive "$(cat "$dir/docker.pid")"; then
        die "a dockerd already runs in $dir (pid $(cat "$dir/docker.pid"))"
    fi
    mkdir -p "$dir/cli"

    # Exactly the flags of SPEC §7: no bridge, no iptables rules, no forwarding, no masquerade.
    setsid "$dockerd" \
        --host "unix://$dir/docker.sock" \
        --data-root "$dir/data" \
        --exec-root "$dir/exec" \
        --pidfile "$dir/docker.pid" \
        --bridge=none --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false \
        >>"$dir/dockerd.log" 2>&1 </dev/null &
    local pid=$!

    local i
    for (( i = 0; i < 600; i++ )); do
        if ping_ok "$dir"; then
            echo "unix://$dir/docker.sock"
            return 0
        fi
        # setsid may have forked: once dockerd wrote its pidfile, that PID is the one to watch.
        [[ -s $dir/docker.pid ]] && pid=$(cat "$dir/docker.pid")
        if ! alive "$pid"; then
            tail -n 20 "$dir/dockerd.log" >&2 || true
            die "dockerd exited at start; log: $dir/dockerd.log"
        fi
        sleep 0.1
    done
    tail -n 20 "$dir/dockerd.log" >&2 || true
    die "dockerd did not answer within 60 s (pid $pid, dir $dir); stop it with: $prog stop $dir"
}

cmd_image() {
    [[ $# -ge 1 ]] || die "usage: $prog image DIR [NAME]"
    local dir=$1 name=${2:-testimg:1.0} busybox rootfs
    [[ -S $dir/docker.sock ]] || die "no dockerd socket in $dir"
    busybox=/bin/busybox
    [[ -x $busybox ]] || busybox=$(command -v busybox || true)
    [[ -n $busybox ]] || die "no busybox (Debian package busybox-static)"
    if command -v file >/dev/null && ! file -L "$busybox" | grep -q 'statically linked'; then
        die "$busybox is not statically linked (Debian package busybox-static)"
    fi
    rootfs=$(mktemp -d "$dir/rootfs-XXXXXX")
    mkdir -p "$rootfs"/{bin,tmp,etc,proc,sys,dev}
    chmod 1777 "$rootfs/tmp"
    cp "$busybox" "$rootfs/bin/busybox"
    local applet
    for applet in sh ls cat kill sleep dd echo printf head mkdir true cp rm touch wc tail test env; do
        ln -s busybox "$rootfs/bin/$applet"
    done
    tar --numeric-owner --owner=0 --group=0 -C "$rootfs" -c . | docker_cli "$dir" import - "$name" >/dev/null
    rm -rf "$rootfs"
    echo "$name"
}

cmd_stop() {
    [[ $# -ge 1 ]] || die "usage: $prog stop DIR"
    local dir
    dir=$(cd "$1" && pwd) || die "no directory $1"
    [[ $dir != / && ( -e $dir/docker.pid || -e $dir/dockerd.log ) ]] ||
        die "$dir does not look like a sandbox dockerd directory"

    local pid=""
    [[ -r $dir/docker.pid ]] && pid=$(cat "$dir/docker.pid")
    if [[ -n $pid ]] && alive "$pid"; then
        # dockerd gives each running container 10 s to stop; these are disposable.
        local running
        running=$(docker_cli "$dir" ps -q 2>/dev/null || true)
        if [[ -n $running ]]; then
            # shellcheck disable=SC2086 # one id per word
            docker_cli "$dir" kill $running >/dev/null 2>&1 || true
        fi
        kill -TERM "$pid"
        local i
        for (( i = 0; i < 300; i++ )); do
            alive "$pid" || break
            sleep 0.1
        done
        if alive "$pid"; then
            echo "$prog: dockerd $pid ignored SIGTERM for 30 s; sending SIGKILL" >&2
            kill -KILL "$pid" || true
        fi
    fi

    # Shims (and their containers) outlive a killed dockerd; theirs name our directory.
    local p comm
    for p in /proc/[0-9]*; do
        p=${p#/proc/}
        comm=$(cat "/proc/$p/comm" 2>/dev/null || true)
        [[ $comm == containerd* ]] || continue
        if tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF "$dir/"; then
            local child
            for child in $(ps -o pid= --ppid "$p" 2>/dev/null); do kill -KILL "$child" 2>/dev/null || true; done
            kill -KILL "$p" 2>/dev/null || true
        fi
    done

    # Leftover mounts (the data root's own bind mount, container layers), deepest first.
    local mp
    awk -v d="$dir" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo |
        sort -r | while read -r mp; do
            umount -l "$mp" 2>/dev/null || true
        done
    rm -rf "$dir"
}

case ${1:-start} in
    start) [[ $# -gt 0 ]] && shift; cmd_start "$@" ;;
    image) shift; cmd_image "$@" ;;
    stop) shift; cmd_stop "$@" ;;
    -h|--help) sed -n '3,19p' "$0" | sed 's/^# \{0,1\}//' ;;
    *) if [[ -d $1 || $1 == /* ]]; then cmd_start "$@"; else die "unknown command $1 (start, image, stop)"; fi ;;
esac
