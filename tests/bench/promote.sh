#!/usr/bin/env bash
# Benchmark of promotion against a local CNCF distribution registry.
#
# Seeds N images (default 100) into dev/app (tags t1-stable … tN-stable; each image has its
# own config and its own 1 MiB layer on top of a shared 4 MiB base layer), then promotes the
# same N images side by side in one run:
#   1. `berth apply` with one policy dev/app → qa/app (tag template `%n`): copy by digest,
#      cross-repository blob mounts, up to maxConcurrency requests at once;
#   2. a sequential `skopeo copy` loop dev/app:tI-stable → skopeo/app:tI-stable.
# Both end with the same N manifests in their target repository (checked). Prints a markdown
# table and writes it to tests/bench/results-promote.md. Target: berth ≥ 2× faster.
#
# Env: N, CONCURRENCY (berth maxConcurrency, 16), BERTH_BIN (release binary built already;
# else built here).
set -euo pipefail

N=${N:-100}
CONCURRENCY=${CONCURRENCY:-16}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT="$ROOT/tests/bench/results-promote.md"

# shellcheck source=tests/bench/lib.sh
source "$ROOT/tests/bench/lib.sh"
need_apt docker-registry docker-registry
need_apt skopeo skopeo
need_apt curl curl
need_apt sha256sum coreutils

pushd "$ROOT" >/dev/null && release_bin && popd >/dev/null
BERTH=$BIN

bench_work
start_registry true "$WORK/registry.log"

REPO=dev/app

echo "seeding $N images into $HOST ..." >&2
head -c $((4 * 1024 * 1024)) /dev/urandom > "$WORK/base"
BASE=$(push_blob "$WORK/base")
BSIZE=$(stat -c %s "$WORK/base")
mkdir -p "$WORK/cat/policies"
for i in $(seq 1 "$N"); do
  head -c $((1024 * 1024)) /dev/urandom > "$WORK/layer"
  LAYER=$(push_blob "$WORK/layer")
  LSIZE=$(stat -c %s "$WORK/layer")
  printf '{"architecture":"amd64","os":"linux","config":{"Labels":{"bench.n":"%s"}},"rootfs":{"type":"layers","diff_ids":[]}}' "$i" > "$WORK/config"
  CONFIG=$(push_blob "$WORK/config")
  CSIZE=$(stat -c %s "$WORK/config")
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":%s},{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":%s}]}' \
    "$CONFIG" "$CSIZE" "$BASE" "$BSIZE" "$LAYER" "$LSIZE" > "$WORK/m.json"
  curl -fsS -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary "@$WORK/m.json" -o /dev/null "http://$HOST/v2/$REPO/manifests/t$i-stable"
done
printf 'registries:\n  "%s":\n    insecure: true\n    maxConcurrency: %s\n' "$HOST" "$CONCURRENCY" > "$WORK/cat/berth.yaml"
printf 'name: bench\nsource: { registry: "%s", repository: dev/app }\ncriteria:\n  - tag: { endsWith: "-stable" }\ntarget: { registry: "%s", repository: qa/app, tag: "%%n" }\n' "$HOST" "$HOST" > "$WORK/cat/policies/bench.yaml"

count_tags() {
  curl -fsS "http://$HOST/v2/$1/tags/list?n=10000" | grep -o '"[^"]*-stable"' | wc -l
}

# 1. berth apply.
t0=$(date +%s.%N)
"$BERTH" apply --catalogue "$WORK/cat" > "$WORK/apply.txt" 2> "$WORK/berth.log" || { cat "$WORK/apply.txt" "$WORK/berth.log" >&2; exit 1; }
t1=$(date +%s.%N)
BERTH_S=$(echo "$t1 - $t0" | bc -l)
[ "$(count_tags qa/app)" = "$N" ] || { echo "berth promoted $(count_tags qa/app) of $N" >&2; cat "$WORK/apply.txt" >&2; exit 1; }
COPY_LINE=$(grep -o 'copy: .*' "$WORK/apply.txt" || true)

# 2. sequential skopeo copy.
t0=$(date +%s.%N)
for i in $(seq 1 "$N"); do
  skopeo copy -q --src-tls-verify=false --dest-tls-verify=false \
    "docker://$HOST/$REPO:t$i-stable" "docker://$HOST/skopeo/app:t$i-stable" > /dev/null
done
t1=$(date +%s.%N)
SK_S=$(echo "$t1 - $t0" | bc -l)
[ "$(count_tags skopeo/app)" = "$N" ] || { echo "skopeo copied $(count_tags skopeo/app) of $N" >&2; exit 1; }

SPEEDUP=$(echo "$SK_S / $BERTH_S" | bc -l)
verdict() { if [ "$(echo "$1 >= $2" | bc -l)" = 1 ]; then echo "met"; else echo "missed"; fi; }
f1() { printf '%.1f' "$1"; }
f2() { printf '%.2f' "$1"; }
{
  echo "# Promotion benchmark"
  echo
  echo "$N images (config + own 1 MiB layer + shared 4 MiB base each) promoted within one local docker-registry $(docker-registry --version 2>/dev/null | awk '{print $3}') on $HOST; $(nproc) cores; $(date -u +%Y-%m-%d); berth release build (\`$("$BERTH" --version)\`), maxConcurrency $CONCURRENCY."
  echo
  echo "| Method | Images | Wall time (s) | Images/s |"
  echo "|---|---|---|---|"
  echo "| \`berth apply\` (policy dev/app → qa/app) | $N | $(f2 "$BERTH_S") | $(f1 "$(echo "$N / $BERTH_S" | bc -l)") |"
  echo "| sequential \`skopeo copy\` (dev/app → skopeo/app) | $N | $(f2 "$SK_S") | $(f1 "$(echo "$N / $SK_S" | bc -l)") |"
  echo
  echo "berth: ${COPY_LINE:-no copy line}"
  echo
  echo "| Ratio | Value | Target | |"
  echo "|---|---|---|---|"
  echo "| berth vs skopeo loop, speed-up | $(f1 "$SPEEDUP")× | ≥ 2× | $(verdict "$SPEEDUP" 2) |"
} | tee "$OUT"
