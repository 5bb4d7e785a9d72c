# smtp-proxyd -C: a whole command line checked without a client, every
# problem reported by one run, exit 0 only when all is well.
. "$(dirname "$0")/lib.sh"
P=$BIN/smtp-proxyd FW=$BIN/smtp-forward
export PATH="$BIN:$PATH"
serve_host
test_ca ca
test_cert ca server "/CN=proxy.test" "DNS:proxy.test"
test_cert ca other "/CN=other.test" "DNS:other.test"
smtp-table recipients "$TOP/examples/tables/recipients" "$T/recipients.cdb" || fail "smtp-table"
smtp-table clients "$TOP/examples/tables/clients" "$T/clients.cdb" || fail "smtp-table"
smtp-table senders "$TOP/examples/tables/senders" "$T/senders.cdb" || fail "smtp-table"
cp "$TOP/examples/bodycheck.conf" "$T/bodycheck.conf"

check() {     # check [proxy options and filters] -- forwarder...: $T/err, $rc
  "$P" -C -d "$T" "$@" < /dev/null > "$T/out" 2> "$T/err"
  rc=$?
  [ -s "$T/out" ] && fail "-C wrote to standard output: $(cat "$T/out")"
  return 0
}
said() { grep -Eq "$1" "$T/err" || { cat "$T/err"; fail "the check did not say: $1"; }; }

# All is well: exit 0, one line.
check -c "$T/server.pem" -k "$T/server.key" \
  { smtp-envcheck -n proxy.test -c "$T/clients.cdb" -s "$T/senders.cdb" -r "$T/recipients.cdb" } \
  { smtp-bodycheck -f "$T/bodycheck.conf" } { "$TOP/t/filters/act" - none } \
  -- "$FW" 127.0.0.1 "$HOST_PORT"
[ $rc = 0 ] || { cat "$T/err"; fail "a good configuration: exit $rc"; }
[ "$(cat "$T/err")" = "smtp-proxyd: info: check ok filters=3" ] || { cat "$T/err"; fail "a good configuration: not one line"; }
ok "a good configuration (STARTTLS, envcheck, bodycheck, a shell filter, the forwarder): exit 0, 'check ok'"

# Everything wrong at once: each problem is a line of the same run, the
# smarthost that refuses us too (-CC).
serve REFUSING "$TOOLS/smtp-testhost" -g 554
printf 'reject extension exe\nnonsense here\n' > "$T/bad.conf"
check -CC -c "$T/server.pem" -k "$T/missing.key" -L /nonexistent/smtp-tls \
  { smtp-envcheck -n proxy.test -c "$T/clients.cdb" -s "$T/senders.cdb" -r "$T/missing.cdb" } \
  { smtp-bodycheck -f "$T/bad.conf" } { /nonexistent/filter } { -1 /nonexistent/oneshot } \
  -- "$FW" -Z 127.0.0.1 "$REFUSING_PORT"
[ $rc = 100 ] || { cat "$T/err"; fail "a bad configuration: exit $rc, not 100"; }
said '^smtp-proxyd: warning: check: unable to read the TLS key .*/missing.key: No such file'
said '^smtp-proxyd: warning: check: unable to find /nonexistent/smtp-tls for STARTTLS'
said "missing\.cdb"
said '^smtp-proxyd: warning: check: filter smtp-envcheck: exit 100$'
said '^smtp-bodycheck: .*bad\.conf'
said '^smtp-proxyd: warning: check: filter smtp-bodycheck: exit 100$'
said '^smtp-proxyd: warning: check: filter filter: unable to start /nonexistent/filter'
said '^smtp-proxyd: warning: check: filter oneshot: unable to find /nonexistent/oneshot'
said '^smtp-forward: .*-Z'
said "^smtp-forward: .*127\.0\.0\.1:$REFUSING_PORT"
said '^smtp-proxyd: warning: check: forwarder: exit 100$'
said '^smtp-proxyd: warning: check: 7 problems$'
ok "a missing key, no smtp-tls, a missing table, a bad bodycheck.conf, a missing filter and one-shot, a bad smtp-forward option, a smarthost that refuses (-CC): all reported by one run (7 counted by the proxy, the forwarder's two its own lines), exit 100"

# A certificate and a key that do not belong together: smtp-tls says so.
check -c "$T/server.pem" -k "$T/other.key" -- "$FW" 127.0.0.1 "$HOST_PORT"
[ $rc = 100 ] || { cat "$T/err"; fail "mismatched key: exit $rc"; }
said '^smtp-proxyd: warning: check: STARTTLS: the certificate and the key: exit 100$'
ok "a certificate with another's key: found by smtp-tls -s -x, exit 100"

# A bad status text, and a name no program takes.
SMTP_TEXT_GREETING="$(printf 'a\tb')" SMTP_TEXT_RELAY_DENEID=x check -- "$FW" 127.0.0.1 "$HOST_PORT"
[ $rc = 100 ] || { cat "$T/err"; fail "status texts: exit $rc"; }
said '^smtp-proxyd: warning: check: SMTP_TEXT_GREETING has a control character$'
said '^smtp-proxyd: warning: check: SMTP_TEXT_RELAY_DENEID: no noqueue program takes this status text$'
ok "a bad status text and a misspelt name: both reported, exit 100"

# A filter that answers nothing within its timeout: a temporary problem.
printf '#!/bin/sh\nexec sleep 30\n' > "$T/mute"; chmod +x "$T/mute"
check { -t 1 "$T/mute" } -- "$FW" 127.0.0.1 "$HOST_PORT"
[ $rc = 111 ] || { cat "$T/err"; fail "a mute filter: exit $rc, not 111"; }
said '^smtp-proxyd: warning: check: filter mute: no greeting within 1 seconds$'
ok "a filter that does not greet in time: a temporary problem, exit 111"

# -CC: the forwarder also connects to each smarthost and shows its EHLO.
check -CC -- "$FW" 127.0.0.1 "$HOST_PORT"
[ $rc = 0 ] || { cat "$T/err"; fail "-CC, a smarthost that answers: exit $rc"; }
said "^smtp-forward: info: smarthost=127\.0\.0\.1:$HOST_PORT ehlo=250"
said '^smtp-proxyd: info: check ok filters=0$'
ok "-CC: the smarthost's EHLO reply shown, exit 0"
closed=$(free_port)
check -CC -- "$FW" 127.0.0.1 "$REFUSING_PORT" 127.0.0.1 "$closed"
[ $rc = 111 ] || { cat "$T/err"; fail "-CC, smarthosts that refuse or are down: exit $rc, not 111"; }
said "^smtp-forward: .*127\.0\.0\.1:$REFUSING_PORT"
said "^smtp-forward: .*127\.0\.0\.1:$closed"
said '^smtp-proxyd: warning: check: forwarder: exit 111$'
ok "-CC: a smarthost that refuses (554 greeting) and one down: both named, exit 111"
