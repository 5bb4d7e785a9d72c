# smtp-envcheck and smtp-table end to end, through smtp-proxyd and the test
# smarthost, with the example tables of examples/tables: the table
# compiler (errors with file:line, atomic replacement), the client by
# address and prefix (IPv4, IPv6, mapped), RBLSMTPD and RELAYCLIENT from
# the environment and from a real tcprules database, HELO checks, senders,
# recipients and relaying, rule classes, status texts, the log, and a
# filter that cannot start.
. "$(dirname "$0")/lib.sh"
EX=$TOP/examples/tables
for p in smtp-envcheck smtp-table; do [ -x "$BIN/$p" ] || fail "$p is not built"; done

# --- smtp-table --------------------------------------------------------------

for k in clients senders recipients; do
  smtp-table $k "$EX/$k" "$T/$k.cdb" 2> "$T/err" || { cat "$T/err"; fail "smtp-table $k"; }
  [ -s "$T/err" ] && { cat "$T/err"; fail "smtp-table $k: a warning on the example"; }
done
cdb -q "$T/recipients.cdb" '@example.net' > /dev/null || fail "no domain marker"
ok "smtp-table: the example tables compile without a word"

cp "$EX/clients" "$T/clients"
smtp-table clients "$T/clients" || fail "default target"
cmp "$T/clients.cdb" "$T/clients" > /dev/null 2>&1 && fail "default target is the source"
[ -s "$T/clients.cdb" ] || fail "no SOURCE.cdb"
ok "smtp-table: the target defaults to SOURCE.cdb"

printf '# bad\n10.1.2.3/8 deny\nbogus line\n10.0.0.0/33 allow\n10.9.9.9/8 relay\n' > "$T/bad"
cp "$T/clients.cdb" "$T/bad.cdb"
smtp-table clients "$T/bad" "$T/bad.cdb" 2> "$T/err"; rc=$?
[ $rc = 100 ] || fail "bad lines: exit $rc"
cat > "$T/want" <<EOT
smtp-table: warning: $T/bad:2: 10.1.2.3/8 taken as 10.0.0.0/8
smtp-table: error: $T/bad:3: not an address or address/length: bogus
smtp-table: error: $T/bad:4: not an address or address/length: 10.0.0.0/33
smtp-table: warning: $T/bad:5: 10.9.9.9/8 taken as 10.0.0.0/8
smtp-table: error: $T/bad:5: 10.0.0.0/8 is already in an earlier line
smtp-table: fatal: $T/bad: 3 bad lines; $T/bad.cdb not changed
EOT
diff "$T/want" "$T/err" || fail "error messages"
cmp "$T/clients.cdb" "$T/bad.cdb" || fail "a bad source changed the target"
ls "$T" | grep -q '\.tmp' && fail "a temporary file was left"
ok "smtp-table: bad lines named with file:line, exit 100, target unchanged, no temporary left"

smtp-table client "$T/bad" 2> "$T/err"; rc=$?
[ $rc = 100 ] && grep -q '^smtp-table: fatal: unknown kind of table: client' "$T/err" || fail "unknown kind: $rc"
smtp-table senders "$T/nonexistent" 2> "$T/err"; rc=$?
[ $rc = 100 ] && grep -qx "smtp-table: fatal: unable to open $T/nonexistent: No such file or directory" "$T/err" ||
  fail "missing source: $rc $(cat "$T/err")"
smtp-table senders "$EX/senders" /nonexistent/senders.cdb 2> "$T/err"; rc=$?
[ $rc = 111 ] || fail "unwritable target: exit $rc"
smtp-table 2> /dev/null; [ $? = 100 ] || fail "usage"
ok "smtp-table: unknown kind and missing source exit 100, an unwritable target 111"

# --- through the proxy, on a pipe ---------------------------------------------

setup "-R bob@example.net=250 -R *=550"
# The smarthost knows bob@example.net only: a recipient that smtp-envcheck
# passes and the smarthost refuses shows that it was passed on.

# message FROM RCPT...: one pipelined transaction in $T/in (EHLO $HELO)
HELO=client.example
message() {
  from=$1; shift
  { printf 'EHLO %s\r\nMAIL FROM:<%s>\r\n' "$HELO" "$from"
    for r in "$@"; do printf 'RCPT TO:<%s>\r\n' "$r"; done
    printf 'DATA\r\nSubject: envcheck\r\n\r\nbody\r\n.\r\nQUIT\r\n'; } > "$T/in"
}

# from IP [envcheck options]: the proxy on $T/in as a client at IP that
# reached 192.0.2.10, with smtp-envcheck (policy required) and the
# example tables; output $T/out, log $T/err.
ENVCHECK_TABLES="-c $T/clients.cdb -s $T/senders.cdb -r $T/recipients.cdb"
from() {
  ip=$1; shift
  rm -f "$T"/host/*
  # shellcheck disable=SC2086
  TCPREMOTEIP=$ip TCPREMOTEPORT=4000 TCPLOCALIP=192.0.2.10 TCPLOCALPORT=25 \
    timeout 60 smtp-proxyd -h proxy.test -m first \
      { -p required smtp-envcheck -n proxy.test $ENVCHECK_TABLES "$@" } \
      -- smtp-forward -h proxy.test 127.0.0.1 "$HOST_PORT" < "$T/in" > "$T/out" 2> "$T/err"
}

reply() {   # reply REGEX: some reply line matches
  grep -Eq "$1" "$T/out" || { cat "$T/out" "$T/err"; fail "no reply $1"; }
}
relayed() {   # relayed ADDRESS: the smarthost got RCPT TO:<ADDRESS>
  cat "$T"/host/log.* 2>/dev/null | grep -qx "RCPT TO:<$1>" || { cat "$T/out"; fail "$1 was not relayed"; }
}
not_relayed() {
  cat "$T"/host/log.* 2>/dev/null | grep -qi "RCPT TO:<$1>" && fail "$1 was relayed"
  return 0
}

# Recipients.
message alice@example.com bob@example.net Bob@EXAMPLE.NET nobody@example.net \
  anyone@example.org x@elsewhere.example x@example.net.elsewhere.example Postmaster@example.net
from 203.0.113.5
reply '^250 2\.1\.5 Ok'
relayed bob@example.net
relayed Bob@EXAMPLE.NET
relayed anyone@example.org
relayed Postmaster@example.net
reply '^550 5\.1\.1 No such user here'
not_relayed nobody@example.net
[ "$(grep -c '^554 5.7.1 Relaying denied' "$T/out")" = 2 ] || { cat "$T/out"; fail "relaying not denied twice"; }
not_relayed x@elsewhere.example
not_relayed x@example.net.elsewhere.example
[ "$(stored)" = 1 ] || fail "the message was not delivered to the known recipients"
ok "recipients: listed, *@domain and postmaster relayed (without case), unknown 550 5.1.1, others 554 5.7.1"

grep -q 'transaction .* class=sales' "$T/err" || { cat "$T/err"; fail "class not given to the proxy"; }
message alice@example.com bob@example.net anyone@example.org
rm -f "$T"/host/*
TCPREMOTEIP=203.0.113.5 timeout 60 smtp-proxyd -h proxy.test \
  { smtp-envcheck -r "$T/recipients.cdb" } -- smtp-forward -h proxy.test 127.0.0.1 "$HOST_PORT" \
  < "$T/in" > "$T/out" 2> "$T/err"
reply '^452 4\.5\.3 Too many recipients'
not_relayed anyone@example.org
ok "rule classes from the table reach the proxy: sales then staff is split with 452"

message alice@example.com nobody@example.net
from 203.0.113.5
pid=$(sed -n 's/.*transaction conn=\([0-9a-f-]*\) .*/\1/p' "$T/err")
grep -qx "smtp-envcheck: info: refused conn=$pid ip=203.0.113.5 event=rcpt address=nobody@example.net code=550 reason=\"unknown recipient\" entry=@example.net" "$T/err" ||
  { cat "$T/err"; fail "refusal log line"; }
ok "log: each refusal with the proxy's conn=, the reason and the entry that decided"

# Clients by address and prefix.
message alice@example.com bob@example.net
from 192.0.2.1
reply '^554 5\.7\.1 Your network is refused here; see https://www.example.org/mail'
reply '^250 2\.1\.0'                       # refused at RCPT, not before
not_relayed bob@example.net
[ "$(stored)" = 0 ] || fail "a denied client was relayed"
from 192.0.2.25
relayed bob@example.net
from ::ffff:192.0.2.1
reply '^554 5\.7\.1 Your network'
from 2001:db8:bad::7
reply '^554 5\.7\.1 Client host rejected'
from 2001:DB8:BAD:1::7
reply '^554 5\.7\.1 Client host rejected'
from 2001:db8:bae::7
relayed bob@example.net
grep -q 'entry=2001:db8:bad:0:0:0:0:0/48' "$T/err" && fail "the wrong prefix decided"
ok "clients: denied /24 with its text at RCPT, an allowed /32 inside it, mapped IPv4, IPv6 /48"

message alice@example.com x@elsewhere.example
from 10.20.30.40
relayed x@elsewhere.example
from 2001:db8:25::1
relayed x@elsewhere.example
from 203.0.113.5
reply '^554 5\.7\.1 Relaying denied'
ok "clients: a relay entry (IPv4 and IPv6) may send to any domain, others may not"

# RBLSMTPD and RELAYCLIENT, as tcprules would set them.
message alice@example.com bob@example.net
export RBLSMTPD="-Blocked by the rules"
from 203.0.113.5
reply '^553 5\.7\.1 Blocked by the rules'
reply '^250 2\.1\.0'
not_relayed bob@example.net
RBLSMTPD="Greylisted, come back later"
from 203.0.113.5
reply '^451 4\.7\.1 Greylisted, come back later'
RBLSMTPD=""
from 192.0.2.1
relayed bob@example.net
unset RBLSMTPD
ok "RBLSMTPD: -text 553, text 451 (at RCPT, as rblsmtpd), empty overrides a denied prefix"

message alice@example.com x@elsewhere.example nobody@example.net
export RELAYCLIENT=""
from 203.0.113.5
relayed x@elsewhere.example
reply '^550 5\.1\.1'
unset RELAYCLIENT
ok "RELAYCLIENT (even empty): any domain, but unknown local users are still unknown"

# HELO.
helo() { HELO=$1; message alice@example.com bob@example.net; HELO=client.example; }
helo bad_name
from 203.0.113.5
reply '^501 5\.5\.2 Invalid HELO name'
reply '^503 5\.5\.1'
[ "$(stored)" = 0 ] || fail "mail after a refused HELO"
for h in proxy.test PROXY.TEST '[192.0.2.10]' '[IPv6:::ffff:192.0.2.10]'; do
  helo "$h"
  from 203.0.113.5
  reply '^550 5\.7\.1 You are not this host'
done
helo '[192.0.2.11]'
from 203.0.113.5
relayed bob@example.net
helo localhost
from 203.0.113.5
relayed bob@example.net
from 203.0.113.5 -H fqdn
reply '^504 5\.5\.2 HELO name must be a fully qualified domain name'
helo bad_name
from 203.0.113.5 -H none
relayed bob@example.net
helo proxy.test
from 203.0.113.5 -H syntax
relayed bob@example.net
ok "HELO: syntax 501, our name or address 550, fqdn 504 when asked, -H switches each"

# Senders.
message spammer@EXAMPLE.com bob@example.net
from 203.0.113.5
reply '^550 5\.7\.1 We do not accept mail from you'
not_relayed bob@example.net
message anyone@spam.example bob@example.net
from 203.0.113.5
reply '^550 5\.7\.1 Sender address rejected'
message x@deep.sub.spam.example bob@example.net
from 203.0.113.5
reply '^550 5\.7\.0 Nor from your subdomains'
message friend@spam.example bob@example.net
from 203.0.113.5
relayed bob@example.net
message '' bob@example.net
from 203.0.113.5
relayed bob@example.net
grep -q '^MAIL FROM:<>' "$T"/host/log.* || fail "null sender"
ok "senders: address, @domain, .parent with per-entry texts; an allowed address; <> passes"

# Status texts.
message alice@example.com x@elsewhere.example
export SMTP_TEXT_RELAY_DENIED="We are not an open relay"
from 203.0.113.5
reply '^554 5\.7\.1 We are not an open relay'
SMTP_TEXT_RELAY_DENIED=$(printf 'Kein Relay f\303\274r Sie')
from 203.0.113.5
reply '^421 4\.3\.0'
grep -q 'smtp-envcheck: fatal: conn=[0-9a-f-]*: SMTP_TEXT_RELAY_DENIED has a non-ASCII byte' "$T/err" || fail "non-ASCII text"
unset SMTP_TEXT_RELAY_DENIED
ok "status texts: SMTP_TEXT_RELAY_DENIED replaces the text; a non-ASCII one stops the filter"

# A filter that cannot start.
message alice@example.com bob@example.net
from 203.0.113.5 -r "$T/nonexistent.cdb"
reply '^421 4\.3\.0'
grep -q "smtp-envcheck: fatal: conn=[0-9a-f-]*: unable to open $T/nonexistent.cdb: No such file or directory" "$T/err" ||
  fail "missing table message"
grep -q 'filter smtp-envcheck failed' "$T/err" || fail "proxy did not log the failure"
[ "$(stored)" = 0 ] || fail "relayed without its filter"
from 203.0.113.5 -r "$T/senders.cdb"
grep -q "is not a recipients table made by smtp-table (it says: senders 1)" "$T/err" || fail "wrong kind"
reply '^421 4\.3\.0'
ok "a missing table or one of another kind: exit 100, and -p required refuses the session"

# Garbage from the proxy (run by hand).
printf 'filter 1\nrcpt 1 x@y.example\nrcpt 2 +ZZ\n' | smtp-envcheck > "$T/out" 2> "$T/err"; rc=$?
[ $rc = 111 ] || fail "garbage: exit $rc"
grep -qx 'reject 1 554 5.7.1 Relaying denied' "$T/out" || fail "answers before the garbage"
grep -qx 'smtp-envcheck: fatal: a malformed event from the proxy' "$T/err" || fail "garbage message"
head -c 100000 /dev/zero | tr '\0' x | sed 's/^/filter 1\nrcpt /' | smtp-envcheck > /dev/null 2>&1
[ $? = 111 ] || fail "a long line"
smtp-envcheck -x 2> /dev/null; [ $? = 100 ] || fail "bad option"
smtp-envcheck -H syntax,bogus 2> /dev/null; [ $? = 100 ] || fail "bad -H"
smtp-envcheck -a 192.0.2.300 2> /dev/null; [ $? = 100 ] || fail "bad -a"
smtp-envcheck -n 'bad name' 2> /dev/null; [ $? = 100 ] || fail "bad -n"
ok "garbage from the proxy: 111 after the answers so far; bad options: 100"

# --- a real client, tcpserver and tcprules ---------------------------------------

command -v tcprules > /dev/null || skip "no tcprules"
# serve_rules RULES: the proxy under tcpserver -x, rules in tcprules syntax.
serve_rules() {
  stop PROXY
  : > "$T/PROXY.log"
  printf '%s\n' "$1" | tcprules "$T/rules.cdb" "$T/rules.tmp" || fail "tcprules"
  rm -f "$T/PROXY.port"
  tcpserver -1 -q -HR -x "$T/rules.cdb" -l localhost 127.0.0.1 0 \
    smtp-proxyd -h proxy.test { -p required smtp-envcheck -n proxy.test -r "$T/live.cdb" } \
    -- smtp-forward -h proxy.test 127.0.0.1 "$HOST_PORT" > "$T/PROXY.port" 2>> "$T/PROXY.log" &
  PIDS="$PIDS $!"
  PROXY_PID=$!
  wait_for "[ -s '$T/PROXY.port' ]" 10 || fail "tcpserver did not start"
  PROXY_PORT=$(head -n 1 "$T/PROXY.port")
}
setup ""
cp "$EX/recipients" "$T/live"
smtp-table recipients "$T/live" "$T/live.cdb" || fail "live table"

serve_rules '127.0.0.1:allow,RELAYCLIENT=""'
send --from alice@example.com --to x@elsewhere.example || { cat "$T/swaks.out"; fail "relay client"; }
[ "$(stored)" = 1 ] || fail "RELAYCLIENT from tcprules: not relayed"
serve_rules ':allow'
send --from alice@example.com --to x@elsewhere.example
saw '554 5.7.1 Relaying denied'
serve_rules '127.0.0.1:allow,RBLSMTPD="-You are listed"'
send --from alice@example.com --to bob@example.net
saw '553 5.7.1 You are listed'
[ "$(stored)" = 1 ] || fail "a listed client was relayed"
logged 'refused conn=[0-9a-f]+-[0-9]+ ip=127.0.0.1 event=rcpt address=bob@example.net code=553 reason=RBLSMTPD'
ok "tcpserver -x: RELAYCLIENT and RBLSMTPD from a tcprules database, with swaks"

# Replacing the table while the server runs: the next connection sees it,
# and connections during a storm of replacements never see half a table.
serve_rules ':allow'
send --from alice@example.com --to newcomer@example.net
saw '550 5.1.1 No such user here'
echo 'newcomer@example.net' >> "$T/live"
smtp-table recipients "$T/live" "$T/live.cdb" || fail "recompile"
send --from alice@example.com --to newcomer@example.net || { cat "$T/swaks.out"; fail "newcomer refused after the rebuild"; }
ok "a recompiled table takes effect at the next connection, no restart"

cp "$T/live" "$T/live2"
echo 'other@example.net' >> "$T/live2"
( i=0; while [ ! -e "$T/stop" ]; do
    smtp-table recipients "$T/live" "$T/live.cdb" && smtp-table recipients "$T/live2" "$T/live.cdb" || exit 1
    i=$((i + 2)); echo $i > "$T/replaced"; done ) &
storm=$!
PIDS="$PIDS $storm"
wait_for "[ -s '$T/replaced' ]" 10 || fail "the replacement loop did not start"
before=$(stored)
n=0
while [ $n -lt 20 ]; do
  send --from alice@example.com --to bob@example.net ||
    { cat "$T/swaks.out"; tail -n 5 "$T/PROXY.log"; fail "a send during the replacements"; }
  n=$((n + 1))
done
touch "$T/stop"
wait $storm || fail "the replacement loop failed"
[ $(( $(stored) - before )) = 20 ] || fail "not every message delivered"
grep -q 'filter smtp-envcheck failed\|warning' "$T/PROXY.log" && { cat "$T/PROXY.log"; fail "a filter saw a broken table"; }
ls "$T" | grep -q 'live.cdb.tmp' && fail "a temporary file was left"
ok "20 sessions during $(cat "$T/replaced") replacements of their table: all delivered, no failure"

# Local parts that route on are relaying through a smarthost that honours
# them (Postfix does by default): refused like any foreign domain.
printf 'EHLO client.test\r\nMAIL FROM:<x@foreign.example>\r\nRCPT TO:<user%%evil.com@example.org>\r\nRCPT TO:<"user@evil.com"@example.org>\r\nRCPT TO:<evil.com!user@example.org>\r\nRCPT TO:<"john smith"@example.org>\r\nQUIT\r\n' > "$T/routed"
stop HOST; serve_host
TCPREMOTEIP=203.0.113.9 "$BIN/smtp-proxyd" -h proxy.test { -p required smtp-envcheck -r "$T/recipients.cdb" } \
  -- "$BIN/smtp-forward" -h proxy.test 127.0.0.1 "$HOST_PORT" < "$T/routed" > "$T/out" 2> "$T/err"
[ "$(grep -c '^554 5.7.1' "$T/out")" = 3 ] || { cat "$T/out"; fail "routed local parts not all refused"; }
grep -q '^250 2.1.5' "$T/out" || { cat "$T/out"; fail "a quoted local part with a space was refused"; }
grep -q 'evil' "$T"/host/log.* && fail "a routed local part reached the smarthost"
grep -q 'reason="routed local part"' "$T/err" || fail "routed: not logged"
ok "user%host@ours, \"user@host\"@ours, host!user@ours: 554 5.7.1; \"john smith\"@ours: 250"

# A rebuilt table keeps its group and mode (root:GROUP 0640 stays readable
# by the service user).
if [ "$(id -u)" = 0 ]; then
  cp "$EX/senders" "$T/grp"
  smtp-table senders "$T/grp" "$T/grp.cdb" && chgrp nogroup "$T/grp.cdb" && chmod 640 "$T/grp.cdb" || fail "chgrp"
  smtp-table senders "$T/grp" "$T/grp.cdb" || fail "rebuild"
  [ "$(stat -c %G:%a "$T/grp.cdb")" = nogroup:640 ] || fail "rebuilt table: $(stat -c %G:%a "$T/grp.cdb")"
  ok "a rebuilt table keeps its group and mode"
fi

# --- check mode (NOQUEUE_CHECK=1) and the page's by-hand commands ----------
. "$TOP/t/lib-checkmode.sh"
printf 'not a table' > "$T/junk.cdb"
check_fails 100 5 "bad configuration" env SMTP_TEXT_RELAY_DENIED="$(printf 'a\tb')" \
  smtp-envcheck -H fqdn,nonsense -c "$T/none.cdb" -s "$T/junk.cdb" -r "$T/clients.cdb"
check_said "^smtp-envcheck: fatal: bad -H: "
check_said "^smtp-envcheck: fatal: SMTP_TEXT_RELAY_DENIED has a control character"
check_said "^smtp-envcheck: fatal: unable to open $T/none.cdb: No such file"
check_said "^smtp-envcheck: fatal: unable to (open|read) $T/junk.cdb"
check_said "^smtp-envcheck: fatal: $T/clients.cdb is not a recipients table made by smtp-table"
check_passes "good configuration" smtp-envcheck -c "$T/clients.cdb" -s "$T/senders.cdb" -r "$T/recipients.cdb"
ok "check mode: every problem at once (an option, a status text, a missing table, a junk one, one of another kind), exit 100, no handshake; a good configuration: the handshake, exit 0"
man_examples_run "$TOP/man/smtp-envcheck.8" "$T"
ok "smtp-envcheck(8): its $MAN_EXAMPLES by-hand commands run as written and print what the page shows"
