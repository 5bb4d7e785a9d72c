# Sourced by bench/run and bench/profile: a private directory, peers on
# 127.0.0.1 with ports chosen at run time, and cleanup of exactly the
# processes started here (by pid, never by name), as in t/lib.sh.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
# BENCH_BIN: the programs to measure (default bin/), e.g. build/YOU/bin.
BIN=$(cd "${BENCH_BIN:-$TOP/bin}" 2>/dev/null && pwd) || BIN=$TOP/bin
BENCH=$TOP/bench
case $TOP in *[!A-Za-z0-9/._+-]*)
  echo "bench: the source path must not contain spaces or shell characters: $TOP" >&2; exit 100 ;;
esac
W=$(mktemp -d "${TMPDIR:-/tmp}/noqueue-bench.XXXXXX") || exit 111
# Postfix's daemons run as the postfix user and must reach the queue
# directory below $W.
chmod 755 "$W"
PIDS=
CLEANUP_HOOKS=

# A private copy of bin/: a `make` in the tree during a run (others build
# while we measure) must neither break a connection nor change the
# programs halfway.  SRC_BIN is the original, for reports.
SRC_BIN=$BIN
if [ -d "$SRC_BIN" ]; then
  mkdir -p "$W/bin" && cp -p "$SRC_BIN"/* "$W/bin"/ 2>/dev/null
  BIN=$W/bin
fi

cleanup() {
  set +e
  for h in $CLEANUP_HOOKS; do $h; done
  for p in $PIDS; do kill "$p" 2>/dev/null; done
  sleep 0.2
  for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
  for p in $PIDS; do wait "$p" 2>/dev/null; done
  [ -n "${KEEP:-}" ] && echo "kept $W" >&2 || rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

die() { echo "bench: $*" >&2; exit 111; }
note() { echo "$*" >&2; }

need() {
  for _c in "$@"; do
    command -v "$_c" >/dev/null 2>&1 || die "$_c is missing (make deps installs it)"
  done
}

# Wait up to $2 seconds (default 10) for the shell condition $1.
wait_for() {
  _n=$(( ${2:-10} * 20 ))
  while [ $_n -gt 0 ]; do
    eval "$1" && return 0
    sleep 0.05; _n=$((_n - 1))
  done
  return 1
}

free_port() {
  perl -MIO::Socket::INET -e '$s = IO::Socket::INET->new(LocalAddr => "127.0.0.1",
    LocalPort => 0, Listen => 1) or die "no port: $!"; print $s->sockport, "\n"'
}

port_open() {
  perl -MIO::Socket::INET -e 'IO::Socket::INET->new(PeerAddr => "127.0.0.1:$ARGV[0]") or exit 1' "$1"
}

now_us() { echo $(( $(date +%s%N) / 1000 )); }

# The sink: smtp-sink on a free port; SINK_PORT, SINK_PID.
# -F: no XFORWARD, so Postfix's proxy does not send an XFORWARD command per
# message that noqueue does not send (a smarthost offers XFORWARD only to
# clients it authorizes, which by default is none).
start_sink() {
  SINK_PORT=$(free_port)
  smtp-sink -F -u nobody 127.0.0.1:"$SINK_PORT" 1024 > "$W/sink.log" 2>&1 &
  SINK_PID=$!
  PIDS="$PIDS $SINK_PID"
  wait_for "port_open $SINK_PORT" 10 || die "smtp-sink did not start"
}

# tcpserver on an ephemeral port, as t/lib.sh's serve: serve NAME PROGRAM
# ARGS... sets ${NAME}_PORT and ${NAME}_PID; stderr goes to $W/NAME.log.
# -HR -l localhost: no DNS or ident look-ups; -c 200: far above the load's
# concurrency; -b 256: a listen backlog for 20 clients connecting at once.
# With SERVE_WRAP set (words: strace ..., perf stat ...), tcpserver runs
# under that program; ${NAME}_PID is then tcpserver's, the wrapper's is
# ${NAME}_WRAP (end it with unserve NAME).
serve() {
  _serve=$1; shift
  rm -f "$W/$_serve.port"
  # shellcheck disable=SC2086  # SERVE_WRAP is a list of words
  ${SERVE_WRAP:-} tcpserver -1 -q -HR -l localhost -c 200 -b 256 127.0.0.1 0 "$@" \
    > "$W/$_serve.port" 2>> "$W/$_serve.log" &
  PIDS="$PIDS $!"
  eval "${_serve}_PID=$! ${_serve}_WRAP=$!"
  wait_for "[ -s '$W/$_serve.port' ]" 30 || die "tcpserver for $_serve did not start"
  eval "${_serve}_PORT=$(head -n 1 "$W/$_serve.port")"
  if [ -n "${SERVE_WRAP:-}" ]; then
    eval "_wrap=\$${_serve}_WRAP"
    _tcp=$(perl "$BENCH/proctool" children "$_wrap")
    [ -n "$_tcp" ] || die "no tcpserver under $SERVE_WRAP"
    PIDS="$PIDS $_tcp"
    eval "${_serve}_PID=$_tcp"
  fi
}

# End a server started by serve, and its wrapper: tcpserver gets TERM, the
# wrapper (strace, perf) then writes its output and exits.
unserve() {
  eval "_pid=\$${1}_PID _wrap=\$${1}_WRAP"
  quiesce "$_pid"
  kill "$_pid" 2>/dev/null
  wait "$_wrap" 2>/dev/null
  PIDS=$(echo " $PIDS " | sed "s/ $_pid / /; s/ $_wrap / /")
}

# Wait (at most 10 s) until the process $1 has no children: the
# connections of the last measurement have ended.
quiesce() {
  wait_for "[ \"\$(perl '$BENCH/proctool' kids $1)\" = 0 ]" 10 || true
}

# The filters of a chain ("{ [options] program args... }"...), one line
# each: the program and its arguments, without the filter's own options.
chain_filters() {
  _state=out _line=
  for _w in $1; do
    case $_state/$_w in
      out/"{") _state=opts ;;
      out/*) ;;
      opts/-1) ;;
      opts/-t|opts/-p|opts/-n|opts/-e) _state=optarg ;;
      optarg/*) _state=opts ;;
      opts/"}"|args/"}") [ -n "$_line" ] && echo "$_line"; _state=out _line= ;;
      opts/*|args/*) _line="${_line:+$_line }$_w" _state=args ;;
    esac
  done
}

# --- the typical filter chain, defined here and nowhere else -------------
# smtp-envcheck: the recipient against a table (every address at
#   example.net, the load's domain), the HELO checks of its default;
# smtp-bodycheck: a size limit and forbidden attachment extensions (so the
#   MIME structure is parsed);
# smtp-dupcheck: the duplicate store, sized for every message of a run
#   (its man page asks for twice the messages of a window).
# Each filter alone is CHAIN_ENV, CHAIN_BODY, CHAIN_DUP (bench/filters);
# chain_real_setup makes the table they read.
CHAIN_DIR=$W/chain
CHAIN_ENV="{ $BIN/smtp-envcheck -r $CHAIN_DIR/recipients.cdb }"
CHAIN_BODY="{ $BIN/smtp-bodycheck -s 50M -e exe,scr,pif,bat,com,vbs,js }"
CHAIN_DUP="{ $BIN/smtp-dupcheck -s 262144 $CHAIN_DIR/dupcheck.store }"
CHAIN_REAL="$CHAIN_ENV $CHAIN_BODY $CHAIN_DUP"
chain_real_setup() {
  mkdir -p "$CHAIN_DIR" && echo '*@example.net' > "$CHAIN_DIR/recipients" &&
    "$BIN/smtp-table" recipients "$CHAIN_DIR/recipients" "$CHAIN_DIR/recipients.cdb" \
      > "$CHAIN_DIR/setup.log" 2>&1
}
