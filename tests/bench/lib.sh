# Shared set-up of the benchmark scripts (sourced, not run): install what a benchmark needs
# from Debian when running as root (else say how), and build the release binary unless
# BERTH_BIN names one already built. Benchmarks always run a release build, never debug.

need_apt() { # need_apt COMMAND PACKAGE
  if command -v "$1" >/dev/null 2>&1; then
    return
  fi
  if [[ $(id -u) -eq 0 ]]; then
    echo "bench: installing $2" >&2
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "$2"
  else
    echo "bench: $1 not found; install it with: sudo apt-get install -y $2" >&2
    exit 1
  fi
}
