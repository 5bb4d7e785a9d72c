# smtp-rspamd end to end against the real rspamd (Debian's 3.4), its
# normal worker alone, started once with the private configuration of
# t/rspamd/ (no Redis, no controller; dnsmasq from t/lib-dns.sh as its
# only name server): GTUBE refused with rspamd's text; a clean message
# delivered with rspamd's result fields, the facts seen by the next
# filter and in the log; the envelope rspamd got (its log, and a symbol of
# the test's configuration: Hostname from a fact, -n, -s, TLS); its Unix
# socket; a sender's X-Spam fields removed; the add header and rewrite
# subject actions (reached through marker symbols of the test's
# configuration) seen at the smarthost; soft reject and greylist refused
# for now (greylist let through with -g); -P against smtp-proxyd -S; over
# -m, relayed unscanned; then rspamd stopped (SIGSTOP) past -t, an answer
# that is no JSON, and rspamd gone: 451 under -p tempfail, delivered
# unchecked under -p accept.
. "$(dirname "$0")/lib.sh"
. "$TOP/t/lib-scan.sh"
. "$TOP/t/lib-dns.sh"
. "$TOP/t/lib-rspamd.sh"
RSPAMD=$BIN/smtp-rspamd
[ -x "$RSPAMD" ] || fail "no $RSPAMD (make)"

# Every name is NXDOMAIN: rspamd's DNS checks end at once, offline.
echo 'address=/#/' > "$T/zone"
dns_start
start_rspamd

# proxy POLICY [ADAPTER OPTIONS]: a fresh smarthost and proxy with
# smtp-rspamd in a block of that policy, then a version 2 test filter
# that records what it sees at eom (the facts) into $RECORD.
RECORD=$T/record
export RECORD
proxy() {
  _policy=$1; shift
  setup "" "{ -p $_policy -t 30 $RSPAMD -t 15 $* inet:127.0.0.1:$RSPAMD_PORT } { $TOP/t/filters/v2 eom }"
}
# mail FILE [swaks options]: one message through the proxy.
mail() { _f=$1; shift; send --from alice@example.org --to bob@example.net --data "@$_f" "$@"; }
# marked FILE MARKER: the clean message with the test's marker field.
marked() { { printf 'X-Noqueue-Test: %s\r\n' "$2"; cat "$T/clean.eml"; } > "$1"; }
delivered() {   # delivered WHAT: 250 after the data, stored once
  [ "$(final_code)" = 250 ] || { cat "$T/swaks.out" "$T/PROXY.log"; fail "$1: the client got $(final_code)"; }
  [ "$(stored)" = 1 ] || fail "$1: not stored once"
}
adapter_logged() { logged "smtp-rspamd: info: scan conn=[0-9a-f]+-[0-9]+ id=[0-9a-f.-]+ $1"; }
# without_added FILE: the stored message without the proxy's Received
# field and rspamd's result fields (folded lines included).
without_added() {
  awk 'h && /^\r?$/ { h = 0 }
       h && /^[^ \t]/ { skip = /^(Received|X-Spamd-Result|X-Spam-Status|X-Spam):/ }
       h && skip { next } { print }' h=1 "$1"
}

message "$T/clean.eml" "Lunch"
message "$T/gtube.eml" "Offer" "$GTUBE"
marked "$T/add.eml" add-header
marked "$T/subject.eml" rewrite-subject
marked "$T/soft.eml" soft-reject
marked "$T/grey.eml" greylist

proxy tempfail
mail "$T/gtube.eml"
saw "554 5.7.1 Gtube pattern"
not_delivered "GTUBE"
adapter_logged 'action=reject score=[0-9.]+ changes=0 ms=[0-9]+'
ok "GTUBE: 554 5.7.1 with rspamd's text (Gtube pattern), not relayed"

: > "$RECORD"
mail "$T/clean.eml"
delivered "clean"
msg=$(ls "$T"/host/msg.*)
grep -q '^X-Spamd-Result: default: False \[' "$msg" || { cat "$msg"; fail "clean: no X-Spamd-Result"; }
grep -q '^X-Spam-Status: No, score=' "$msg" || { cat "$msg"; fail "clean: no X-Spam-Status"; }
grep -q '^X-Spam:' "$msg" && fail "clean: an X-Spam field"
# (swaks ends the data with one more CRLF of its own)
without_added "$msg" | head -c "$(wc -c < "$T/clean.eml")" | cmp -s - "$T/clean.eml" ||
  fail "clean: the message changed beyond the added fields"
adapter_logged 'action=no_action score=-?[0-9.]+ changes=2'
grep -Eq '^fact rspamd[.]score -?[0-9]+[.][0-9][0-9]$' "$RECORD" &&
  grep -q '^fact rspamd[.]action no_action$' "$RECORD" || { cat "$RECORD"; fail "clean: no facts for the next filter"; }
logged 'transaction conn=[0-9a-f]+-[0-9]+ .* facts=([^ ]*,)?rspamd[.]score=-?[0-9]+[.][0-9][0-9],rspamd[.]action=no_action[ ,].*result=delivered'
ok "a clean message: delivered intact with X-Spamd-Result and X-Spam-Status; the facts rspamd.score and rspamd.action seen by the next filter and in the log"

# The envelope as rspamd got it: its log line of that message, and the
# options of the test's symbol NOQUEUE_ENVELOPE; Hostname from an earlier
# filter's fact rdns (as smtp-dnscheck -f sets it), MTA-Name from -n; -s
# names a settings entry with thresholds no message reaches.
wait_for "grep -q 'rcpts: <bob@example.net>' '$T/rspamd/rspamd.log'" 5 ||
  { tail -n 5 "$T/rspamd/rspamd.log"; fail "rspamd's log has no recipient"; }
line=$(grep 'rcpts: <bob@example.net>' "$T/rspamd/rspamd.log" | tail -n 1)
id=$(sed -n 's/.* id=\([^ ]*\) action=no_action.*/\1/p' "$T/PROXY.log" | tail -n 1)
case $line in *"qid: <$id>"*"ip: 127.0.0.1"*"from: <alice@example.org>"*) ;;
  *) echo "$line"; fail "rspamd did not get the envelope (queue id $id, client, sender)" ;; esac
grep -q 'NOQUEUE_ENVELOPE(0.00)\[.*helo=client.test' "$msg" || { cat "$msg"; fail "no Helo for rspamd"; }
grep -q 'NOQUEUE_ENVELOPE(0.00)\[.*settings=-' "$msg" || fail "a settings id without -s"
setup "" "{ $TOP/t/filters/v2 connect 'fact rdns client.example.org' } { -p tempfail -t 30 $RSPAMD -s noqueue-test -n mx.noqueue.test inet:127.0.0.1:$RSPAMD_PORT }"
mail "$T/add.eml"
delivered "-s noqueue-test"
msg=$(ls "$T"/host/msg.*)
grep -q '^X-Spam:' "$msg" && fail "-s noqueue-test: the settings were not applied"
for o in ip=127.0.0.1 helo=client.test host=client.example.org mta=mx.noqueue.test settings=yes \
    tls=- cipher=-; do
  grep -q "NOQUEUE_ENVELOPE(0.00)\\[.*$o" "$msg" || { cat "$msg"; fail "rspamd did not get $o"; }
done
ok "rspamd got the envelope: Queue-Id (the transaction's id), IP, Helo, From, Rcpt; Hostname from the fact rdns, MTA-Name (-n), Settings-ID (-s)"

# After STARTTLS: TLS-Version and TLS-Cipher.
test_ca ca
test_cert ca server /CN=localhost DNS:localhost,IP:127.0.0.1
setup "" "-c $T/server.pem -k $T/server.key { -p tempfail -t 30 $RSPAMD inet:127.0.0.1:$RSPAMD_PORT }"
mail "$T/clean.eml" --tls
delivered "STARTTLS"
grep -q 'NOQUEUE_ENVELOPE(0.00)\[.*tls=TLSv1.3,cipher=TLS_[A-Z0-9_]*' "$T"/host/msg.* ||
  { cat "$T"/host/msg.*; fail "rspamd did not get TLS-Version and TLS-Cipher"; }
ok "after STARTTLS, rspamd got TLS-Version (TLSv1.3) and TLS-Cipher; without, neither"

# The same worker on its Unix socket.
setup "" "{ -p tempfail -t 30 $RSPAMD unix:$T/rspamd/normal.sock }"
mail "$T/gtube.eml"
saw "554 5.7.1 Gtube pattern"
not_delivered "GTUBE, unix:"
ok "unix:PATH: rspamd's Unix socket, GTUBE refused the same"

# A sender's own spam verdict fields: rspamd's milter block says to
# remove them (remove_headers), and they are gone at the smarthost.
proxy tempfail
{ printf 'X-Spam: No\r\nX-Spam-Status: No, score=-100\r\n'; cat "$T/clean.eml"; } > "$T/forged.eml"
mail "$T/forged.eml"
delivered "forged"
grep -q '^X-Spam: No' "$T"/host/msg.* && { cat "$T"/host/msg.*; fail "forged: X-Spam kept"; }
grep -q '^X-Spam-Status: No, score=-100' "$T"/host/msg.* && fail "forged: X-Spam-Status kept"
[ "$(grep -c '^X-Spam-Status: ' "$T"/host/msg.*)" = 1 ] || fail "forged: not one X-Spam-Status"
ok "a sender's X-Spam and X-Spam-Status fields removed as rspamd's remove_headers says, rspamd's own added"

rm -f "$T"/host/msg.*
mail "$T/add.eml"
delivered "add header"
grep -q '^X-Spam: Yes' "$T"/host/msg.* || { cat "$T"/host/msg.*; fail "add header: no X-Spam: Yes"; }
grep -q '^X-Spam-Status: Yes, score=' "$T"/host/msg.* || fail "add header: no X-Spam-Status: Yes"
adapter_logged 'action=add_header'
ok "the add header action: delivered with X-Spam: Yes"

rm -f "$T"/host/msg.*
mail "$T/subject.eml"
delivered "rewrite subject"
grep -q '^Subject: \[SPAM\] Lunch' "$T"/host/msg.* || { cat "$T"/host/msg.*; fail "rewrite subject: Subject unchanged"; }
[ "$(grep -c '^Subject:' "$T"/host/msg.*)" = 1 ] || fail "rewrite subject: two Subject fields"
adapter_logged 'action=rewrite_subject'
ok "the rewrite subject action: delivered with Subject: [SPAM] Lunch (one Subject field)"

rm -f "$T"/host/msg.*
mail "$T/soft.eml"
saw "451 4.7.1 Noqueue test says later"
not_delivered "soft reject"
mail "$T/grey.eml"
saw "451 4.7.1 Try again later"
not_delivered "greylist"
ok "soft reject: 451 4.7.1 with rspamd's text; greylist: 451 4.7.1 Try again later"

proxy tempfail -g
mail "$T/grey.eml"
delivered "greylist, -g"
ok "greylist with -g: delivered"

# -P: rspamd's score times the points counts towards smtp-proxyd -S
# (the add-header message scores 70 and some here).
setup "" "-S 100 { -p tempfail -t 30 $RSPAMD -P 2 inet:127.0.0.1:$RSPAMD_PORT }"
mail "$T/add.eml"
saw "550 5.7.1"
not_delivered "-P 2, -S 100"
logged 'transaction conn=[0-9a-f]+-[0-9]+ .* score=1[0-9][0-9] .*result=rejected'
setup "" "-S 100 { -p tempfail -t 30 $RSPAMD -P 1 inet:127.0.0.1:$RSPAMD_PORT }"
mail "$T/add.eml"
delivered "-P 1, -S 100"
logged 'transaction conn=[0-9a-f]+-[0-9]+ .* score=[5-9][0-9] .*result=delivered'
ok "-P: rspamd's score counts towards smtp-proxyd -S (-P 2 over 100: 550; -P 1 under: delivered)"

# rspamd stopped (SIGSTOP): it accepts but never answers; -t 2 ends the
# wait, and the block's policy answers.
rspamd_workers
for p in $(ps -o pid= --ppid "$RSPAMD_PID") "$RSPAMD_PID"; do kill -STOP "$p"; done
proxy tempfail -t 2
start=$(date +%s)
mail "$T/clean.eml"
for p in "$RSPAMD_PID" $(ps -o pid= --ppid "$RSPAMD_PID"); do kill -CONT "$p"; done
saw "451 4.3.0"
not_delivered "rspamd stopped"
[ $(( $(date +%s) - start )) -lt 10 ] || fail "rspamd stopped: the answer took too long"
logged "smtp-rspamd: fatal: conn=[0-9a-f]+-[0-9]+: rspamd at inet:127.0.0.1:$RSPAMD_PORT: no reply within the timeout"
ok "rspamd stopped (SIGSTOP), -t 2: 451 4.3.0 in time, not relayed, one log line"

# Nonsense where rspamd should be: a server that answers 200 and no JSON.
NONSENSE_PORT=$(free_port)
perl -MIO::Socket::INET -e '$s = IO::Socket::INET->new(LocalAddr => "127.0.0.1:$ARGV[0]",
  Listen => 5, ReuseAddr => 1) or die "$!"; $SIG{TERM} = sub { exit 0 };
  while ($c = $s->accept) { sysread $c, $b, 65536;
    print $c "HTTP/1.0 200 OK\r\nContent-Length: 8\r\n\r\nnot json"; close $c }' "$NONSENSE_PORT" &
PIDS="$PIDS $!"
wait_for "port_open $NONSENSE_PORT" 10 || fail "the nonsense server did not start"
setup "" "{ -p tempfail -t 30 $RSPAMD inet:127.0.0.1:$NONSENSE_PORT }"
mail "$T/clean.eml"
saw "451 4.3.0"
not_delivered "nonsense"
logged "smtp-rspamd: fatal: conn=[0-9a-f]+-[0-9]+: rspamd at inet:127.0.0.1:$NONSENSE_PORT: no JSON"
ok "an answer that is no JSON: 451 4.3.0 under -p tempfail, not relayed, one log line"

# Larger than -m: not sent to rspamd, relayed unscanned.
message "$T/big.eml" "Big" "$(head -c 3000 /dev/zero | tr '\0' x | fold -w 76)"
proxy tempfail -m 2k
mail "$T/big.eml"
delivered "over -m"
grep -q '^X-Spamd-Result' "$T"/host/msg.* && fail "over -m: scanned"
adapter_logged 'action=unscanned size=[0-9]+'
grep -q '^fact rspamd[.]action unscanned$' "$RECORD" || fail "over -m: no fact for the next filter"
ok "a message larger than -m: relayed unscanned, the fact rspamd.action unscanned, one log line"

# Check mode (NOQUEUE_CHECK=1): rspamd answers GET /ping; every problem at once.
. "$TOP/t/lib-checkmode.sh"
check_passes "rspamd up" "$RSPAMD" "inet:127.0.0.1:$RSPAMD_PORT"
man_examples_run "$TOP/man/smtp-rspamd.8" "$T" NOQUEUE_CHECK "s/127.0.0.1:11333/127.0.0.1:$RSPAMD_PORT/"
check_fails 100 2 "bad configuration" "$RSPAMD" -t 0 -H Bad:Name "inet:127.0.0.1:$RSPAMD_PORT"
check_said '^smtp-rspamd: fatal: bad timeout: 0$'
check_said '^smtp-rspamd: fatal: bad header name: Bad:Name$'
ok "check mode: rspamd answers GET /ping (and smtp-rspamd(8)'s command): the handshake, exit 0; bad options: all at once, exit 100"

stop_rspamd
proxy tempfail
mail "$T/clean.eml"
saw "451 4.3.0"
not_delivered "rspamd down, -p tempfail"
logged "smtp-rspamd: fatal: conn=[0-9a-f]+-[0-9]+: rspamd at inet:127.0.0.1:$RSPAMD_PORT: unable to connect: Connection refused"
ok "rspamd down, -p tempfail: 451 4.3.0, not relayed, one log line"

proxy accept
mail "$T/clean.eml"
delivered "rspamd down, -p accept"
grep -q '^X-Spamd-Result' "$T"/host/msg.* && fail "rspamd down: a result field"
ok "rspamd down, -p accept: delivered unchecked"

# Check mode, rspamd gone: 111 before any handshake, one line naming it.
check_fails 111 1 "rspamd down" "$RSPAMD" "inet:127.0.0.1:$RSPAMD_PORT"
check_said "^smtp-rspamd: fatal: unable to connect to rspamd inet:127.0.0.1:$RSPAMD_PORT: Connection refused\$"
ok "check mode, rspamd down: exit 111, one line"
