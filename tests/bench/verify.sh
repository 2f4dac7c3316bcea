#!/usr/bin/env bash
# Benchmark of pull verification against a local CNCF distribution registry, against the
# raw ceiling of the same work.
#
# Seeds N images (default 1000: one repository, N tags, each a distinct manifest and config,
# one shared layer) into a registry on 127.0.0.1, then, in one run:
#   1. records the exact requests one `berth plan` makes (the registry's access log, in a
#      calibration run): the mix — per image a manifest GET and a config GET, plus one HEAD
#      of the shared layer;
#   2. restarts the registry without its access log and, for berth's default concurrency and
#      each of CONCURRENCIES, times `berth plan` end to end (process start to exit) and
#      replays the same mix with `wrk` (tests/bench/verify-mix.lua) over as many connections
#      for WRK_SECONDS, taking turns RUNS times (medians): wrk's rate is the raw ceiling of that
#      work on this registry and machine; berth's share is its end-to-end requests/s over it;
#   3. a sequential `skopeo inspect` loop over the same images (bounded by SKOPEO_SECONDS;
#      when cut short, the per-image time is extrapolated to N and marked so).
# Prints a markdown table and writes it to tests/bench/results-verify.md.
# Targets: berth end to end ≥ 90% of the same-mix ceiling at its default concurrency; the
# skopeo-loop speed-up is reported beside it.
#
# Env: N, RUNS (5), WRK_SECONDS (2), CONCURRENCIES ("8 16 32 64"), SKOPEO_SECONDS (60).
# berth is the release build (built here); BERTH_BIN names a release binary built already.
set -euo pipefail

N=${N:-1000}
RUNS=${RUNS:-5}
WRK_SECONDS=${WRK_SECONDS:-2}
CONCURRENCIES=${CONCURRENCIES:-"8 16 32 64"}
SKOPEO_SECONDS=${SKOPEO_SECONDS:-60}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT="$ROOT/tests/bench/results-verify.md"

# shellcheck source=tests/bench/lib.sh
source "$ROOT/tests/bench/lib.sh"
need_apt docker-registry docker-registry
need_apt skopeo skopeo
need_apt wrk wrk
need_apt curl curl
need_apt python3 python3
need_apt sha256sum coreutils

pushd "$ROOT" >/dev/null && release_bin && popd >/dev/null
BERTH=$BIN
# The Accept header berth sends for manifests, from its source, for the replay.
ACCEPT=$(python3 - "$ROOT/src/registry/manifest.rs" <<'PY'
import re, sys
src = open(sys.argv[1], encoding="utf-8").read()
m = re.search(r'pub const MANIFEST_ACCEPT: &str = "((?:[^"\\]|\\.)*)";', src, re.S)
print(re.sub(r"\\\n\s*", "", m.group(1)))
PY
)

bench_work
start_registry false "$WORK/access.log"

REPO=bench/app

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
t1=$(date +%s.%N)
echo "seeded in $(echo "$t1 - $t0" | bc -l | xargs printf '%.1f') s" >&2

berth_yaml() { # berth_yaml [MAX_CONCURRENCY]: no argument = berth's default
  printf 'registries:\n  "%s":\n    insecure: true\n' "$HOST" > "$WORK/cat/berth.yaml"
  if [ -n "${1:-}" ]; then printf '    maxConcurrency: %s\n' "$1" >> "$WORK/cat/berth.yaml"; fi
}

# 1. Calibration: the exact requests of one plan, from the access log.
berth_yaml
: > "$WORK/access.log"
"$BERTH" plan --catalogue "$WORK/cat" --format json > "$WORK/plan.json"
BERTH_REQ=$(grep -o '"requests": [0-9]*' "$WORK/plan.json" | grep -o '[0-9]*$')
BERTH_PASSED=$(grep -c '"result": "passed"' "$WORK/plan.json" || true)
[ "$BERTH_PASSED" = "$N" ] || { echo "berth verified $BERTH_PASSED of $N" >&2; exit 1; }
sleep 0.5
sed -n 's/.*"\(GET\|HEAD\) \([^ ]*\) HTTP\/[0-9.]*".*/\1 \2/p' "$WORK/access.log" > "$WORK/mix.txt"
MIX=$(wc -l < "$WORK/mix.txt")
[ "$MIX" = "$BERTH_REQ" ] || { echo "access log has $MIX requests, berth counted $BERTH_REQ" >&2; head "$WORK/access.log" >&2; exit 1; }
MIX_DESC=$(awk '{ split($2, p, "/"); k = $1 " " p[5]; n[k]++ } END { for (k in n) printf "%s%d × %s", (s++ ? ", " : ""), n[k], k }' "$WORK/mix.txt")
stop_registry
start_registry true "$WORK/registry.log"

# 2. berth end to end and the same mix with wrk, per concurrency (after one untimed round of
# each, so that neither meets a cold registry).
berth_yaml
"$BERTH" plan --catalogue "$WORK/cat" --format json > /dev/null
wrk -t2 -c16 -d2s -s "$ROOT/tests/bench/verify-mix.lua" "http://$HOST" -- "$WORK/mix.txt" "$ACCEPT" > /dev/null
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
rows=()
for c in default $CONCURRENCIES; do
  if [ "$c" = default ]; then berth_yaml; conns=$(sed -n 's/^pub const DEFAULT_MAX_CONCURRENCY: usize = \([0-9]*\);/\1/p' "$ROOT/src/registry/transport.rs"); else berth_yaml "$c"; conns=$c; fi
  walls=()
  verify_ms=()
  rates=()
  # berth and wrk take turns, so that both meet the same machine (it is shared: the load
  # drifts); the medians are compared.
  for _ in $(seq 1 "$RUNS"); do
    t0=$(date +%s.%N)
    BERTH_LOG=info "$BERTH" plan --catalogue "$WORK/cat" --format json > "$WORK/plan.json" 2> "$WORK/berth.log"
    t1=$(date +%s.%N)
    walls+=("$(echo "$t1 - $t0" | bc -l)")
    verify_ms+=("$(sed -n 's/.*verification finished.*elapsed_ms=\([0-9]*\).*/\1/p' "$WORK/berth.log")")
    wrk_out=$(wrk -t2 -c"$conns" -d"${WRK_SECONDS}s" -s "$ROOT/tests/bench/verify-mix.lua" "http://$HOST" -- "$WORK/mix.txt" "$ACCEPT")
    bad=$(echo "$wrk_out" | sed -n 's/^mix: [0-9]* requests replayed, \([0-9]*\) non.*/\1/p')
    [ "${bad:-0}" = 0 ] || { echo "wrk: $bad failed requests" >&2; echo "$wrk_out" >&2; exit 1; }
    rates+=("$(echo "$wrk_out" | sed -n 's/^Requests\/sec: *//p')")
  done
  wall=$(printf '%s\n' "${walls[@]}" | median)
  vms=$(printf '%s\n' "${verify_ms[@]}" | median)
  wrk_rps=$(printf '%s\n' "${rates[@]}" | median)
  rows+=("$c $conns $wall $vms $wrk_rps")
  echo "concurrency $c ($conns): berth ${wall}s end to end, verification ${vms} ms; wrk ${wrk_rps} req/s" >&2
done

# 3. sequential skopeo inspect loop, time-bounded.
SK_DONE=0
t0=$(date +%s.%N)
deadline=$(( $(date +%s) + SKOPEO_SECONDS ))
for i in $(seq 1 "$N"); do
  skopeo inspect --tls-verify=false "docker://$HOST/$REPO:t$i" > /dev/null
  SK_DONE=$i
  [ "$(date +%s)" -lt "$deadline" ] || break
done
t1=$(date +%s.%N)
SK_S=$(echo "($t1 - $t0) * $N / $SK_DONE" | bc -l)
SK_NOTE=""
[ "$SK_DONE" -lt "$N" ] && SK_NOTE=" (measured $SK_DONE of $N, extrapolated)"

f1() { printf '%.1f' "$1"; }
f2() { printf '%.2f' "$1"; }
verdict() { if [ "$(echo "$1 >= $2" | bc -l)" = 1 ]; then echo "met"; else echo "missed"; fi; }
read -r _ dconns dwall _ dwrk <<<"${rows[0]}"
SHARE=$(echo "100 * ($BERTH_REQ / $dwall) / $dwrk" | bc -l)
SPEEDUP=$(echo "$SK_S / $dwall" | bc -l)
{
  echo "# Verification benchmark"
  echo
  echo "$N images (one repository, $N tags, distinct manifests and configs, one shared layer) in a local docker-registry $(docker-registry --version 2>/dev/null | awk '{print $3}') on 127.0.0.1; $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end; $(date -u +%Y-%m-%d); berth release build."
  echo
  echo "The mix (one \`berth plan\` at level \`blobs\`, from the registry's access log): $BERTH_REQ requests — $MIX_DESC. \`wrk\` replays exactly these requests (tests/bench/verify-mix.lua, same Accept header) over as many connections as berth's maxConcurrency: the raw ceiling of this work here. berth's time is end to end (process start to exit: reading the catalogue, verifying, planning, writing the JSON report). berth and wrk (${WRK_SECONDS} s each) take turns $RUNS times; medians."
  echo
  echo "| berth maxConcurrency | berth end to end (s) | berth req/s | verification stage (s) | \`wrk\`, same mix, same connections (req/s) | berth share of the ceiling |"
  echo "|---|---:|---:|---:|---:|---:|"
  for r in "${rows[@]}"; do
    read -r c conns wall vms wrk_rps <<<"$r"
    label=$conns
    [ "$c" = default ] && label="**$conns (default)**"
    echo "| $label | $(f2 "$wall") | $(f1 "$(echo "$BERTH_REQ / $wall" | bc -l)") | $(f2 "$(echo "$vms / 1000" | bc -l)") | $(f1 "$wrk_rps") | $(f1 "$(echo "100 * ($BERTH_REQ / $wall) / $wrk_rps" | bc -l)")% |"
  done
  echo "| sequential \`skopeo inspect\`$SK_NOTE | $(f2 "$SK_S") | – | – | – | – |"
  echo
  echo "| Ratio (default concurrency, $dconns) | Value | Target | |"
  echo "|---|---|---|---|"
  echo "| berth end to end vs \`wrk\` replaying the same requests | $(f1 "$SHARE")% | ≥ 90% | $(verdict "$SHARE" 90) |"
  echo "| berth end to end vs the sequential skopeo loop, speed-up | $(f1 "$SPEEDUP")× | (reported) | |"
  echo
  echo "Ceiling: at $(f1 "$dwrk") requests/s and $(f2 "$(echo "$BERTH_REQ / $N" | bc -l)") requests per image, no client verifies more than $(f1 "$(echo "$dwrk * $N / $BERTH_REQ" | bc -l)") images/s on this registry and machine, $(f1 "$(echo "($dwrk * $N / $BERTH_REQ) / ($N / $SK_S)" | bc -l)")× the skopeo loop."
} | tee "$OUT"
