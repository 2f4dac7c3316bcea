# shellcheck shell=bash
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

# release_bin: sets BIN to the release binary: $BERTH_BIN when given (one build shared by
# several benchmarks), else `cargo build --release` here. Run from the repository root.
# shellcheck disable=SC2034 # BIN is read by the script that sources this file
release_bin() {
  if [[ -n "${BERTH_BIN:-}" ]]; then
    [[ -x "$BERTH_BIN" ]] || { echo "bench: BERTH_BIN=$BERTH_BIN is not an executable" >&2; exit 1; }
    BIN=$BERTH_BIN
    return
  fi
  echo "== cargo build --release --bin berth" >&2
  cargo build --release --bin berth >&2
  BIN=${CARGO_TARGET_DIR:-$PWD/target}/release/berth
}

# free_port: a TCP port nothing listens on at 127.0.0.1 (for a registry the benchmark starts).
free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  echo "no free port" >&2; exit 1
}

# push_blob FILE: upload FILE to $HOST/$REPO (monolithic upload); prints its digest.
push_blob() { # file -> digest
  local f=$1 d loc
  d="sha256:$(sha256sum "$f" | cut -d' ' -f1)"
  loc=$(curl -fsS -X POST -D - -o /dev/null "http://$HOST/v2/$REPO/blobs/uploads/" | tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
  case "$loc" in http*) ;; *) loc="http://$HOST$loc" ;; esac
  case "$loc" in *\?*) loc="$loc&digest=$d" ;; *) loc="$loc?digest=$d" ;; esac
  curl -fsS -X PUT -H 'Content-Type: application/octet-stream' --data-binary "@$f" -o /dev/null "$loc"
  echo "$d"
}

# bench_work: a scratch directory WORK (removed on exit, with the registry stopped) and the
# address HOST (127.0.0.1 and a free port) a benchmark's registry will listen on.
# shellcheck disable=SC2034 # WORK, HOST and REG_PID are read by the script that sources this
bench_work() {
  WORK=$(mktemp -d)
  REG_PID=
  HOST="127.0.0.1:$(free_port)"
  trap bench_cleanup EXIT
}
bench_cleanup() {
  stop_registry
  rm -rf "$WORK"
}

# start_registry ACCESSLOG_DISABLED(true|false) LOGFILE: the CNCF distribution registry
# (Debian docker-registry) serving $WORK/storage at $HOST, its log in LOGFILE; returns once it
# answers /v2/. The storage survives stop_registry and a new start.
start_registry() {
  cat > "$WORK/registry.yml" <<YML
version: 0.1
log:
  level: error
  accesslog:
    disabled: $1
storage:
  filesystem:
    rootdirectory: $WORK/storage
http:
  addr: $HOST
  secret: bench
YML
  docker-registry serve "$WORK/registry.yml" > "$2" 2>&1 &
  REG_PID=$!
  for _ in $(seq 1 100); do
    curl -fs -o /dev/null "http://$HOST/v2/" && return
    sleep 0.1
  done
  cat "$2" >&2
  exit 1
}
stop_registry() {
  if [ -n "${REG_PID:-}" ]; then kill "$REG_PID" 2>/dev/null || true; wait "$REG_PID" 2>/dev/null || true; fi
  REG_PID=
}
