#!/usr/bin/env bash
# Benchmark `berth validate` and `berth plan --offline` on a generated catalogue.
#
# Usage: bash tests/bench/run.sh            (N=10000 listings, RUNS=10, WARMUP=2 by default)
#        N=2000 RUNS=5 bash tests/bench/run.sh
#
# Builds the release binary, generates N listings with tests/bench/gen_catalogue.py into a
# temporary directory, and times both commands with hyperfine pinned to CPU 0 (the machine is
# shared; one core keeps numbers comparable between runs). Prints a markdown table and writes
# it to tests/bench/results-validate-plan.md. Each command's exit status is recorded next to
# the table: a command that fails fast (a stub, or findings) is timed as it is, not hidden.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."

N=${N:-10000}
RUNS=${RUNS:-10}
WARMUP=${WARMUP:-2}
RESULTS=tests/bench/results-validate-plan.md

# shellcheck source=tests/bench/lib.sh
source tests/bench/lib.sh  # the cd above made the repository root the working directory
need_apt hyperfine hyperfine
need_apt python3 python3
need_apt taskset util-linux

echo "== cargo build --release" >&2
cargo build --release
BIN=$PWD/target/release/berth

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
CAT=$tmp/catalogue
python3 tests/bench/gen_catalogue.py "$N" "$CAT" >&2

declare -A CMDS=(
  [validate]="$BIN validate --catalogue $CAT"
  [plan]="$BIN plan --offline --catalogue $CAT"
)
ORDER=(validate plan)

# One untimed run each, to record the exit status and first line of output with the numbers.
notes=()
for name in "${ORDER[@]}"; do
  status=0
  ${CMDS[$name]} >"$tmp/$name.out" 2>&1 || status=$?
  first=$(head -n 1 "$tmp/$name.out")
  lines=$(wc -l <"$tmp/$name.out")
  notes+=("- \`berth ${CMDS[$name]#"$BIN "}\`: exit ${status}, ${lines} output lines, first: \`${first}\`")
done

args=()
for name in "${ORDER[@]}"; do
  args+=(--command-name "$name" "${CMDS[$name]}")
done
# -N: no intermediate shell; -i: time the command even when it exits non-zero (see notes).
taskset -c 0 hyperfine -N -i --warmup "$WARMUP" --runs "$RUNS" \
  --export-markdown "$tmp/table.md" "${args[@]}" >&2

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || true)
{
  echo "# berth validate / plan --offline benchmark"
  echo
  echo "- listings: $N (tests/bench/gen_catalogue.py, default seed)"
  echo "- commit: $commit; release build; pinned to CPU 0 with taskset"
  echo "- hyperfine $(hyperfine --version | awk '{print $2}'): $WARMUP warmup, $RUNS runs"
  echo "- cpu: ${cpu:-unknown}"
  echo
  cat "$tmp/table.md"
  echo
  printf '%s\n' "${notes[@]}"
} | sed "s#$CAT#CATALOGUE#g" >"$RESULTS"

cat "$RESULTS"
echo "bench: wrote $RESULTS" >&2
