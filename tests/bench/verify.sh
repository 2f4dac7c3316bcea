#!/usr/bin/env bash
# Benchmark of pull verification against a local CNCF distribution registry.
#
# Seeds N images (default 1000: one repository, N tags, each a distinct manifest) into a
# registry on 127.0.0.1, then measures side by side in one run:
#   1. `berth plan` verifying all N (default level `blobs`: manifest GET, config GET, layer HEAD),
#   2. a sequential `skopeo inspect` loop over the same images (bounded by SKOPEO_SECONDS;
#      when cut short, the per-image time measured is extrapolated to N and marked so),
#   3. the raw throughput of manifest GETs with `wrk` (WRK_SECONDS, WRK_CONNECTIONS).
# Prints a markdown table and writes it to tests/bench/results-verify.md.
# Targets: berth ≥ 30× faster than the skopeo loop, and ≥ 60% of wrk's requests/second.
#
# Env: N, SKOPEO_SECONDS (60), WRK_SECONDS (5), WRK_CONNECTIONS (16), CONCURRENCY (berth
# maxConcurrency, 16), BERTH (binary; default target/release/berth, built if missing).
set -euo pipefail

N=${N:-1000}
SKOPEO_SECONDS=${SKOPEO_SECONDS:-60}
WRK_SECONDS=${WRK_SECONDS:-5}
WRK_CONNECTIONS=${WRK_CONNECTIONS:-16}
CONCURRENCY=${CONCURRENCY:-16}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT="$ROOT/tests/bench/results-verify.md"

need() {
  command -v "$1" >/dev/null 2>&1 || { echo "missing $1: apt-get install -y $2" >&2; exit 1; }
}
need docker-registry docker-registry
need skopeo skopeo
need wrk wrk
need curl curl
need sha256sum coreutils

BERTH=${BERTH:-$ROOT/target/release/berth}
if [ ! -x "$BERTH" ]; then
  (cd "$ROOT" && cargo build --release --bin berth)
fi

WORK=$(mktemp -d)
REG_PID=
cleanup() {
  if [ -n "$REG_PID" ]; then kill "$REG_PID" 2>/dev/null || true; wait "$REG_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  echo "no free port" >&2; exit 1
}

PORT=$(free_port)
HOST="127.0.0.1:$PORT"
cat > "$WORK/registry.yml" <<YML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $WORK/storage
http:
  addr: $HOST
  secret: bench
YML
docker-registry serve "$WORK/registry.yml" > "$WORK/registry.log" 2>&1 &
REG_PID=$!
for _ in $(seq 1 100); do
  curl -fs -o /dev/null "http://$HOST/v2/" && break
  sleep 0.1
done
curl -fs -o /dev/null "http://$HOST/v2/" || { cat "$WORK/registry.log"; exit 1; }

REPO=bench/app
push_blob() { # file -> digest
  local f=$1 d loc
  d="sha256:$(sha256sum "$f" | cut -d' ' -f1)"
  loc=$(curl -fsS -X POST -D - -o /dev/null "http://$HOST/v2/$REPO/blobs/uploads/" | tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
  case "$loc" in http*) ;; *) loc="http://$HOST$loc" ;; esac
  case "$loc" in *\?*) loc="$loc&digest=$d" ;; *) loc="$loc?digest=$d" ;; esac
  curl -fsS -X PUT -H 'Content-Type: application/octet-stream' --data-binary "@$f" -o /dev/null "$loc"
  echo "$d"
}

echo "seeding $N images into $HOST ..." >&2
t0=$(date +%s.%N)
head -c 4096 /dev/urandom > "$WORK/layer"
LAYER=$(push_blob "$WORK/layer")
LSIZE=$(stat -c %s "$WORK/layer")
mkdir -p "$WORK/m" "$WORK/cat/images"
: > "$WORK/curl.cfg"
for i in $(seq 1 "$N"); do
  # A config of its own per image (as real images have), one base layer shared by all.
  printf '{"architecture":"amd64","os":"linux","config":{"Labels":{"bench.n":"%s"}},"rootfs":{"type":"layers","diff_ids":[]}}' "$i" > "$WORK/config"
  CONFIG=$(push_blob "$WORK/config")
  CSIZE=$(stat -c %s "$WORK/config")
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":%s}],"annotations":{"bench.n":"%s"}}' \
    "$CONFIG" "$CSIZE" "$LAYER" "$LSIZE" "$i" > "$WORK/m/$i.json"
  [ "$i" -gt 1 ] && echo next >> "$WORK/curl.cfg"
  printf 'url = "http://%s/v2/%s/manifests/t%s"\nupload-file = "%s"\nheader = "Content-Type: application/vnd.oci.image.manifest.v1+json"\noutput = "/dev/null"\nfail\n' \
    "$HOST" "$REPO" "$i" "$WORK/m/$i.json" >> "$WORK/curl.cfg"
  printf 'code: img%s\nname: Image %s\nsummary: bench\npublisher: bench\nimage:\n  registry: "%s"\n  repository: %s\n  tag: "t%s"\nrelease:\n  type: new\n  stage: testing\n' \
    "$i" "$i" "$HOST" "$REPO" "$i" > "$WORK/cat/images/img$i.yaml"
done
curl -sS -K "$WORK/curl.cfg"
printf 'registries:\n  "%s":\n    insecure: true\n    maxConcurrency: %s\n' "$HOST" "$CONCURRENCY" > "$WORK/cat/berth.yaml"
t1=$(date +%s.%N)
echo "seeded in $(echo "$t1 - $t0" | bc -l | xargs printf '%.1f') s" >&2

# 1. berth plan, verifying all N.
t0=$(date +%s.%N)
BERTH_LOG=info "$BERTH" plan --catalogue "$WORK/cat" --format json > "$WORK/plan.json" 2> "$WORK/berth.log"
t1=$(date +%s.%N)
BERTH_S=$(echo "$t1 - $t0" | bc -l)
# The verification stage alone (berth logs it), without loading 1000 listings and rendering.
VERIFY_MS=$(sed -n 's/.*verification finished.*elapsed_ms=\([0-9]*\).*/\1/p' "$WORK/berth.log")
VERIFY_S=$(echo "$VERIFY_MS / 1000" | bc -l)
BERTH_REQ=$(grep -o '"requests": [0-9]*' "$WORK/plan.json" | grep -o '[0-9]*$')
BERTH_PASSED=$(grep -c '"result": "passed"' "$WORK/plan.json" || true)
[ "$BERTH_PASSED" = "$N" ] || { echo "berth verified $BERTH_PASSED of $N" >&2; exit 1; }

# 2. sequential skopeo inspect loop, time-bounded.
SK_DONE=0
t0=$(date +%s.%N)
deadline=$(( $(date +%s) + SKOPEO_SECONDS ))
for i in $(seq 1 "$N"); do
  skopeo inspect --tls-verify=false "docker://$HOST/$REPO:t$i" > /dev/null
  SK_DONE=$i
  [ "$(date +%s)" -lt "$deadline" ] || break
done
t1=$(date +%s.%N)
SK_MEASURED=$(echo "$t1 - $t0" | bc -l)
SK_S=$(echo "$SK_MEASURED * $N / $SK_DONE" | bc -l)
SK_NOTE=""
[ "$SK_DONE" -lt "$N" ] && SK_NOTE=" (measured $SK_DONE of $N, extrapolated)"

# 3. raw manifest GET throughput.
WRK_OUT=$(wrk -t2 -c"$WRK_CONNECTIONS" -d"${WRK_SECONDS}s" \
  -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$HOST/v2/$REPO/manifests/t1")
WRK_RPS=$(echo "$WRK_OUT" | sed -n 's/^Requests\/sec: *//p')

BERTH_RPS=$(echo "$BERTH_REQ / $BERTH_S" | bc -l)
VERIFY_RPS=$(echo "$BERTH_REQ / $VERIFY_S" | bc -l)
SPEEDUP=$(echo "$SK_S / $BERTH_S" | bc -l)
SHARE=$(echo "100 * $VERIFY_RPS / $WRK_RPS" | bc -l)
verdict() { if [ "$(echo "$1 >= $2" | bc -l)" = 1 ]; then echo "met"; else echo "missed"; fi; }

f1() { printf '%.1f' "$1"; }
f2() { printf '%.2f' "$1"; }
{
  echo "# Verification benchmark"
  echo
  echo "$N images (one repository, $N tags, distinct manifests) in a local docker-registry $(docker-registry --version 2>/dev/null | awk '{print $3}') on $HOST; $(nproc) cores; $(date -u +%Y-%m-%d)."
  echo "berth: default level \`blobs\` (manifest GET + config GET per image; the shared layer is HEADed once per run), maxConcurrency $CONCURRENCY. \`skopeo inspect\` also GETs manifest and config per image."
  echo
  echo "| Method | Images | Wall time (s) | Images/s | Requests | Requests/s |"
  echo "|---|---|---|---|---|---|"
  echo "| \`berth plan\`, end to end | $N | $(f2 "$BERTH_S") | $(f1 "$(echo "$N / $BERTH_S" | bc -l)") | $BERTH_REQ | $(f1 "$BERTH_RPS") |"
  echo "| \`berth plan\`, verification stage | $N | $(f2 "$VERIFY_S") | $(f1 "$(echo "$N / $VERIFY_S" | bc -l)") | $BERTH_REQ | $(f1 "$VERIFY_RPS") |"
  echo "| sequential \`skopeo inspect\`$SK_NOTE | $N | $(f2 "$SK_S") | $(f1 "$(echo "$N / $SK_S" | bc -l)") | – | – |"
  echo "| \`wrk\` manifest GET, $WRK_CONNECTIONS connections, ${WRK_SECONDS}s | – | $WRK_SECONDS | – | – | $(f1 "$WRK_RPS") |"
  echo
  echo "| Ratio | Value | Target | |"
  echo "|---|---|---|---|"
  echo "| berth (end to end) vs skopeo loop, speed-up | $(f1 "$SPEEDUP")× | ≥ 30× | $(verdict "$SPEEDUP" 30) |"
  echo "| berth verification requests/s vs raw manifest GETs | $(f1 "$SHARE")% | ≥ 60% | $(verdict "$SHARE" 60) |"
} | tee "$OUT"
