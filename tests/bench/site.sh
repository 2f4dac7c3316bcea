#!/usr/bin/env bash
# Benchmark `berth site` (the store page) against `berth plan --offline` on a generated
# catalogue of N images.
#
# Usage: bash tests/bench/site.sh            (N=10000 listings, RUNS=10, WARMUP=2 by default)
#        N=2000 RUNS=5 bash tests/bench/site.sh
#
# Builds the release binary, generates N listings with tests/bench/gen_catalogue.py, records
# all of them with `berth apply --offline --skip-verify --out` (an index of N images), then
# times with hyperfine, pinned to CPU 0 like tests/bench/scale.sh (so the site renders on one
# thread): the plan of the catalogue, the site written into a new directory, and the site
# written again over itself (nothing changed: every file compared, none rewritten), and the
# site written into a new directory on tmpfs (/dev/shm, when there is one: the cost without
# the disk). Prints a markdown table and writes it to tests/bench/results-site.md.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."

N=${N:-10000}
RUNS=${RUNS:-10}
WARMUP=${WARMUP:-2}
RESULTS=tests/bench/results-site.md

# shellcheck source=tests/bench/lib.sh
source tests/bench/lib.sh  # the cd above made the repository root the working directory
need_apt hyperfine hyperfine
need_apt python3 python3
need_apt taskset util-linux

release_bin

tmp=$(mktemp -d)
shm=""
if [[ -d /dev/shm && -w /dev/shm ]]; then
  shm=$(mktemp -d -p /dev/shm)
fi
trap 'rm -rf "$tmp" ${shm:+"$shm"}' EXIT
CAT=$tmp/catalogue
python3 tests/bench/gen_catalogue.py "$N" "$CAT" >&2
IDX=$tmp/index-all.json
"$BIN" apply --offline --skip-verify --catalogue "$CAT" --out "$IDX" >/dev/null
OUT=$tmp/site
"$BIN" site --catalogue "$CAT" --index "$IDX" --out "$OUT" >&2
images=$(grep -c . "$OUT/.berth-site")
bytes=$(du -sb --apparent-size "$OUT" | cut -f1)

cmds=(
  --command-name "plan --offline" --prepare "true" "$BIN plan --offline --catalogue $CAT"
  --command-name "site, new directory" --prepare "rm -rf $tmp/fresh"
  "$BIN site --catalogue $CAT --index $IDX --out $tmp/fresh"
  --command-name "site, unchanged" --prepare "true" "$BIN site --catalogue $CAT --index $IDX --out $OUT"
)
if [[ -n $shm ]]; then
  cmds+=(--command-name "site, new directory on tmpfs" --prepare "rm -rf $shm/fresh"
    "$BIN site --catalogue $CAT --index $IDX --out $shm/fresh")
fi
# -N: no intermediate shell.
taskset -c 0 hyperfine -N --warmup "$WARMUP" --runs "$RUNS" \
  --export-markdown "$tmp/table.md" --export-json "$tmp/times.json" "${cmds[@]}" >&2
# CPU time moves less than wall time on a shared machine: report it too.
cpu_table=$(python3 - "$tmp/times.json" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))["results"]
print("| Command | CPU user [s] | CPU system [s] | CPU total [s] |")
print("|:---|---:|---:|---:|")
for r in rows:
    print(f"| `{r['command']}` | {r['user']:.3f} | {r['system']:.3f} | {r['user'] + r['system']:.3f} |")
PY
)

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || true)
{
  echo "# berth site benchmark"
  echo
  echo "- listings: $N (tests/bench/gen_catalogue.py, default seed), all recorded in the index the site renders"
  echo "- site: $images files, $((bytes / 1024 / 1024)) MiB"
  echo "- commit: $commit; release build; pinned to CPU 0 with taskset"
  echo "- hyperfine $(hyperfine --version | awk '{print $2}'): $WARMUP warmup, $RUNS runs"
  echo "- cpu: ${cpu:-unknown}"
  echo
  cat "$tmp/table.md"
  echo
  echo "$cpu_table"
} | sed -e "s#$tmp#TMP#g" ${shm:+-e "s#$shm#SHM#g"} >"$RESULTS"

cat "$RESULTS"
echo "bench: wrote $RESULTS" >&2
