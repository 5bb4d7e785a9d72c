# Sourced by every t/*.sh: a private directory, peers on 127.0.0.1 with
# ports chosen at run time, and cleanup of exactly the processes started.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
# The programs and the build under test: bin/ and build/, or another build
# (make check-sanitize: NOQUEUE_BIN=build/asan/bin NOQUEUE_BUILD=build/asan),
# relative to the top directory unless absolute.
BIN=${NOQUEUE_BIN:-bin}
case $BIN in /*) ;; *) BIN=$TOP/$BIN ;; esac
# SANITIZED=1 for programs built with AddressSanitizer (make check-sanitize
# sets NOQUEUE_SANITIZED=1; the programs say it too): they cannot run under
# ulimit -v, and their memory is not what a test of the real programs'
# memory measures.
SANITIZED=${NOQUEUE_SANITIZED:-}
grep -q __asan_init "$BIN/smtp-proxyd" 2> /dev/null && SANITIZED=1
TOOLS=${NOQUEUE_BUILD:-build}
case $TOOLS in /*) ;; *) TOOLS=$TOP/$TOOLS ;; esac
TOOLS=$TOOLS/t
T=$(mktemp -d "${TMPDIR:-/tmp}/noqueue-test.XXXXXX")
PIDS=
export PATH="$BIN:$PATH"

cleanup() {
  for p in $PIDS; do kill "$p" 2>/dev/null; done
  # tcpserver's children are ours too: they end with their connection.
  sleep 0.1
  for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
  [ -n "${KEEP:-}" ] && echo "kept $T" >&2 || rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok: $*"; }
skip() { echo "$*"; exit 77; }

# Wait up to $2 seconds (default 10) for the shell condition $1.
wait_for() {
  n=$(( ${2:-10} * 20 ))
  while [ $n -gt 0 ]; do
    eval "$1" && return 0
    sleep 0.05; n=$((n - 1))
  done
  return 1
}

# Is something listening on 127.0.0.1:PORT?
port_open() {
  perl -MIO::Socket::INET -e 'IO::Socket::INET->new(PeerAddr => "127.0.0.1",
    PeerPort => $ARGV[0], Timeout => 1) or exit 1' "$1"
}

# Wait up to $2 seconds for a daemon's port, or fail naming it ($3).
wait_port() {
  wait_for "port_open $1" "${2:-10}" || { cat "$T"/*.log 2>/dev/null | tail -n 20; fail "$3 did not listen on port $1"; }
}

# A free port for peers that cannot take port 0.
free_port() {
  perl -MIO::Socket::INET -e '$s = IO::Socket::INET->new(LocalAddr => "127.0.0.1",
    LocalPort => 0, Listen => 1) or die "no port: $!"; print $s->sockport, "\n"'
}

# tcpserver on an ephemeral port: serve NAME PROGRAM ARGS... sets
# ${NAME}_PORT and ${NAME}_PID; the program's stderr goes to $T/NAME.log.
serve() {
  _serve=$1; shift
  rm -f "$T/$_serve.port"
  tcpserver -1 -q -HR -l localhost -c 200 127.0.0.1 0 "$@" \
    > "$T/$_serve.port" 2>> "$T/$_serve.log" &
  PIDS="$PIDS $!"
  eval "${_serve}_PID=$!"
  wait_for "[ -s '$T/$_serve.port' ]" 10 || fail "tcpserver for $_serve did not start"
  eval "${_serve}_PORT=$(head -n 1 "$T/$_serve.port")"
}

# The test smarthost, storing into $T/host: serve_host [smtp-testhost options]
serve_host() {
  mkdir -p "$T/host"
  serve HOST "$TOOLS/smtp-testhost" -d "$T/host" -l "$@"
}

# The proxy in front of it: serve_proxy [proxy options and filters] --
# [forward options]; the forwarder goes to 127.0.0.1 $HOST_PORT.
serve_proxy() {
  _args=
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do _args="$_args $(quote "$1")"; shift; done
  [ $# -gt 0 ] && shift
  eval "serve PROXY '$BIN/smtp-proxyd' -h proxy.test $_args -- '$BIN/smtp-forward' -h proxy.test \"\$@\" 127.0.0.1 $HOST_PORT"
}

quote() { printf "'%s'" "$(printf %s "$1" | sed "s/'/'\\\\''/g")"; }

# Messages stored by the test smarthost.
stored() { ls "$T/host" 2>/dev/null | grep -c '^msg\.' ; }

# Run smtp-proxyd on a pipe: proxy_pipe INPUTFILE [proxy args] -- [forward args]
# Output to $T/out, log to $T/err.
proxy_pipe() {
  _input=$1; shift
  _args=
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do _args="$_args $(quote "$1")"; shift; done
  [ $# -gt 0 ] && shift
  eval "TCPREMOTEIP=192.0.2.1 TCPREMOTEPORT=4000 TCPLOCALIP=127.0.0.1 TCPLOCALPORT=25 \
    timeout 60 '$BIN/smtp-proxyd' -h proxy.test $_args -- '$BIN/smtp-forward' -h proxy.test \"\$@\" 127.0.0.1 $HOST_PORT" \
    < "$_input" > "$T/out" 2> "$T/err"
}

# Test certificates in $T.  test_ca NAME: a CA, NAME.key and NAME.pem.
# test_cert CA NAME SUBJECT [SAN]: NAME.key and NAME.pem signed by CA, with
# the subjectAltName SAN (as "DNS:localhost,IP:127.0.0.1") if given.
test_ca() {
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/$1.key" -out "$T/$1.pem" -days 2 \
    -subj "/CN=noqueue-test-$1" 2> /dev/null || fail "test CA $1"
}
test_cert() {
  openssl req -newkey rsa:2048 -nodes -keyout "$T/$2.key" -out "$T/$2.csr" -subj "$3" 2> /dev/null ||
    fail "test key $2"
  _ext=
  if [ -n "${4:-}" ]; then
    printf 'subjectAltName=%s\n' "$4" > "$T/$2.ext"
    _ext="-extfile $T/$2.ext"
  fi
  # shellcheck disable=SC2086  # _ext: an option and its file, or nothing
  openssl x509 -req -in "$T/$2.csr" -CA "$T/$1.pem" -CAkey "$T/$1.key" -CAcreateserial -days 2 \
    $_ext -out "$T/$2.pem" 2> /dev/null || fail "test certificate $2"
}

# CRLF text from LF text on stdin.
crlf() { sed 's/$/\r/'; }

# swaks through the proxy, quiet; prints the transcript to $T/swaks.out and
# returns swaks's status.
send() {
  swaks --server 127.0.0.1 --port "$PROXY_PORT" --helo client.test \
    --timeout 60 --suppress-data "$@" > "$T/swaks.out" 2>&1
}

# The last reply code the client got after the message data.
final_code() {
  grep -a -A1 -E '^ [-~]> ([0-9]+ lines sent|\.)$' "$T/swaks.out" |
    sed -n 's/^<[-*~]* *\([0-9][0-9][0-9]\).*/\1/p' | tail -n 1
}

expect_code() {   # expect_code CODE FILE: some reply line starts with CODE
  grep -q "^$1[ -]" "$2" || { echo "--- $2"; cat "$2"; fail "no $1 reply in ${2##*/}"; }
}

# Stop a server started by serve: stop NAME
stop() {
  eval "_stop=\${${1}_PID:-}"
  [ -n "$_stop" ] || return 0
  kill "$_stop" 2>/dev/null
  PIDS=$(echo " $PIDS " | sed "s/ $_stop / /; s/^ *//; s/ *\$//")
  eval "${1}_PID="
}

# A fresh smarthost and proxy: setup "HOST OPTIONS" "PROXY ARGS" "FORWARD ARGS"
setup() {
  stop HOST; stop PROXY
  rm -rf "$T/host"; : > "$T/PROXY.log"
  eval "serve_host $1"
  eval "serve_proxy ${2:-} -- ${3:-}"
}

# The invariant: nothing stored at the smarthost, and no 2xx after the data.
not_delivered() {
  [ "$(stored)" = 0 ] || fail "$1: the smarthost stored a message"
  case $(final_code) in 2*) fail "$1: the client got $(final_code) after its data" ;; esac
}

# swaks printed a reply line starting with CODE (error lines start "<**").
saw() { grep -aEq "^<[-*~]* +$1" "$T/swaks.out" || { cat "$T/swaks.out"; fail "no reply $1"; }; }

# The proxy's log (stderr of smtp-proxyd under tcpserver) has a line matching.
logged() {
  wait_for "grep -Eq '$1' '$T/PROXY.log'" 5 || { cat "$T/PROXY.log"; fail "log has no $1"; }
}
