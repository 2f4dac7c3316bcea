#!/usr/bin/env bash
# Benchmark `berth resolve` from a large local index against `jq` doing the same lookup.
#
# Usage: bash tests/bench/resolve.sh        (N=10000 images, RUNS=20, WARMUP=3 by default;
#        BERTH_BIN=path/to/release/berth skips the build)
#
# Builds the release binary, generates N listings (tests/bench/gen_catalogue.py), writes their
# index with `berth apply --offline --skip-verify --out`, picks an image that has a `1.latest`
# channel, and times with hyperfine, pinned to CPU 0, side by side in one run:
#   - berth resolve --index idx.json CODE@1.latest    (parse + validate the index, resolve)
#   - jq -er '.images["CODE"].channels["1.latest"].pull' idx.json    (parse, look up)
#   - cat idx.json > /dev/null                          (the floor: reading the bytes)
# Both lookups must print the same reference (checked before timing). Results go to
# tests/bench/results-resolve.md.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."

N=${N:-10000}
RUNS=${RUNS:-20}
WARMUP=${WARMUP:-3}
RESULTS=tests/bench/results-resolve.md

# shellcheck source=tests/bench/lib.sh
source tests/bench/lib.sh  # the cd above made the repository root the working directory
need_apt hyperfine hyperfine
need_apt jq jq
need_apt python3 python3
need_apt taskset util-linux

release_bin
"$BIN" --version >&2

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
CAT=$tmp/catalogue
python3 tests/bench/gen_catalogue.py "$N" "$CAT" >&2
IDX=$tmp/idx.json
BERTH_NOW=2026-11-26T12:00:00Z "$BIN" apply --offline --skip-verify --catalogue "$CAT" --out "$IDX" >/dev/null
CODE=$(jq -r '[.images | to_entries[] | select(.value.channels["1.latest"].pull != null) | .key][0]' "$IDX")
want=$(jq -er --arg c "$CODE" '.images[$c].channels["1.latest"].pull' "$IDX")
got=$("$BIN" resolve --index "$IDX" "$CODE@1.latest")
if [[ "$got" != "$want" ]]; then
  echo "bench: berth and jq disagree: $got vs $want" >&2
  exit 1
fi
size=$(stat -c %s "$IDX")

hyperfine --warmup "$WARMUP" --runs "$RUNS" -N --export-markdown "$tmp/table.md" \
  -n "berth resolve" "taskset -c 0 $BIN resolve --index $IDX $CODE@1.latest" \
  -n "jq lookup" "taskset -c 0 jq -er '.images[\"$CODE\"].channels[\"1.latest\"].pull' $IDX" \
  -n "cat (read only)" "taskset -c 0 cat $IDX" >&2

{
  echo "Resolve from a local index of $N images ($((size / 1024)) KiB), release build, CPU 0, $(date -u +%Y-%m-%d):"
  echo
  cat "$tmp/table.md"
  echo
  echo "All three read the same file; berth and jq printed the same reference (\`$CODE@1.latest\`)."
} >"$RESULTS"
cat "$RESULTS"
