# smtp-tls on its own, against the real peers: openssl s_client for the
# server side (-s), openssl s_server for the client side (-C).  The
# certificates are made here.  t/tools/tls-harness puts smtp-tls between a
# TCP connection (fds 6 and 7) and a socketpair (fds 0 and 1), as
# smtp-proxyd and smtp-forward do, and pipes its own stdin and stdout to
# the plaintext side.
. "$(dirname "$0")/lib.sh"
command -v openssl >/dev/null || skip "no openssl"
[ -x "$BIN/smtp-tls" ] || skip "no bin/smtp-tls (make)"
[ -x "$TOOLS/tls-harness" ] || skip "no build/t/tls-harness (make tools)"
TLS=$BIN/smtp-tls
HARNESS=$TOOLS/tls-harness

# --- certificates ------------------------------------------------------------
P=$T/pki
mkdir -p "$P"
cat > "$P/ext.cnf" <<'EOF'
[server]
subjectAltName = DNS:localhost, IP:127.0.0.1
[wrong]
subjectAltName = DNS:wrong.example
[client]
extendedKeyUsage = clientAuth
EOF
rsa() { openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$P/$1.key" 2>/dev/null; }
ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$P/$1.key" 2>/dev/null; }
signed() {   # signed NAME SUBJECT EXTENSIONS: a certificate from the test CA
  openssl req -new -key "$P/$1.key" -subj "$2" -out "$P/$1.csr" 2>/dev/null &&
  openssl x509 -req -in "$P/$1.csr" -CA "$P/ca.pem" -CAkey "$P/ca.key" -CAcreateserial \
    -days 2 -extfile "$P/ext.cnf" -extensions "$3" -out "$P/$1.pem" 2>/dev/null
}
{
  rsa ca && openssl req -x509 -key "$P/ca.key" -subj "/CN=noqueue test CA" -days 2 \
    -out "$P/ca.pem" 2>/dev/null &&
  rsa server && signed server "/O=noqueue test/CN=localhost" server &&
  ec wrong && signed wrong "/CN=wrong.example" wrong &&
  ec client && signed client "/CN=client.test/O=Smith & Co, Ltd" client &&
  ec self && openssl req -x509 -key "$P/self.key" -subj "/CN=localhost" -days 2 \
    -addext "subjectAltName=DNS:localhost" -out "$P/self.pem" 2>/dev/null
} || fail "openssl could not make the test certificates"
SERVER="-c $P/server.pem -k $P/server.key"

# --- helpers -----------------------------------------------------------------
# The harness's stdin: $T/NAME.in, then open until $T/NAME.go exists (at
# most 15 s), so a test decides when smtp-tls sees the plaintext side end.
feed() {
  [ -f "$T/$1.in" ] && cat "$T/$1.in"
  _f=0
  while [ ! -e "$T/$1.go" ] && [ -d "$T" ] && [ $_f -lt 300 ]; do sleep 0.05; _f=$((_f + 1)); done
}
go() { touch "$T/$1.go"; }

# harness NAME HARNESS-OPTIONS -- SMTP-TLS-OPTIONS: in the background;
# plaintext out in $T/NAME.out, log in $T/NAME.err, exit code in
# $T/NAME.rc.
harness() {
  _n=$1; shift
  _h=
  while [ "$1" != "--" ]; do _h="$_h $1"; shift; done; shift
  rm -f "$T/$_n.port" "$T/$_n.go" "$T/$_n.rc" "$T/$_n.pid"
  feed "$_n" | {
    sh -c 'echo $$ > "$0"; exec "$@"' "$T/$_n.pid" \
      timeout 30 "$HARNESS" $_h "$TLS" "$@" > "$T/$_n.out" 2> "$T/$_n.err"
    echo $? > "$T/$_n.rc"; } &
  PIDS="$PIDS $!"
  wait_for "[ -s '$T/$_n.pid' ]" 5 && PIDS="$PIDS $(cat "$T/$_n.pid")"
}

# tls_server NAME [smtp-tls -s options]: listening; sets PORT.
tls_server() {
  _n=$1; shift
  harness "$_n" -l "$T/$_n.port" -- -s "$@"
  wait_for "[ -s '$T/$_n.port' ]" 5 || fail "$_n: the harness did not listen"
  PORT=$(cat "$T/$_n.port")
}

# done_rc NAME: ends NAME's plaintext input, waits for smtp-tls to end;
# sets RC.
done_rc() {
  go "$1"
  wait_for "[ -s '$T/$1.rc' ]" 20 || fail "$1: smtp-tls did not end"
  RC=$(cat "$T/$1.rc")
}

status() { head -n 1 "$T/$1.out"; }
size() { if [ -f "$1" ]; then wc -c < "$1" | tr -d ' '; else echo 0; fi; }

# Wait for a status line, then check it against a pattern (grep -E).
expect_status() {   # expect_status NAME PATTERN
  wait_for "[ -n \"\$(status $1)\" ]" 20 || { cat "$T/$1.err"; fail "$1: no status line"; }
  status "$1" | grep -Eq "$2" || { cat "$T/$1.err"; fail "$1: status line '$(status "$1")', not /$2/"; }
}

# The plaintext that came after the status line.
relayed() { tail -c +$(( $(status "$1" | wc -c) + 1 )) "$T/$1.out"; }

# s_client NAME [options]: to PORT, stdin from $T/NAME.cin, output in
# $T/NAME.cout; -quiet keeps it on after its stdin ends, until the
# server's close_notify.
s_client() {
  _n=$1; shift
  [ -f "$T/$_n.cin" ] || : > "$T/$_n.cin"
  timeout 30 openssl s_client -quiet -connect "127.0.0.1:$PORT" "$@" \
    < "$T/$_n.cin" > "$T/$_n.cout" 2> "$T/$_n.cerr" &
  PIDS="$PIDS $!"
  eval "${_n}_CLIENT=$!"
}

listening() { grep -q ":$(printf %04X "$1") 00000000:0000 0A" /proc/net/tcp; }

# s_server NAME CERT [options]: sets PORT; stdin from $T/NAME.sin until
# $T/NAME.sgo exists; what the client sent in $T/NAME.sout.
s_server() {
  _n=$1; _c=$2; shift 2
  PORT=$(free_port)
  [ -f "$T/$_n.sin" ] || : > "$T/$_n.sin"
  rm -f "$T/$_n.sgo"
  { cat "$T/$_n.sin"; _f=0
    while [ ! -e "$T/$_n.sgo" ] && [ -d "$T" ] && [ $_f -lt 300 ]; do sleep 0.05; _f=$((_f + 1)); done; } |
    timeout 30 openssl s_server -quiet -naccept 1 -accept "127.0.0.1:$PORT" \
      -cert "$P/$_c.pem" -key "$P/$_c.key" "$@" > "$T/$_n.sout" 2> "$T/$_n.serr" &
  PIDS="$PIDS $!"
  wait_for "listening $PORT" 10 || fail "$_n: s_server did not listen"
}

# tls_client NAME [smtp-tls -C options]: to the s_server on PORT.
tls_client() {
  _n=$1; shift
  harness "$_n" -c "$PORT" -- -C "$@"
}

# One warning line on stderr, matching a pattern, and nothing else.
one_log_line() {   # one_log_line NAME PATTERN
  [ "$(wc -l < "$T/$1.err")" = 1 ] && grep -Eq "$2" "$T/$1.err" ||
    { cat "$T/$1.err"; fail "$1: the log is not one line like /$2/"; }
}

random() { head -c "$2" /dev/urandom > "$T/$1"; }

# One handshake, no data: the status line and the exit code.
#   server_case NAME RC STATUS-PATTERN [SMTP-TLS-OPTIONS] -- [S_CLIENT-OPTIONS]
server_case() {
  _k=$1 _krc=$2 _kpat=$3; shift 3
  _ko=; while [ "$1" != "--" ]; do _ko="$_ko $1"; shift; done; shift
  tls_server "$_k" $SERVER $_ko
  s_client "$_k" "$@"
  expect_status "$_k" "$_kpat"
  done_rc "$_k"
  [ "$RC" = "$_krc" ] || { cat "$T/$_k.err"; fail "$_k: exit $RC, not $_krc"; }
}
#   client_case NAME RC STATUS-PATTERN CERT [S_SERVER-OPTIONS] -- [SMTP-TLS-OPTIONS]
client_case() {
  _k=$1 _krc=$2 _kpat=$3 _kcert=$4; shift 4
  _ko=; while [ "$1" != "--" ]; do _ko="$_ko $1"; shift; done; shift
  s_server "$_k" "$_kcert" $_ko
  tls_client "$_k" "$@"
  expect_status "$_k" "$_kpat"
  done_rc "$_k"
  touch "$T/$_k.sgo"
  [ "$RC" = "$_krc" ] || { cat "$T/$_k.err"; fail "$_k: exit $RC, not $_krc"; }
}

# --- server side, against s_client -------------------------------------------

# TLS 1.3 by default; data both ways, every byte value, byte-exact; a
# clean end at the plaintext side's EOF: close_notify, exit 0.
random up.in 300000
random up.cin 200000
tls_server up $SERVER
s_client up
expect_status up '^ok TLSv1\.3 TLS_AES_256_GCM_SHA384 - -$'
wait_for "[ \$(size '$T/up.out') -ge $((200000 + $(status up | wc -c))) ]" 20 || fail "up: s_client's data did not arrive"
wait_for "[ \$(size '$T/up.cout') -ge 300000 ]" 20 || fail "up: smtp-tls's data did not arrive"
done_rc up
[ "$RC" = 0 ] || { cat "$T/up.err"; fail "up: exit $RC"; }
relayed up | cmp -s - "$T/up.cin" || fail "up: s_client -> plaintext is not byte-exact"
cmp -s "$T/up.cout" "$T/up.in" || fail "up: plaintext -> s_client is not byte-exact"
wait_for "! kill -0 $up_CLIENT 2>/dev/null" 10 || fail "up: s_client did not get close_notify"
[ -s "$T/up.err" ] && { cat "$T/up.err"; fail "up: a log line on a clean session"; }
ok "server: TLS 1.3, $(status up); 300 KB and 200 KB relayed byte-exact; close_notify; exit 0; no log"

# TLS 1.2 when the client forces it, with the server's cipher order: the
# client lists a CBC suite first, and gets AES-GCM.
server_case v12 0 '^ok TLSv1\.2 ECDHE-RSA-AES256-GCM-SHA384 - -$' -- \
  -tls1_2 -cipher 'ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-GCM-SHA384'
ok "server: TLS 1.2 forced: $(status v12) (server's preference)"

# TLS 1.1 is refused (the client is told to offer it at security level 0).
server_case v11 111 '^fail unsupported\+20protocol$' -- -tls1_1 -cipher 'DEFAULT@SECLEVEL=0'
one_log_line v11 '^smtp-tls: warning: handshake with 127\.0\.0\.1:[0-9]+: unsupported protocol$'
ok "server: TLS 1.1 refused: '$(status v11)', exit 111, log: $(cat "$T/v11.err")"

# Static RSA key exchange (no forward secrecy) is refused.
server_case krsa 111 '^fail no\+20shared\+20cipher$' -- -tls1_2 -cipher 'AES128-GCM-SHA256:AES256-SHA'
ok "server: RSA key exchange refused: '$(status krsa)'"

# -r: the client's certificate is asked for, checked against -a, and
# reported: the subject in RFC 2253 form, in xtext.
server_case cert 0 '^ok TLSv1\.3 [^ ]+ O\+3DSmith\+20&\+20Co\\,\+20Ltd,CN\+3Dclient\.test ok$' \
  -r -a "$P/ca.pem" -- -cert "$P/client.pem" -key "$P/client.key"
ok "server -r -a: $(status cert)"

# Reported, never enforced: a certificate from an unknown CA, and none.
server_case selfcert 0 '^ok TLSv1\.3 [^ ]+ CN\+3Dlocalhost self-signed\+20certificate$' \
  -r -a "$P/ca.pem" -- -cert "$P/self.pem" -key "$P/self.key"
server_case nocert 0 '^ok TLSv1\.3 [^ ]+ - -$' -r -a "$P/ca.pem" --
server_case notasked 0 '^ok TLSv1\.3 [^ ]+ - -$' -- -cert "$P/client.pem" -key "$P/client.key"
ok "server -r: unknown CA '$(status selfcert)', no certificate '$(status nocert)'; without -r none is asked"

# A client that drops in the middle of the handshake: half a ClientHello,
# then the end of the connection.
tls_server drop $SERVER -t 10
perl -MIO::Socket::INET -e '$s = IO::Socket::INET->new("127.0.0.1:'"$PORT"'") or die;
  print $s "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"; sleep 0.2' || fail "drop: perl"
wait_for "[ -s '$T/drop.rc' ]" 5 || fail "drop: smtp-tls still waits after the client went"
RC=$(cat "$T/drop.rc")
[ "$RC" = 111 ] || fail "drop: exit $RC"
status drop | grep -q '^fail unexpected+20eof+20while+20reading$' || fail "drop: $(status drop)"
one_log_line drop '^smtp-tls: warning: handshake with 127\.0\.0\.1:[0-9]+: unexpected eof while reading$'
ok "server: a client gone mid-handshake: '$(status drop)' at once, exit 111"

# A client that connects and says nothing: the -t deadline.
tls_server silent $SERVER -t 1
start=$(date +%s)
perl -MIO::Socket::INET -e '$s = IO::Socket::INET->new("127.0.0.1:'"$PORT"'") or die; sleep 4' &
PIDS="$PIDS $!"
wait_for "[ -s '$T/silent.rc' ]" 5 || fail "silent: no end by the deadline"
secs=$(( $(date +%s) - start ))
[ "$(cat "$T/silent.rc")" = 111 ] || fail "silent: exit $(cat "$T/silent.rc")"
[ "$(status silent)" = "fail timeout" ] || fail "silent: $(status silent)"
[ $secs -le 3 ] || fail "silent: $secs s for a 1 s deadline"
one_log_line silent 'handshake with 127\.0\.0\.1:[0-9]+: timeout$'
ok "server -t 1: a silent client gets '$(status silent)' after ${secs}s, exit 111"

# Network on two pipes, not one socket: the same relay.
random pipes.in 100000
random pipes.cin 150000
harness pipes -p -l "$T/pipes.port" -- -s $SERVER
wait_for "[ -s '$T/pipes.port' ]" 5 || fail "pipes: no port"
PORT=$(cat "$T/pipes.port")
s_client pipes
expect_status pipes '^ok TLSv1\.3 '
wait_for "[ \$(size '$T/pipes.out') -ge $((150000 + $(status pipes | wc -c))) ]" 20 || fail "pipes: data did not arrive"
wait_for "[ \$(size '$T/pipes.cout') -ge 100000 ]" 20 || fail "pipes: data did not arrive"
done_rc pipes
[ "$RC" = 0 ] || fail "pipes: exit $RC"
relayed pipes | cmp -s - "$T/pipes.cin" && cmp -s "$T/pipes.cout" "$T/pipes.in" || fail "pipes: not byte-exact"
ok "server: fds 6 and 7 as two pipes: 100 KB and 150 KB byte-exact, exit 0"

# Flow control: the plaintext reader stalls while s_client sends 16 MB;
# the other direction goes on, smtp-tls's memory does not grow, and
# everything arrives once the reader reads again.
random stall.in 2000000
random stall.cin 16000000
rm -f "$T/stall.release"
feed stall | sh -c 'echo $$ > "$0"; exec "$@"' "$T/stall.hpid" \
    "$HARNESS" -l "$T/stall.port" "$TLS" -s $SERVER 2> "$T/stall.err" |
  { _f=0; while [ ! -e "$T/stall.release" ] && [ -d "$T" ] && [ $_f -lt 400 ]; do sleep 0.05; _f=$((_f + 1)); done
    cat > "$T/stall.out"; } &
PIDS="$PIDS $!"
wait_for "[ -s '$T/stall.port' ] && [ -s '$T/stall.hpid' ]" 5 || fail "stall: no port"
PIDS="$PIDS $(cat "$T/stall.hpid")"
PORT=$(cat "$T/stall.port")
s_client stall
wait_for "[ \$(size '$T/stall.cout') -ge 2000000 ]" 20 || fail "stall: the other direction stopped too"
tls_pid=$(ps -o pid= --ppid "$(cat "$T/stall.hpid")" | tr -d ' ')
[ -n "$tls_pid" ] || fail "stall: no smtp-tls process"
hwm1=$(awk '/^VmHWM:/ {print $2}' "/proc/$tls_pid/status")
[ -n "$hwm1" ] || fail "stall: no VmHWM for pid $tls_pid"
ticks1=$(awk '{print $14 + $15}' "/proc/$tls_pid/stat")
sleep 1
ticks2=$(awk '{print $14 + $15}' "/proc/$tls_pid/stat")
[ $((ticks2 - ticks1)) -le 5 ] || fail "stall: smtp-tls used $((ticks2 - ticks1)) ticks of CPU in 1 s while stalled"
touch "$T/stall.release"
wait_for "[ -f '$T/stall.out' ] && [ \$(size '$T/stall.out') -ge 16000038 ]" 30 || fail "stall: the data did not arrive after the stall"
hwm2=$(awk '/^VmHWM:/ {print $2}' "/proc/$tls_pid/status")
go stall
[ $((hwm2 - hwm1)) -le 512 ] || fail "stall: peak memory grew from $hwm1 kB to $hwm2 kB"
relayed stall | cmp -s - "$T/stall.cin" || fail "stall: not byte-exact"
cmp -s "$T/stall.cout" "$T/stall.in" || fail "stall: the other direction is not byte-exact"
ok "server: reader stalled with 16 MB coming: the other way's 2 MB went on, no CPU used while waiting, peak memory ${hwm1} kB -> ${hwm2} kB; all byte-exact after"

# An abrupt end: the client stops reading before the data starts, then
# dies with data unread, so that its kernel resets the connection: a log
# line and 111, not a clean 0.
rm -f "$T/reset.start"
{ wait_for "[ -e '$T/reset.start' ]" 15 && head -c 64000000 /dev/zero; } |
  { sh -c 'echo $$ > "$0"; exec "$@"' "$T/reset.pid" timeout 30 \
      "$HARNESS" -l "$T/reset.port" "$TLS" -s $SERVER > "$T/reset.out" 2> "$T/reset.err"
    echo $? > "$T/reset.rc"; } &
PIDS="$PIDS $!"
wait_for "[ -s '$T/reset.port' ] && [ -s '$T/reset.pid' ]" 5 || fail "reset: no port"
PIDS="$PIDS $(cat "$T/reset.pid")"
sh -c 'echo $$ > "$0"; exec openssl s_client -quiet -connect "127.0.0.1:$1" < /dev/null > /dev/null 2>&1' \
  "$T/reset.cpid" "$(cat "$T/reset.port")" &
PIDS="$PIDS $!"
expect_status reset '^ok '
client_pid=$(cat "$T/reset.cpid")
kill -STOP "$client_pid"
touch "$T/reset.start"
sleep 0.5
kill -KILL "$client_pid"
wait_for "[ -s '$T/reset.rc' ]" 10 || fail "reset: smtp-tls did not end"
[ "$(cat "$T/reset.rc")" = 111 ] || { cat "$T/reset.err"; fail "reset: exit $(cat "$T/reset.rc")"; }
one_log_line reset '^smtp-tls: warning: connection with 127\.0\.0\.1:[0-9]+, (reading|writing): Connection reset by peer$'
ok "server: a client reset mid-relay: exit 111, log: $(cat "$T/reset.err")"

# --- configuration, -x --------------------------------------------------------
x() { "$TLS" "$@" > "$T/x.out" 2> "$T/x.err"; echo $?; }
rc=$(x -s $SERVER -x)
[ "$rc" = 0 ] && [ ! -s "$T/x.out" ] && [ ! -s "$T/x.err" ] || fail "-x good: exit $rc, $(cat "$T/x.err")"
rc=$(CERTFILE=$P/server.pem KEYFILE=$P/server.key x -s -x)
[ "$rc" = 0 ] || fail "-x with CERTFILE and KEYFILE: exit $rc, $(cat "$T/x.err")"
ok "-x: a good certificate and key, from options or CERTFILE/KEYFILE: exit 0, silent"

xbad() {   # xbad LOG-LINE-PATTERN smtp-tls options...: exit 100, one line
  _want=$1; shift
  rc=$(x "$@")
  [ "$rc" = 100 ] || fail "-x $*: exit $rc"
  [ ! -s "$T/x.out" ] || fail "-x $*: wrote on stdout: $(cat "$T/x.out")"
  [ "$(wc -l < "$T/x.err")" = 1 ] && grep -Eq "^$_want\$" "$T/x.err" ||
    fail "-x $*: '$(cat "$T/x.err")', not /$_want/"
  ok "-x: exit 100, $(cat "$T/x.err")"
}
xbad "smtp-tls: fatal: unable to read key $T/none.key: No such file or directory" \
  -s -c "$P/server.pem" -k "$T/none.key" -x
xbad "smtp-tls: fatal: key $P/ca.key does not match certificate $P/server.pem: .*" \
  -s -c "$P/server.pem" -k "$P/ca.key" -x
xbad "smtp-tls: fatal: key $P/wrong.key does not match certificate $P/server.pem: .*" \
  -s -c "$P/server.pem" -k "$P/wrong.key" -x
xbad "smtp-tls: fatal: unable to load certificate chain $P/server.key: .*" \
  -s -c "$P/server.key" -k "$P/server.key" -x
openssl pkey -in "$P/server.key" -aes256 -passout pass:secret -out "$P/locked.key" 2>/dev/null
xbad "smtp-tls: fatal: unable to load key $P/locked.key: it is encrypted, and no passphrase can be given" \
  -s -c "$P/server.pem" -k "$P/locked.key" -x
( unset CERTFILE KEYFILE; xbad "smtp-tls: fatal: no certificate: use -c or set CERTFILE" -s -x ) || exit 1

# Without -x, the same error is also the status line.
rc=$(x -s -c "$P/server.pem" -k "$T/none.key")
[ "$rc" = 100 ] || fail "no key: exit $rc"
[ "$(cat "$T/x.out")" = "fail unable+20to+20read+20key+20$T/none.key:+20No+20such+20file+20or+20directory" ] ||
  fail "no key: status line '$(cat "$T/x.out")'"
ok "a missing key at run time: '$(cat "$T/x.out")', exit 100"

rc=$(x -C -v -a "$P/ca.pem"); [ "$rc" = 100 ] || fail "-v without -n: exit $rc"
rc=$(x -s -n localhost $SERVER); [ "$rc" = 100 ] || fail "-s -n: exit $rc"
rc=$(x -C -t 0); [ "$rc" = 100 ] || fail "-t 0: exit $rc"
rc=$(x -Z); [ "$rc" = 100 ] || fail "-Z: exit $rc"
ok "usage errors (-v without -n, -n with -s, -t 0, -Z): exit 100"

# --- client side, against s_server -------------------------------------------

# Opportunistic: a self-signed certificate is accepted, and what is wrong
# with it reported; data both ways, byte-exact; exit 0.
random opp.in 200000
random opp.sin 250000
s_server opp self
tls_client opp -n localhost
expect_status opp '^ok TLSv1\.3 TLS_AES_256_GCM_SHA384 CN\+3Dlocalhost self-signed\+20certificate$'
wait_for "[ \$(size '$T/opp.out') -ge $((250000 + $(status opp | wc -c))) ]" 20 || fail "opp: s_server's data did not arrive"
wait_for "[ \$(size '$T/opp.sout') -ge 200000 ]" 20 || fail "opp: smtp-tls's data did not arrive"
done_rc opp
touch "$T/opp.sgo"
[ "$RC" = 0 ] || { cat "$T/opp.err"; fail "opp: exit $RC"; }
relayed opp | cmp -s - "$T/opp.sin" && cmp -s "$T/opp.sout" "$T/opp.in" || fail "opp: not byte-exact"
ok "client, opportunistic: $(status opp); 200 KB and 250 KB byte-exact; exit 0"

# -v with the right CA and name; the name goes as SNI: s_server gives
# the good certificate only to a client that sent "localhost".
client_case verify 0 '^ok TLSv1\.3 [^ ]+ CN\+3Dlocalhost,O\+3Dnoqueue\+20test ok$' \
  self -servername localhost -cert2 "$P/server.pem" -key2 "$P/server.key" -- \
  -v -n localhost -a "$P/ca.pem"
ok "client -v -n localhost -a ca: $(status verify) (SNI sent)"

# -v with an address: checked against the certificate's IP addresses.
client_case ip 0 '^ok TLSv1\.3 [^ ]+ [^ ]+ ok$' server -- -v -n 127.0.0.1 -a "$P/ca.pem"
ok "client -v -n 127.0.0.1: $(status ip)"

# -v and a certificate for another host: fail, 111.
client_case wronghost 111 '^fail certificate\+20verify\+20failed:\+20hostname\+20mismatch$' \
  wrong -- -v -n localhost -a "$P/ca.pem"
one_log_line wronghost '^smtp-tls: warning: handshake with localhost \(127\.0\.0\.1:[0-9]+\): certificate verify failed: hostname mismatch$'
ok "client -v, wrong host: '$(status wronghost)', exit 111, log: $(cat "$T/wronghost.err")"

# -v and an unknown CA: fail, 111.
client_case unknownca 111 '^fail certificate\+20verify\+20failed:\+20self-signed\+20certificate$' \
  self -- -v -n localhost -a "$P/ca.pem"
ok "client -v, unknown CA: '$(status unknownca)', exit 111"

# Without -v, the wrong host is reported, not refused.
client_case oppwrong 0 '^ok TLSv1\.3 [^ ]+ CN\+3Dwrong\.example hostname\+20mismatch$' \
  wrong -- -n localhost -a "$P/ca.pem"
ok "client, opportunistic, wrong host: $(status oppwrong)"

# No -a or -A: the system's hashed directory ($SSL_CERT_DIR here).
mkdir -p "$T/certs" "$T/nocerts"
cp "$P/ca.pem" "$T/certs/" && openssl rehash "$T/certs" 2>/dev/null || fail "openssl rehash"
# (s_server must not see the variable: it would send the CA along.)
s_server store server
export SSL_CERT_DIR="$T/certs"
tls_client store -v -n localhost
unset SSL_CERT_DIR
expect_status store '^ok TLSv1\.3 [^ ]+ [^ ]+ ok$'
done_rc store; touch "$T/store.sgo"
s_server nostore server
export SSL_CERT_DIR="$T/nocerts"
tls_client nostore -v -n localhost
unset SSL_CERT_DIR
expect_status nostore '^fail '
done_rc nostore; touch "$T/nostore.sgo"
[ "$(status nostore)" = "fail certificate+20verify+20failed:+20unable+20to+20get+20local+20issuer+20certificate" ] || fail "nostore: $(status nostore)"
ok "client -v, default store: the CA in it '$(status store)', not in it '$(status nostore)'"
