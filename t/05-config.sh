# Bad configuration is refused at start with one clear line and exit 100;
# a filter that cannot start fails closed (tempfail) or open (accept) as
# its policy says.
. "$(dirname "$0")/lib.sh"
F=$TOP/t/filters

refuses() {   # refuses "expected stderr" command...
  want=$1; shift
  "$@" < /dev/null > "$T/out" 2> "$T/err"
  rc=$?
  [ $rc = 100 ] || fail "exit $rc, not 100: $*"
  [ "$(wc -l < "$T/err")" -ge 1 ] || fail "no error line: $*"
  grep -q "$want" "$T/err" || { cat "$T/err"; fail "error does not say '$want': $*"; }
  [ -s "$T/out" ] && fail "wrote to the client: $*"
  return 0
}
P=$BIN/smtp-proxyd FW=$BIN/smtp-forward
refuses 'SMTP_TEXT_REJECTED has a non-ASCII byte' env SMTP_TEXT_REJECTED="$(printf 'Abgelehnt: \303\274')" $P -- $FW 127.0.0.1 1
refuses 'SMTP_TEXT_OK has a control character' env SMTP_TEXT_OK="$(printf 'a\tb')" $P -- $FW 127.0.0.1 1
refuses 'SMTP_TEXT_GREETING is empty' env SMTP_TEXT_GREETING= $P -- $FW 127.0.0.1 1
refuses 'SMTP_TEXT_UPSTREAM_LOST has a non-ASCII byte' env SMTP_TEXT_UPSTREAM_LOST="$(printf '\344')" $FW 127.0.0.1 1
ok "a status text with a non-ASCII or control byte, or empty: refused at start, naming it"
refuses 'usage' $P -e 0 -- $FW 127.0.0.1 1
refuses 'bad size' $P -s 10Q -- $FW 127.0.0.1 1
refuses 'bad multi-recipient policy' $P -m all -- $FW 127.0.0.1 1
refuses 'bad policy' $P -p required -- $FW 127.0.0.1 1
refuses 'no forwarder' $P --
refuses 'expected { or --' $P "$F/act" -- $FW 127.0.0.1 1
refuses 'closing }' $P { "$F/act" -- $FW 127.0.0.1 1
refuses 'without a program' $P { -t 5 } -- $FW 127.0.0.1 1
refuses 'bad points' $P -S vip=x -- $FW 127.0.0.1 1
refuses 'bad host name' $P -h 'bad host' -- $FW 127.0.0.1 1
refuses 'usage' $FW 127.0.0.1
refuses 'bad port' $FW 127.0.0.1 smtp
refuses 'bad quarantine mailbox' $P -Q 'not an address' -- $FW 127.0.0.1 1
refuses 'bad data rate' $P -D -5 -- $FW 127.0.0.1 1
ok "bad options: exit 100 with the reason"
refuses '^smtp-proxyd: fatal: -e: bad number of seconds' $P -e 0 -- $FW 127.0.0.1 1
refuses '^smtp-proxyd: fatal: -s: bad size' $P -s 10Q -- $FW 127.0.0.1 1
refuses '^smtp-proxyd: fatal: unknown option -z' $P -z -- $FW 127.0.0.1 1
refuses '^smtp-proxyd: fatal: option -s without its value' $P -s
refuses '^smtp-proxyd: fatal: filter option -x unknown' $P { -x "$F/act" } -- $FW 127.0.0.1 1
refuses '^smtp-proxyd: fatal: -t: bad number of seconds' $P { -t 0 "$F/act" } -- $FW 127.0.0.1 1
ok "a bad option or filter option is named in the error"
[ "$($P -v)" = "smtp-proxyd $(sed -n 's/^VERSION *= *//p' "$TOP/Makefile")" ] || fail "smtp-proxyd -v: $($P -v)"
ok "smtp-proxyd -v prints the version of the Makefile"

# Every status text name a program has (its table in cmd/) is one that
# smtp-proxyd knows of; a misspelt one is a warning at each connection.
names=$(grep -hoE '\{ *"[A-Z][A-Z_0-9]+", *"' "$TOP"/cmd/*/*.c | sed -E 's/\{ *"([A-Z_0-9]+)".*/\1/' | sort -u)
[ "$(echo "$names" | wc -l)" -ge 50 ] || fail "only $(echo "$names" | wc -l) status text names found in cmd/"
for n in $names; do
  printf 'QUIT\r\n' | env "SMTP_TEXT_$n=some text" $P -- $FW 127.0.0.1 1 > "$T/out" 2> "$T/err"
  grep -q "status text" "$T/err" && { cat "$T/err"; fail "SMTP_TEXT_$n: taken for unknown"; }
done
printf 'QUIT\r\n' | env SMTP_TEXT_RELAY_DENEID=x SMTP_TEXT_GREETNG=y $P -- $FW 127.0.0.1 1 > "$T/out" 2> "$T/err"
grep -q '^smtp-proxyd: warning: SMTP_TEXT_RELAY_DENEID: no noqueue program takes this status text$' "$T/err" &&
  grep -q 'SMTP_TEXT_GREETNG: no noqueue program' "$T/err" && grep -q '^221 ' "$T/out" ||
  { cat "$T/err" "$T/out"; fail "a misspelt SMTP_TEXT_ name: no warning"; }
ok "SMTP_TEXT_: each of the $(echo "$names" | wc -w) names of the programs' tables known; a misspelt one warned of (the session goes on)"
echo cert > "$T/c.pem"; echo key > "$T/k.pem"
refuses 'unable to find /nonexistent/smtp-tls for STARTTLS' $P -c "$T/c.pem" -k "$T/k.pem" -L /nonexistent/smtp-tls -- $FW 127.0.0.1 1
refuses 'unable to find no-such-smtp-tls for STARTTLS' env PATH=/usr/bin:/bin $P -c "$T/c.pem" -k "$T/k.pem" -L no-such-smtp-tls -- $FW 127.0.0.1 1
ok "a certificate but no smtp-tls to run: refused at start with one line, before any 220"

setup "" "{ -p tempfail /nonexistent/filter }"
send --to bob@example.net --from alice@example.org
saw '421'; [ "$(stored)" = 0 ] || fail "missing filter: stored"
logged 'filter filter failed at start'
setup "" "{ -p accept /nonexistent/filter }"
send --to bob@example.net --from alice@example.org
[ "$(final_code)" = 250 ] || fail "missing filter, accept: $(final_code)"
ok "a filter that cannot start: 421 at the greeting under tempfail, relayed under accept"

# Every program: an unknown option is one line on stderr and exit 100.
for p in "$TOP"/cmd/*/; do
  p=$(basename "$p")
  "$BIN/$p" -Z < /dev/null > "$T/out" 2> "$T/err"
  rc=$?
  [ $rc = 100 ] || fail "$p -Z: exit $rc"
  [ "$(wc -l < "$T/err")" = 1 ] || { cat "$T/err"; fail "$p -Z: not one line"; }
  grep -q "^$p: fatal: " "$T/err" || fail "$p -Z: not '$p: fatal: ...'"
done
ok "every program: an unknown option is one 'fatal' line and exit 100"
