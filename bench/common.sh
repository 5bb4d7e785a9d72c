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

# --- Postfix's smtpd as a before-queue proxy, from a private configuration --
# pf_start makes $W/postfix (etc/, queue/, data/) and starts its master;
# pf_stop (a cleanup hook) stops it.  The caller sets SINK_PORT, PF_SERVICES
# (the master.cf lines of its smtpd services), PF_PORTS (their ports, waited
# for), and may set PF_MAIN_EXTRA (more main.cf lines) and PF_SETUP (a
# command run once the directories exist: tables to postmap).  PF_SKIP says
# why it could not start; PF_MASTER is the master's pid.
PF_MAIN_EXTRA= PF_SETUP= PF_SERVICES= PF_PORTS=
PF=$W/postfix
PF_OK=
PF_MASTER=
pf_stop() {
  [ -n "$PF_OK" ] || return 0
  postfix -c "$PF/etc" stop > "$PF/stop.log" 2>&1
  # postfix stop waits for master to go; if it did not, it is ours to kill.
  [ -n "$PF_MASTER" ] && kill -0 "$PF_MASTER" 2>/dev/null && kill "$PF_MASTER" 2>/dev/null
  PF_OK=
}
pf_start() {
  command -v postfix >/dev/null 2>&1 && command -v postconf >/dev/null 2>&1 ||
    { PF_SKIP="postfix is not installed"; return 1; }
  id postfix >/dev/null 2>&1 || { PF_SKIP="no postfix user"; return 1; }
  mkdir -p "$PF/etc" "$PF/queue" "$PF/data" || return 1
  chown postfix "$PF/data" || { PF_SKIP="cannot chown the data directory"; return 1; }
  cat > "$PF/etc/main.cf" <<EOF
# A private Postfix instance for the benchmark: only smtpd as a
# before-queue proxy (smtpd_proxy_filter) in front of smtp-sink, and the
# services smtpd needs.  Nothing here touches the system's own instance.
compatibility_level = 3.6
queue_directory = $PF/queue
data_directory = $PF/data
mail_owner = postfix
# Names given, so that nothing is looked up in the DNS at start.
myhostname = bench.invalid
mydomain = invalid
# No local delivery and no local domains: every recipient is relayed.
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
# The load comes from 127.0.0.1, which may relay; no other restriction,
# as noqueue with zero filters makes none.  No look-up of unlisted
# senders or recipients either (they would ask trivial-rewrite per address).
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_recipient_restrictions =
smtpd_reject_unlisted_recipient = no
smtpd_reject_unlisted_sender = no
# No reverse DNS look-up of each client (noqueue runs under tcpserver -H).
smtpd_peername_lookup = no
# No per-client limits from anvil: all load comes from one address.
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
smtpd_client_message_rate_limit = 0
smtpd_client_recipient_rate_limit = 0
# in_flow_delay pauses smtpd when no queue manager hands out tokens: there
# is none here, so it would throttle smtpd to one message a second.
in_flow_delay = 0
# Generous process limits: smtpd is never the one waiting for a slot.
default_process_limit = 1000
# The cut-through relay: each message goes to smtp-sink while the client
# waits.  The default smtpd_proxy_options (empty) streams the body as it
# comes; the second service in master.cf uses speed_adjust.
smtpd_proxy_filter = 127.0.0.1:$SINK_PORT
smtpd_proxy_ehlo = bench.invalid
# The same size limit as noqueue's default (50 MB).
message_size_limit = 52428800
# A log file through postlogd, as noqueue's log goes to a file: there is
# no syslog daemon on this machine, and logging to nowhere would be free.
maillog_file = $PF/maillog
maillog_file_prefixes = $PF
$PF_MAIN_EXTRA
EOF
  cat > "$PF/etc/master.cf" <<EOF
# service        type  private unpriv chroot wakeup maxproc command
$PF_SERVICES
# trivial-rewrite: smtpd rewrites every address through it.
rewrite   unix  -  -  n  -  -  trivial-rewrite
# anvil: smtpd reports connections to it (no limits are set).
anvil     unix  -  -  n  -  1  anvil
postlog   unix-dgram n - n - 1 postlogd
EOF
  [ -z "$PF_SETUP" ] || $PF_SETUP || return 1
  postfix -c "$PF/etc" check > "$PF/check.log" 2>&1 ||
    { PF_SKIP="postfix check failed: $(cat "$PF/check.log" "$PF/maillog" 2>/dev/null | tail -n 3)"; return 1; }
  PF_OK=1
  CLEANUP_HOOKS="$CLEANUP_HOOKS pf_stop"
  postfix -c "$PF/etc" start > "$PF/start.log" 2>&1 ||
    { PF_SKIP="postfix start failed: $(cat "$PF/start.log" "$PF/maillog" 2>/dev/null | tail -n 3)"; return 1; }
  PF_MASTER=$(tr -d ' ' < "$PF/queue/pid/master.pid" 2>/dev/null)
  for _p in $PF_PORTS; do wait_for "port_open $_p" 10 || break; done
  port_open "$_p" || { PF_SKIP="postfix did not listen"; return 1; }
  return 0
}
