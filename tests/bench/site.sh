#!/usr/bin/env bash
# Benchmark `berth site` (the store page) against `berth plan --offline` on a generated
# catalogue of N images, and against the disk's ceiling for the same files.
#
# Usage: bash tests/bench/site.sh            (N=10000 listings, RUNS=10, WARMUP=2 by default)
#        N=2000 RUNS=5 bash tests/bench/site.sh
#        BERTH_BIN=target/release/berth bash tests/bench/site.sh   (a binary built already;
#        BUILD="…" names it in the results when it is not the release build)
#        ONLINE=0 bash tests/bench/site.sh   (without the online plan; ONLINE_RUNS=5 by default)
#
# Builds the release binary (unless BERTH_BIN names one), generates N listings with
# tests/bench/gen_catalogue.py, records all of them with `berth apply --offline --skip-verify
# --out` (an index of N images), then times with hyperfine, pinned to CPU 0 like
# tests/bench/scale.sh (so the site renders on one thread):
#   - the plan of the catalogue;
#   - the site written again over itself (nothing changed: every file compared, none
#     rewritten);
#   - the site and the ceiling — tests/bench/site_ceiling.py writing the same files (same paths,
#     same sizes) with nothing to read or render — into a new directory on tmpfs (/dev/shm,
#     when there is one: the cost without the disk);
#   - unpinned (every core, as on a CI runner: the site renders its pages on every core, the
#     plan parses its listings on every core), the plan and the site into a new directory on
#     tmpfs;
#   - the plan as a pull request runs it (online: every listed image pushed to a local
#     docker-registry first) against the site of the same index, unpinned;
#   - the site and the ceiling into a new directory on the disk, in alternation, first with
#     nothing deleted while measuring, then with each previous output deleted just before
#     (site_ceiling.py alternate; its doc says why hyperfine's one command after the other does
#     not do here).
# Prints a markdown table and writes it to tests/bench/results-site.md.
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
REG_PID=
trap 'stop_registry; rm -rf "$tmp" ${shm:+"$shm"}' EXIT
CAT=$tmp/catalogue
python3 tests/bench/gen_catalogue.py "$N" "$CAT" >&2
IDX=$tmp/index-all.json
"$BIN" apply --offline --skip-verify --catalogue "$CAT" --out "$IDX" >/dev/null
OUT=$tmp/site
"$BIN" site --catalogue "$CAT" --index "$IDX" --out "$OUT" >&2
images=$(grep -c . "$OUT/.berth-site")
bytes=$(du -sb --apparent-size "$OUT" | cut -f1)

python3 tests/bench/site_ceiling.py list "$OUT" "$tmp/files.txt"
CEIL="python3 tests/bench/site_ceiling.py write $tmp/files.txt"

cmds=(
  --command-name "plan --offline" --prepare "true" "$BIN plan --offline --catalogue $CAT"
  --command-name "site, unchanged" --prepare "true" "$BIN site --catalogue $CAT --index $IDX --out $OUT"
)
if [[ -n $shm ]]; then
  cmds+=(--command-name "site, new directory on tmpfs" --prepare "rm -rf $shm/fresh"
    "$BIN site --catalogue $CAT --index $IDX --out $shm/fresh"
    --command-name "ceiling, new directory on tmpfs" --prepare "rm -rf $shm/ceiling"
    "$CEIL $shm/ceiling")
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
# Unpinned: wall time on every core of this machine.
unpinned=()
if [[ -n $shm ]]; then
  hyperfine -N --warmup "$WARMUP" --runs "$RUNS" --export-markdown "$tmp/unpinned.md" \
    --command-name "plan --offline, every core" --prepare "true" "$BIN plan --offline --catalogue $CAT" \
    --command-name "site, new directory on tmpfs, every core" --prepare "rm -rf $shm/fresh" \
    "$BIN site --catalogue $CAT --index $IDX --out $shm/fresh" >&2
  unpinned=("Unpinned, on all $(nproc) cores:" "" "$(cat "$tmp/unpinned.md")" "")
fi
# The plan as a pull request runs it (online, the default): the same N listings on one local
# registry (seed_registry.py pushes every listed image), recorded by an online apply; then that
# plan (it verifies what it verifies by default: every testing tag and its blobs) and the site
# of the same index. ONLINE=0 skips it.
online=()
if [[ ${ONLINE:-1} == 1 ]]; then
  need_apt docker-registry docker-registry
  need_apt curl curl
  WORK=$tmp/online
  mkdir -p "$WORK"
  HOST="127.0.0.1:$(free_port)"
  start_registry true "$WORK/registry.log"
  python3 tests/bench/gen_catalogue.py "$N" "$WORK/cat" --registry "$HOST" >&2
  python3 tests/bench/seed_registry.py "$WORK/cat" "$HOST" >&2
  "$BIN" apply --catalogue "$WORK/cat" --out "$WORK/index.json" >/dev/null
  out_online=${shm:-$tmp}/online
  hyperfine -N --warmup 1 --runs "${ONLINE_RUNS:-5}" --export-markdown "$tmp/online.md" \
    --command-name "plan (online, the default), every core" --prepare "true" \
    "$BIN plan --catalogue $WORK/cat --index $WORK/index.json" \
    --command-name "site of the same index, new directory, every core" --prepare "rm -rf $out_online" \
    "$BIN site --catalogue $WORK/cat --index $WORK/index.json --out $out_online" >&2
  stop_registry
  online=("The plan a pull request runs (online, against a local docker-registry holding every listed image; the index recorded by an online apply), unpinned:" "" "$(cat "$tmp/online.md")" "")
fi
# On the disk: the site and the ceiling in alternation, first without deleting anything, then
# deleting each previous output just before (see tests/bench/site_ceiling.py).
mkdir -p "$tmp/keep" "$tmp/delete"
disk_keep=$(taskset -c 0 python3 tests/bench/site_ceiling.py alternate keep "$RUNS" "$WARMUP" \
  "$tmp/keep" "$BIN site --catalogue $CAT --index $IDX --out" "$CEIL")
disk_delete=$(taskset -c 0 python3 tests/bench/site_ceiling.py alternate delete "$RUNS" "$WARMUP" \
  "$tmp/delete" "$BIN site --catalogue $CAT --index $IDX --out" "$CEIL")

# The file system of DIR, and whether an ext4 one has a journal (without one, creating files
# right after deleting many is slow: see tests/bench/site_ceiling.py).
disk_of() {
  local src fstype journal=""
  src=$(findmnt -no SOURCE -T "$1" 2>/dev/null | tail -1 || true)
  fstype=$(findmnt -no FSTYPE -T "$1" 2>/dev/null | tail -1)
  if [[ $fstype == ext4 && -r /sys/fs/ext4/${src##*/}/journal_task ]]; then
    if [[ $(cat "/sys/fs/ext4/${src##*/}/journal_task") == "<none>" ]]; then
      journal=", no journal"
    else
      journal=", journal"
    fi
  fi
  echo "${fstype:-unknown}$journal ($(df -h --output=pcent "$1" | tail -1 | tr -d ' ') used)"
}

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || true)
{
  echo "# berth site benchmark"
  echo
  echo "- listings: $N (tests/bench/gen_catalogue.py, default seed), all recorded in the index the site renders"
  echo "- site: $images files, $((bytes / 1024 / 1024)) MiB"
  echo "- commit: $commit; build: ${BUILD:-release${BERTH_BIN:+ (BERTH_BIN=$BERTH_BIN)}}; pinned to CPU 0 with taskset"
  echo "- ceiling: tests/bench/site_ceiling.py writes the same files (paths, sizes) into a new directory, nothing else"
  echo "- disk: $(disk_of "$tmp")"
  echo "- hyperfine $(hyperfine --version | awk '{print $2}'): $WARMUP warmup, $RUNS runs"
  echo "- cpu: ${cpu:-unknown}"
  echo
  cat "$tmp/table.md"
  echo
  echo "$cpu_table"
  echo
  printf '%s\n' "${unpinned[@]}"
  printf '%s\n' "${online[@]}"
  echo "On the disk, a new directory each time, the site and the ceiling in alternation:"
  echo
  echo "$disk_keep"
  echo
  echo "$disk_delete"
} | sed -e "s#$tmp#TMP#g" ${shm:+-e "s#$shm#SHM#g"} >"$RESULTS"

cat "$RESULTS"
echo "bench: wrote $RESULTS" >&2
