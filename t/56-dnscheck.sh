# smtp-dnscheck end to end, against the test's own dnsmasq: client lists
# with filters and weights, an allow list, the threshold, an IPv6 client,
# the sender domain and the HELO name in a domain list, forward-confirmed
# reverse DNS, a list that never answers, a list's error answer, the
# facts that a later filter sees.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-dns.sh"
[ -x "$BIN/smtp-dnscheck" ] || fail "smtp-dnscheck is not built"

silent_start
cat > "$T/zone" <<EOT
address=/2.2.0.192.bl.example/127.0.0.2
address=/2.2.0.192.bl2.example/127.0.0.4
address=/3.2.0.192.bl.example/127.0.0.3
address=/3.2.0.192.wl.example/127.0.0.2
address=/4.2.0.192.bl.example/127.255.255.254
address=/1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.example/127.0.0.2
address=/spam.example.dbl.example/127.0.1.2
address=/badhelo.example.dbl.example/127.0.1.2
host-record=mail.good.example,192.0.2.20
ptr-record=21.2.0.192.in-addr.arpa,mail.liar.example
host-record=mail.liar.example,192.0.2.99
ptr-record=30.2.0.192.in-addr.arpa,dsl-192-0-2-30.dyn.isp.example
host-record=dsl-192-0-2-30.dyn.isp.example,192.0.2.30
server=/slow.example/127.0.0.1#$SILENT_PORT
EOT
dns_start
D="-d 127.0.0.1:$DNS_PORT"

# The facts a later filter sees, each line written to $T/facts.
cat > "$T/factlog" <<EOT
#!/bin/sh
read hello
echo "filter 2 rcpt"
while read -r line; do
  case \$line in
    fact*|score*) echo "\$line" >> "$T/facts" ;;
    rcpt*) set -- \$line; echo "continue \$2" ;;
  esac
done
EOT
chmod +x "$T/factlog"

# relay IP [dnscheck args]: a proxy whose client is IP, one message.
relay() {
  _ip=$1; shift
  rm -f "$T/facts"
  stop PROXY; : > "$T/PROXY.log"
  stop HOST; rm -rf "$T/host"; : > "$T/HOST.log"; serve_host
  serve PROXY env TCPREMOTEIP="$_ip" "$BIN/smtp-proxyd" -h proxy.example \
    { "$BIN/smtp-dnscheck" $D "$@" } { "$T/factlog" } \
    -- "$BIN/smtp-forward" -h proxy.example 127.0.0.1 "$HOST_PORT"
}
mail() {
  swaks --server 127.0.0.1 --port "$PROXY_PORT" --helo "${HELO:-client.example}" \
    --from "${FROM:-a@sender.example}" --to bob@rcpt.example \
    --timeout 30 --suppress-data > "$T/swaks.out" 2>&1
}
rcpt_code() { grep -a -A1 ' -> RCPT TO' "$T/swaks.out" | sed -n 's/^<[-*~]* *\([0-9][0-9][0-9]\).*/\1/p'; }
# The test smarthost writes a transcript $T/host/log.PID per connection.
no_connection() {
  ls "$T/host" | grep -q '^log\.' && { cat "$T/host"/log.*; fail "$1: the smarthost was connected"; }
  [ "$(stored)" = 0 ] || fail "$1: a message was stored"
}
delivered() {
  [ "$(stored)" = 1 ] || { cat "$T/swaks.out" "$T/PROXY.log"; fail "$1: not delivered"; }
  ls "$T/host" | grep -q '^log\.' || fail "$1: no transcript of the smarthost (the check of no_connection is blind)"
}

# --- a listed client -------------------------------------------------------------
relay 192.0.2.2 -l bl.example -T 1
mail
rcpt_code | grep -q 554 || { cat "$T/swaks.out"; fail "listed client: RCPT not refused"; }
grep -q '554 5.7.1 Service unavailable; client \[192.0.2.2\] blocked using bl.example' "$T/swaks.out" ||
  { cat "$T/swaks.out"; fail "the refusal does not name the list"; }
no_connection "listed client"
grep -q 'smtp-dnscheck: info: refused .*ip=192.0.2.2 score=1 zones=bl.example' "$T/PROXY.log" ||
  { cat "$T/PROXY.log"; fail "no log line of the refusal"; }
ok "a listed client is refused 554 at RCPT naming the list; the smarthost is never connected"

relay 192.0.2.9 -l bl.example -T 1
mail; delivered "unlisted client"
ok "an unlisted client (NXDOMAIN) passes"

# --- filters, weights, threshold ------------------------------------------------------
relay 192.0.2.2 -l 'bl.example=127.0.0.[3..11]' -T 1
mail; delivered "filter"
relay 192.0.2.3 -l 'bl.example=127.0.0.[3..11]' -T 1
mail; rcpt_code | grep -q 554 || fail "filter [3..11] did not match 127.0.0.3"
ok "a filter 127.0.0.[3..11] matches 127.0.0.3 and not 127.0.0.2"

relay 192.0.2.2 -l 'bl.example*2' -l 'bl2.example*1' -T 4
mail; delivered "score 3 under threshold 4"
grep -q '^fact dnsbl bl.example:127.0.0.2,bl2.example:127.0.0.4' "$T/facts" ||
  { cat "$T/facts"; fail "no dnsbl fact for the later filter"; }
grep -q '^fact dnscheck.score 3' "$T/facts" || fail "no dnscheck.score fact"
relay 192.0.2.2 -l 'bl.example*2' -l 'bl2.example*2' -T 4
mail; rcpt_code | grep -q 554 || fail "score 4 at threshold 4 not refused"
grep -q 'blocked using bl.example, bl2.example' "$T/swaks.out" || { cat "$T/swaks.out"; fail "zones in text"; }
ok "weights add up: 3 under -T 4 passes (facts dnsbl, dnscheck.score to a later filter), 4 is refused"

# --- an allow list -------------------------------------------------------------------
relay 192.0.2.3 -l 'bl.example*1' -l 'wl.example*-5' -T 1
mail; delivered "allow-listed"
grep -q '^fact dnswl wl.example:127.0.0.2' "$T/facts" || { cat "$T/facts"; fail "no dnswl fact"; }
ok "an allow-listed client passes although a block list lists it"

# -A: at or under the allow threshold the rest of the chain is skipped:
# the fact logger, after smtp-dnscheck, is not asked at RCPT.
relay 192.0.2.3 -l 'wl.example*-5' -A -5
mail; delivered "accept"
[ -s "$T/facts" ] && { cat "$T/facts"; fail "-A: the next filter was asked"; }
ok "-A: a client at the allow threshold is accepted, the rest of the chain skipped"

# --- an IPv6 client --------------------------------------------------------------------
relay 2001:db8::1 -l bl.example
mail; rcpt_code | grep -q 554 || { cat "$T/swaks.out" "$T/PROXY.log"; fail "IPv6 client not refused"; }
grep -q 'client \[2001:db8::1\]' "$T/swaks.out" || fail "IPv6 text"
no_connection "IPv6"
ok "an IPv6 client is looked up by its 32 nibbles"

# --- the sender domain and the HELO name -----------------------------------------------
relay 192.0.2.9 -L dbl.example
FROM=x@spam.example mail; rcpt_code | grep -q 554 || { cat "$T/swaks.out"; fail "listed sender domain"; }
grep -q 'blocked using dbl.example' "$T/swaks.out" || fail "RHSBL zone in text"
no_connection "sender domain"
relay 192.0.2.9 -L 'dbl.example*0'
FROM=x@spam.example mail; delivered "weight 0"
grep -q '^fact rhsbl sender:dbl.example:127.0.1.2' "$T/facts" || { cat "$T/facts"; fail "no rhsbl fact"; }
relay 192.0.2.9 -L dbl.example
HELO=badhelo.example mail; rcpt_code | grep -q 554 || { cat "$T/swaks.out"; fail "listed HELO"; }
relay 192.0.2.9 -L dbl.example
mail; delivered "clean sender and HELO"
ok "a listed sender domain and a listed HELO name are refused; a clean one passes; fact rhsbl"

# --- forward-confirmed reverse DNS --------------------------------------------------------
relay 192.0.2.20 -f 5
mail; delivered "fcrdns pass"
grep -q '^fact fcrdns pass' "$T/facts" && grep -q '^fact rdns mail.good.example' "$T/facts" ||
  { cat "$T/facts"; fail "fcrdns pass"; }
relay 192.0.2.21 -f 5
mail; rcpt_code | grep -q 554 || { cat "$T/swaks.out"; fail "fcrdns fail not refused at -f 5"; }
relay 192.0.2.21 -f 0
mail; delivered "fcrdns fail, 0 points"
grep -q '^fact fcrdns fail' "$T/facts" || { cat "$T/facts"; fail "fcrdns fail fact"; }
relay 192.0.2.22 -f 0
mail; grep -q '^fact fcrdns fail' "$T/facts" || { cat "$T/facts"; fail "no PTR: fcrdns fail"; }
ok "FCrDNS: a confirmed name passes (facts fcrdns pass, rdns), a lying PTR and no PTR fail"

relay 192.0.2.30 -f 0 -y 3
mail; rcpt_code | grep -q 554 || { cat "$T/swaks.out"; fail "dynamic name not refused at -y 3"; }
relay 192.0.2.30 -f 0 -y 0
mail; grep -q '^fact rdns.dynamic yes' "$T/facts" || { cat "$T/facts"; fail "dynamic fact"; }
relay 192.0.2.20 -f 0 -y 3
mail; delivered "mail.good.example is not dynamic"
grep -q '^fact rdns.dynamic no' "$T/facts" || { cat "$T/facts"; fail "not dynamic fact"; }
ok "a dynamic-looking reverse name scores; mail.good.example does not"

# --- a list that never answers; an error answer ----------------------------------------------
relay 192.0.2.2 -l slow.example -l 'bl2.example*0' -t 1500
start=$(date +%s%N)
mail
ms=$(( ($(date +%s%N) - start) / 1000000 ))
delivered "silent list"
[ "$ms" -lt 5000 ] || fail "the silent list took $ms ms"
n=$(grep -c 'slow.example did not answer' "$T/PROXY.log")
[ "$n" = 1 ] || { cat "$T/PROXY.log"; fail "$n warnings for the silent list"; }
grep -q '^fact dnsbl bl2.example:127.0.0.4' "$T/facts" || { cat "$T/facts"; fail "the list that answered is lost"; }
ok "a list that never answers: mail passes in $ms ms (budget 1500), one warning, the other list counted"

relay 192.0.2.9 -L slow.example -t 800
mail; delivered "silent domain list"
grep -q 'warning: conn=[0-9a-f-]*: helo slow.example did not answer for client.example in time' "$T/PROXY.log" &&
  grep -q 'warning: conn=[0-9a-f-]*: sender slow.example did not answer for sender.example in time' "$T/PROXY.log" ||
  { cat "$T/PROXY.log"; fail "warnings of the silent domain list"; }
ok "a domain list that never answers: delivered, one warning for the HELO name and one for the sender's domain"

relay 192.0.2.4 -l bl.example
mail; delivered "127.255.255.254"
grep -q 'bl.example answered 127.255.255.254, an error' "$T/PROXY.log" || { cat "$T/PROXY.log"; fail "no warning for 127.255.255.254"; }
ok "an answer 127.255.255.254 is an error, not a listing"

# --- the text ---------------------------------------------------------------------------------
relay 192.0.2.2 -l bl.example
stop PROXY
serve PROXY env TCPREMOTEIP=192.0.2.2 SMTP_TEXT_DNSBL_LISTED='Go away %a, see %z (100%%)' \
  "$BIN/smtp-proxyd" -h proxy.example { "$BIN/smtp-dnscheck" $D -l bl.example } \
  -- "$BIN/smtp-forward" -h proxy.example 127.0.0.1 "$HOST_PORT"
mail; grep -q '554 5.7.1 Go away 192.0.2.2, see bl.example (100%)' "$T/swaks.out" || { cat "$T/swaks.out"; fail "SMTP_TEXT_DNSBL_LISTED"; }
ok "SMTP_TEXT_DNSBL_LISTED: %a, %z and %%"

smtp-dnscheck -l 'bad zone' 2> "$T/err" < /dev/null; [ $? = 100 ] || fail "bad -l not 100"
grep -q '^smtp-dnscheck: fatal: not a DNS zone in bad zone; usage' "$T/err" || { cat "$T/err"; fail "bad -l message"; }
smtp-dnscheck -l 'bl.example=127.0.0' 2> /dev/null < /dev/null; [ $? = 100 ] || fail "bad filter not 100"
smtp-dnscheck -d 'nameserver' 2> /dev/null < /dev/null; [ $? = 100 ] || fail "bad -d not 100"
ok "bad -l, filter, -d: exit 100 with one line"

# Check mode (NOQUEUE_CHECK=1): one query to the name server before the
# handshake; every bad option at once; no name server: 111.
. "$TOP/t/lib-checkmode.sh"
check_passes "the name server up" smtp-dnscheck $D -l bl.example
man_examples_run "$TOP/man/smtp-dnscheck.8" "$T" NOQUEUE_CHECK "s/127.0.0.1:5353/127.0.0.1:$DNS_PORT/"
check_fails 100 3 "bad configuration" smtp-dnscheck -d nameserver -l 'bad zone' -t 0 $D
check_said '^smtp-dnscheck: fatal: bad -d: '
check_said '^smtp-dnscheck: fatal: not a DNS zone in bad zone; usage'
check_said '^smtp-dnscheck: fatal: bad -t: '
down=$(free_port)
check_fails 111 1 "no name server" smtp-dnscheck -d "127.0.0.1:$down" -t 600 -l bl.example
check_said '^smtp-dnscheck: fatal: the name servers do not answer '
ok "check mode: the name server answers, the handshake, exit 0 (and smtp-dnscheck(8)'s command); bad options all at once: 100; no name server: 111"
