# smtp-spf end to end, against the test's own dnsmasq: the seven results,
# every mechanism, redirect, exp and macros, the limits (10 look-ups, 2
# void look-ups), a loop, a syntax error, a server that never answers,
# the HELO identity for the null sender, IPv6; the Received-SPF field in
# the relayed message, the facts a later filter sees, and refusals.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-dns.sh"
[ -x "$BIN/smtp-spf" ] || fail "smtp-spf is not built"

silent_start
{
  cat <<EOT
txt-record=pass.example,"v=spf1 ip4:192.0.2.0/24 -all"
txt-record=fail.example,"v=spf1 -all"
txt-record=soft.example,"v=spf1 ~all"
txt-record=neutral.example,"v=spf1 ?all"
address=/none.example/192.0.2.10
txt-record=other.example,"not spf at all"
txt-record=two.example,"v=spf1 +all"
txt-record=two.example,"v=spf1 -all"
txt-record=syntax.example,"v=spf1 ip4:192.0.2.300 -all"
txt-record=loop.example,"v=spf1 include:loop.example -all"
txt-record=incl.example,"v=spf1 include:fail.example include:pass.example -all"
txt-record=inclnone.example,"v=spf1 include:none.example +all"
txt-record=redir.example,"v=spf1 redirect=pass.example"
txt-record=redirnone.example,"v=spf1 redirect=none.example"
txt-record=exists.example,"v=spf1 exists:%{ir}.%{l}.allow.example -all"
address=/10.2.0.192.bob.allow.example/127.0.0.2
txt-record=a.example,"v=spf1 a:host.a.example -all"
address=/host.a.example/192.0.2.10
txt-record=acidr.example,"v=spf1 a:host.acidr.example/24 -all"
address=/host.acidr.example/192.0.2.99
txt-record=mx.example,"v=spf1 mx -all"
mx-host=mx.example,mail.mx.example,10
address=/mail.mx.example/192.0.2.10
txt-record=ptr.example,"v=spf1 ptr -all"
host-record=host.ptr.example,192.0.2.10
txt-record=ip6.example,"v=spf1 ip6:2001:db8::/32 -all"
txt-record=slow.example,"v=spf1 include:x.slow.example -all"
server=/x.slow.example/127.0.0.1#$SILENT_PORT
txt-record=exp.example,"v=spf1 -all exp=why.exp.example"
txt-record=why.exp.example,"%{i} is not a server of %{d}"
txt-record=void2.example,"v=spf1 a:nx1.example a:nx2.example +all"
txt-record=void3.example,"v=spf1 a:nx1.example a:nx2.example a:nx3.example +all"
txt-record=helo.example,"v=spf1 ip4:192.0.2.10 -all"
EOT
  # ten.example: 10 look-ups, then +all; eleven.example: 11.
  t=; e=
  for i in 1 2 3 4 5 6 7 8 9 10 11; do
    echo "address=/h$i.example/198.51.100.$i"
    [ $i -le 10 ] && t="$t a:h$i.example"
    e="$e a:h$i.example"
  done
  echo "txt-record=ten.example,\"v=spf1$t +all\""
  # mx11.example: 11 MX names (a permerror), mx10.example: 10, the last one ours.
  echo 'txt-record=mx11.example,"v=spf1 mx -all"'
  echo 'txt-record=mx10.example,"v=spf1 mx -all"'
  for i in 1 2 3 4 5 6 7 8 9 10 11; do
    echo "mx-host=mx11.example,h$i.example,$i"
    [ $i -le 9 ] && echo "mx-host=mx10.example,h$i.example,$i"
  done
  echo "mx-host=mx10.example,mail.mx.example,10"
  echo "txt-record=eleven.example,\"v=spf1$e +all\""
} > "$T/zone"
dns_start

# The facts a later filter sees at rcpt, each line to $T/facts.
cat > "$T/factlog" <<EOT
#!/bin/sh
read hello
echo "filter 2 rcpt"
while read -r line; do
  case \$line in
    fact*) echo "\$line" >> "$T/facts" ;;
    rcpt*) set -- \$line; echo "continue \$2" ;;
  esac
done
EOT
chmod +x "$T/factlog"

serve_host
# proxy NAME IP [smtp-spf options]: a proxy whose client is IP.
proxy() {
  _name=$1 _ip=$2; shift 2
  serve "$_name" env TCPREMOTEIP="$_ip" "$BIN/smtp-proxyd" -h proxy.example \
    { "$BIN/smtp-spf" -d "127.0.0.1:$DNS_PORT" -h mx.example.net -t 1500 "$@" } { "$T/factlog" } \
    -- "$BIN/smtp-forward" -h proxy.example 127.0.0.1 "$HOST_PORT"
}
proxy P4 192.0.2.10
proxy PBAD 198.51.100.99
proxy P6 2001:db8::10
proxy PREJ 192.0.2.10 -r fail=reject -r permerror=reject -r temperror=tempfail -r softfail=score:3

# mail PORT FROM CASE: one message with X-Case: CASE.
mail() {
  rm -f "$T/facts"
  swaks --server 127.0.0.1 --port "$1" --helo "${HELO:-client.example}" --from "$2" \
    --to bob@rcpt.example --header "X-Case: $3" --timeout 30 --suppress-data > "$T/swaks.out" 2>&1
}
# case_is CASE RESULT: the message of CASE has "Received-SPF: RESULT".
CR=$(printf '\r')
stored_msg() { grep -l "^X-Case: $1$CR\$" "$T/host"/msg.* 2>/dev/null | head -n 1; }
case_is() {
  _m=$(stored_msg "$1")
  [ -n "$_m" ] || { cat "$T/swaks.out"; fail "$1: not delivered"; }
  grep -q "^Received-SPF: $2 (mx.example.net: " "$_m" ||
    { grep -i '^received-spf' "$_m"; fail "$1: not Received-SPF: $2"; }
  grep -q "^fact spf $2\$" "$T/facts" || { cat "$T/facts"; fail "$1: the next filter did not see fact spf $2"; }
}
check() {   # check PORT FROM CASE RESULT
  mail "$1" "$2" "$3"
  case_is "$3" "$4"
}

check "$P4_PORT" a@pass.example pass pass
grep -q '^fact spf.domain pass.example$' "$T/facts" && grep -q '^fact spf.identity mailfrom$' "$T/facts" ||
  { cat "$T/facts"; fail "spf.domain, spf.identity"; }
_m=$(stored_msg pass)
grep -q '^Received-SPF: pass (mx.example.net: domain of a@pass.example designates 192.0.2.10 as permitted sender) client-ip=192.0.2.10; envelope-from="a@pass.example"; helo=client.example; identity=mailfrom; receiver=mx.example.net' "$_m" ||
  { grep '^Received-SPF' "$_m"; fail "the Received-SPF field"; }
ok "pass (ip4/24): Received-SPF in the relayed message; facts spf, spf.domain, spf.identity to a later filter"
check "$PBAD_PORT" a@pass.example fail-ip4 fail
check "$P4_PORT" a@fail.example fail fail
check "$P4_PORT" a@soft.example softfail softfail
check "$P4_PORT" a@neutral.example neutral neutral
grep -q 'from=<a@fail.example> .* score=5 facts=spf=fail,' "$T/P4.log" || { cat "$T/P4.log"; fail "fail: not 5 points by default"; }
grep -q 'from=<a@soft.example> .* score=1 facts=spf=softfail,' "$T/P4.log" || fail "softfail: not 1 point by default"
grep -q 'from=<a@neutral.example> .* score=' "$T/P4.log" && fail "neutral scored"
ok "fail (-all, and an address outside ip4), softfail, neutral: by default delivered, with the result; fail 5 points, softfail 1"
check "$P4_PORT" a@none.example none none
check "$P4_PORT" a@other.example none-other none
check "$P4_PORT" a@nosuch.example none-nx none
ok "none: no TXT record, no SPF record among the TXT records, no such domain"
check "$P4_PORT" a@slow.example temperror temperror
ok "temperror: an include whose server never answers (-t 1500)"
check "$P4_PORT" a@syntax.example permerror-syntax permerror
grep -q 'problem="syntax.example: ip4: not an address: 192.0.2.300"' "$(stored_msg permerror-syntax)" ||
  { grep '^Received-SPF' "$(stored_msg permerror-syntax)"; fail "the problem of a syntax error"; }
check "$P4_PORT" a@two.example permerror-two permerror
check "$P4_PORT" a@loop.example permerror-loop permerror
grep -q 'problem="more than 10 DNS look-ups"' "$(stored_msg permerror-loop)" || fail "loop: problem"
check "$P4_PORT" a@eleven.example permerror-eleven permerror
grep -q 'problem="more than 10 DNS look-ups"' "$(stored_msg permerror-eleven)" || fail "11 look-ups: problem"
check "$P4_PORT" a@ten.example ten-lookups pass
check "$P4_PORT" a@mx11.example permerror-mx11 permerror
grep -q 'problem="more than 10 MX names for mx11.example"' "$(stored_msg permerror-mx11)" || fail "11 MX: problem"
check "$P4_PORT" a@mx10.example mx10 pass
check "$P4_PORT" a@void3.example permerror-void permerror
grep -q 'problem="more than 2 void look-ups (nx3.example)"' "$(stored_msg permerror-void)" || fail "void: problem"
check "$P4_PORT" a@void2.example void2 pass
check "$P4_PORT" a@inclnone.example permerror-include-none permerror
check "$P4_PORT" a@redirnone.example permerror-redirect-none permerror
ok "permerror: a syntax error, two records, an include loop, 11 look-ups (10 pass), 11 MX names (10 pass), 3 void look-ups (2 pass), include and redirect to no record"
check "$P4_PORT" a@incl.example include pass
check "$P4_PORT" a@redir.example redirect pass
check "$PBAD_PORT" a@redir.example redirect-fail fail
ok "include (a fail inside does not match, a pass does), redirect (pass and fail)"
check "$P4_PORT" bob@exists.example exists pass
check "$P4_PORT" alice@exists.example exists-no fail
ok "exists with macros %{ir}.%{l}: bob's name exists, alice's not"
check "$P4_PORT" a@a.example a pass
check "$PBAD_PORT" a@a.example a-fail fail
check "$P4_PORT" a@acidr.example a-cidr pass
check "$P4_PORT" a@mx.example mx pass
check "$PBAD_PORT" a@mx.example mx-fail fail
check "$P4_PORT" a@ptr.example ptr pass
check "$PBAD_PORT" a@ptr.example ptr-fail fail
check "$P6_PORT" a@ip6.example ip6 pass
check "$P4_PORT" a@ip6.example ip6-v4client fail
ok "a, a/24, mx, ptr, ip6 (an IPv6 client), each matching and not"
HELO=helo.example check "$P4_PORT" '<>' helo pass
grep -q '^fact spf.identity helo$' "$T/facts" || fail "the HELO identity"
grep -q 'envelope-from="postmaster@helo.example"; helo=helo.example; identity=helo;' "$(stored_msg helo)" ||
  fail "Received-SPF of the HELO identity"
HELO=client.example check "$PBAD_PORT" '<>' helo-none none
ok "the null sender: the HELO identity (postmaster@HELO)"

# --- refusals: -r ---------------------------------------------------------------
n=$(ls "$T/host" | grep -c '^msg\.')
mail "$PREJ_PORT" a@fail.example rej-fail
grep -q '^<\*\* *550 5.7.23 SPF fail: 192.0.2.10 is not permitted to send mail for fail.example' "$T/swaks.out" ||
  { cat "$T/swaks.out"; fail "fail=reject"; }
mail "$PREJ_PORT" a@exp.example rej-exp
grep -q '^<\*\* *550 5.7.23 SPF fail: 192.0.2.10 is not permitted to send mail for exp.example: 192.0.2.10 is not a server of exp.example' "$T/swaks.out" ||
  { cat "$T/swaks.out"; fail "the explanation (exp=) in the refusal"; }
mail "$PREJ_PORT" a@syntax.example rej-perm
grep -q '^<\*\* *550 5.7.24 ' "$T/swaks.out" || { cat "$T/swaks.out"; fail "permerror=reject"; }
mail "$PREJ_PORT" a@slow.example rej-temp
grep -q '^<\*\* *451 4.7.24 SPF temperror for slow.example, try again later' "$T/swaks.out" || { cat "$T/swaks.out"; fail "temperror=tempfail"; }
[ "$(ls "$T/host" | grep -c '^msg\.')" = "$n" ] || fail "a refused message was stored"
grep -q 'smtp-spf: info: refused conn=[0-9a-f-]* spf=fail ip=192.0.2.10 domain=fail.example' "$T/PREJ.log" ||
  { cat "$T/PREJ.log"; fail "no log line of the refusal"; }
mail "$PREJ_PORT" a@none.example rej-none
case_is rej-none none
ok "-r: fail and permerror rejected 550 (5.7.23 with the exp= explanation, 5.7.24), temperror 451 4.7.24, none delivered"

smtp-spf -r none=reject 2> "$T/err" < /dev/null; [ $? = 100 ] || fail "none=reject taken"
grep -q '^smtp-spf: fatal: -r none=reject: a sender without SPF is never refused; usage' "$T/err" || { cat "$T/err"; fail "message"; }
smtp-spf -r fail=maybe 2> /dev/null < /dev/null; [ $? = 100 ] || fail "bad action taken"
ok "-r none=reject and an unknown action: exit 100"

# Check mode (NOQUEUE_CHECK=1): one query to the name server before the
# handshake; every bad option at once; no name server: 111.
. "$TOP/t/lib-checkmode.sh"
check_passes "the name server up" smtp-spf -d "127.0.0.1:$DNS_PORT"
man_examples_run "$TOP/man/smtp-spf.8" "$T" NOQUEUE_CHECK "s/127.0.0.1:5353/127.0.0.1:$DNS_PORT/"
check_fails 100 2 "bad configuration" smtp-spf -r fail=maybe -h 'bad name' -d "127.0.0.1:$DNS_PORT"
check_said '^smtp-spf: fatal: .*fail=maybe'
check_said '^smtp-spf: fatal: bad host name in -h; usage'
down=$(free_port)
check_fails 111 1 "no name server" smtp-spf -d "127.0.0.1:$down" -t 600
check_said '^smtp-spf: fatal: the name servers do not answer '
ok "check mode: the name server answers, the handshake, exit 0 (and smtp-spf(8)'s command); bad options all at once: 100; no name server: 111"
