#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs what is needed, builds, and shows core_interceptor handle a real crash end to end:
# a Docker engine (the running one, else a private sandboxed dockerd), a docker-registry on
# 127.0.0.1, librdkafka's mock Kafka cluster and an HTTP sink (tests/manual/run_sinks), the
# daemon, and a container that dies of SIGSEGV leaving a core. Stops all it started.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/as-root.sh
as_root "$@"
root=$PWD

scripts/install-deps.sh
build=${BUILD_DIR:-build}
[ -d "$build" ] || meson setup "$build"
ninja -C "$build" src/core_interceptor tests/manual/run_sinks

work=$(mktemp -d /tmp/ci-demo-XXXXXX)
pids=()
sandbox=""
container=""
cleanup() {
  set +e
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
  if [ -n "$container" ]; then docker -H "$DOCKER_HOST" rm -f "$container" >/dev/null 2>&1; fi
  if [ -n "$sandbox" ]; then "$root/scripts/sandbox-dockerd.sh" stop "$sandbox"; fi
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# 1. A Docker engine: the running one, or a private sandbox with no network of its own.
if [ -z "${DOCKER_HOST:-}" ] && docker -H unix:///var/run/docker.sock info >/dev/null 2>&1; then
  export DOCKER_HOST=unix:///var/run/docker.sock
  echo "== using the running Docker engine ($DOCKER_HOST)"
elif [ -n "${DOCKER_HOST:-}" ] && docker info >/dev/null 2>&1; then
  echo "== using the Docker engine at $DOCKER_HOST"
else
  sandbox=$work/docker
  DOCKER_HOST=$("$root/scripts/sandbox-dockerd.sh" start "$sandbox")
  export DOCKER_HOST
  echo "== started a private dockerd at $DOCKER_HOST"
fi

# 2. A test image made locally from the static busybox (nothing is pulled).
mkdir -p "$work/rootfs/bin" "$work/rootfs/tmp"
cp /bin/busybox "$work/rootfs/bin/busybox"
for a in sh kill printf; do ln -sf busybox "$work/rootfs/bin/$a"; done
tar -C "$work/rootfs" -c . | docker import - core-interceptor-demo/crasher:1.0 >/dev/null

# 3. Registry and sinks on 127.0.0.1.
port=$(free_port)
cat > "$work/registry.yml" <<YML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $work/registry
http:
  addr: 127.0.0.1:$port
YML
docker-registry serve "$work/registry.yml" > "$work/registry.log" 2>&1 &
pids+=($!)
"$build/tests/manual/run_sinks" > "$work/sinks.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q '^REST_URL=' "$work/sinks.log" 2>/dev/null && break; sleep 0.1; done
brokers=$(sed -n 's/^KAFKA_BROKERS=//p' "$work/sinks.log")
rest_url=$(sed -n 's/^REST_URL=//p' "$work/sinks.log")
echo "== registry 127.0.0.1:$port, Kafka $brokers, REST $rest_url"

# 4. The daemon.
"$build/src/core_interceptor" --docker-host "$DOCKER_HOST" --registry "127.0.0.1:$port" \
  --kafka-brokers "$brokers" --rest-url "$rest_url" > "$work/daemon.log" 2>&1 &
daemon=$!
pids+=($daemon)
for _ in $(seq 100); do grep -q 'watching events' "$work/daemon.log" && break; sleep 0.1; done

# 5. A crash: the inner shell dies of SIGSEGV and leaves an ELF core in /tmp.
container=demo-crash-$$
echo "== crashing container $container"
docker run --network none --ulimit core=-1 -w /tmp --name "$container" \
  core-interceptor-demo/crasher:1.0 sh -c 'sh -c "kill -SEGV \$\$"; exit 139' || true
id=$(docker inspect -f '{{.Id}}' "$container")
tag=${id:0:12}

for _ in $(seq 300); do
  [ "$(grep -c '^kafka \|^rest ' "$work/sinks.log" || true)" -ge 2 ] && break
  sleep 0.1
done
echo "== daemon log"
cat "$work/daemon.log"
echo "== notifications received"
grep '^kafka \|^rest ' "$work/sinks.log" || true
echo "== registry: core-interceptor-demo/crasher_1.0 tags"
curl -s "http://127.0.0.1:$port/v2/core-interceptor-demo/crasher_1.0/tags/list"; echo
if curl -s "http://127.0.0.1:$port/v2/core-interceptor-demo/crasher_1.0/tags/list" | grep -q "\"$tag\""; then
  echo "== OK: docker pull 127.0.0.1:$port/core-interceptor-demo/crasher_1.0:$tag has the core in /tmp/core"
  docker rmi core-interceptor-demo/crasher:1.0 >/dev/null 2>&1 || true
  exit 0
fi
echo "== the image did not arrive in the registry" >&2
exit 1
