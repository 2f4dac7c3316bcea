#!/usr/bin/env bash
# Mutation testing of berth's rule-bearing modules with cargo-mutants
# (https://mutants.rs; `cargo install cargo-mutants --locked`). Not part of .ci/run: a full
# run takes hours on two cores. Results and their reading: docs/mutants.md.
#
#   bash tests/mutants.sh                 # every module below, one after the other
#   bash tests/mutants.sh version channels
#   bash tests/mutants.sh --list          # the modules, their files and test targets
#   bash tests/mutants.sh lifecycle -- --re 'fn marks'   # extra cargo-mutants args after --
#
# Each module is mutated with only the test targets that hold its rules (the unit tests of the
# library and the integration tests named below, given to both cargo's build and test phases
# with --cargo-arg), so one mutant costs an incremental build of those targets and their run. cargo-mutants copies the source tree (without target/) to a scratch
# directory in $TMPDIR and builds there, one job at a time, into one build directory of its own
# (target/mutants-build, reused between runs: only the first run builds the dependencies).
# Results are also appended to target/mutants/summary.txt.
# Output per module: target/mutants/<module>/mutants.out/{caught,missed,unviable,timeout}.txt;
# a summary line per module is printed at the end.
set -euo pipefail

# MUTANTS_ROOT: the checkout to mutate (default: this script's), e.g. to run a copy of the
# script while editing the original.
cd "${MUTANTS_ROOT:-$(dirname "${BASH_SOURCE[0]}")/..}"
root=$PWD

# module | source files (globs for --file) | test targets (--lib and --test NAME)
MODULES=(
  "version|src/lifecycle/version.rs|--lib --test lifecycle"
  "channels|src/lifecycle/channels.rs|--lib --test lifecycle --test resolve --test apply"
  "lifecycle|src/lifecycle/mod.rs src/lifecycle/run.rs src/lifecycle/transitions.rs src/lifecycle/rules.rs|--lib --test lifecycle --test integrity_release --test apply"
  "resolve|src/lifecycle/resolve.rs|--lib --test resolve"
  "policy-criteria|src/policy/criteria.rs src/policy/pattern.rs src/policy/compile.rs|--lib --test promote_registry --test validate"
  "policy-template|src/policy/template.rs src/model/template.rs|--lib --test promote_registry --test validate"
  "promote-planner|src/promote/planner.rs|--lib --test promote_registry"
  "index-writer|src/index/mod.rs src/index/write.rs|--lib --test apply --test integrity_index"
  "gitops|src/gitops/mod.rs src/gitops/push.rs src/gitops/commit.rs|--lib --test gitops --test git --test integrity_index --test secrets_tls"
  "registry-transport|src/registry/transport.rs src/registry/list.rs|--lib --test registry_faults --test registry_paging --test registry_verify_full"
  "verify|src/verify/mod.rs src/registry/blob.rs|--lib --test registry_verify --test registry_verify_full --test integrity_release"
)

if [[ "${1:-}" == "--list" ]]; then
  for m in "${MODULES[@]}"; do
    IFS='|' read -r name files tests <<<"$m"
    printf '%-20s %-70s %s\n' "$name" "$files" "$tests"
  done
  exit 0
fi

if ! cargo mutants --version >/dev/null 2>&1; then
  echo "tests/mutants.sh: cargo-mutants is missing; install it with: cargo install cargo-mutants --locked" >&2
  exit 1
fi

# The registry/git tests need the same tools as tests/run.sh (docker-registry, git, ...).
# A build directory of its own: the scratch copy's `berth` binary must never overwrite (or be
# overwritten by) the one of a build in the checkout while a mutant's tests run it. Without
# debug info it stays small (about 2 GB) and links faster.
export CARGO_TARGET_DIR="${MUTANTS_TARGET_DIR:-$root/target/mutants-build}"
export CARGO_PROFILE_DEV_DEBUG=0 CARGO_PROFILE_TEST_DEBUG=0
out_root="$root/target/mutants"
mkdir -p "$out_root"

wanted=()
extra=()
while (($# > 0)); do
  if [[ "$1" == "--" ]]; then
    shift
    extra=("$@")
    break
  fi
  wanted+=("$1")
  shift
done

summary=()
for m in "${MODULES[@]}"; do
  IFS='|' read -r name files tests <<<"$m"
  if ((${#wanted[@]} > 0)) && [[ ! " ${wanted[*]} " == *" $name "* ]]; then
    continue
  fi
  args=(--jobs 1 --no-shuffle)
  # MUTANTS_IN_PLACE=1: mutate the checkout itself (cargo-mutants --in-place, which is one job
  # anyway) instead of a fresh scratch copy per module, so the build stays incremental from one
  # module to the next. Only for a throwaway copy of the tree (MUTANTS_ROOT): an interrupted
  # run leaves a mutated file behind.
  if [[ "${MUTANTS_IN_PLACE:-}" == 1 ]]; then
    args=(--in-place --no-shuffle)
  fi
  for f in $files; do
    args+=(--file "$f")
  done
  # `--lib --test X`: built and run, nothing else (cargo-mutants passes --cargo-arg to both
  # `cargo test --no-run` and `cargo test`).
  for t in $tests; do
    args+=("--cargo-arg=$t")
  done
  echo "=== $name: $files ($tests)" >&2
  out="$out_root/$name"
  mkdir -p "$out"
  # Exit status 2 means "some mutants were missed": that is a result, not a failure here.
  # `nice -n 19`: the run takes hours and must not starve other work on the machine (builds,
  # benchmarks); it yields the CPU to anything of normal priority.
  nice -n 19 cargo mutants "${args[@]}" --output "$out" "${extra[@]}" || true
  mo="$out/mutants.out"
  count() {
    if [[ -f "$mo/$1.txt" ]]; then grep -c . "$mo/$1.txt" || true; else echo 0; fi
  }
  summary+=("$(printf '%-20s caught %4s  missed %4s  unviable %4s  timeout %4s' "$name" \
    "$(count caught)" "$(count missed)" "$(count unviable)" "$(count timeout)")")
  printf '%s\n' "${summary[-1]}" >>"$out_root/summary.txt"
  if [[ -s "$mo/missed.txt" ]]; then
    sed 's/^/    missed: /' "$mo/missed.txt" >&2
  fi
done

printf '%s\n' "${summary[@]}"
