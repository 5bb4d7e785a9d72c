# The log of smtp-proxyd (noqueue(7), THE LOG): the connection id, also
# in the Received field; the transaction line's msgid, filter_ms,
# upstream_ms and upstream_text; the results norecipient and unavailable;
# a filter run dry (-d); a filter killed at its timeout takes its own
# children with it.
. "$(dirname "$0")/lib.sh"
F=$TOP/t/filters
message() {   # message [header lines...]: one transaction to bob, to $T/in
  { printf 'EHLO client.test\r\nMAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.net>\r\nDATA\r\n'
    for h in "$@"; do printf '%s\r\n' "$h"; done
    printf 'Subject: logged\r\n\r\nbody\r\n.\r\nQUIT\r\n'; } > "$T/in"
}
line() { grep "^smtp-proxyd: info: $1 " "$T/err"; }
setup ""

# A delivered message: the fields, and the id in the Received field.
message 'Message-ID:  <log-1@example.org>'
proxy_pipe "$T/in" { -n first "$F/act" - none } { -n second "$F/think" eom 0.2 } --
tx=$(line transaction)
echo "$tx" | grep -Eq '^smtp-proxyd: info: transaction conn=[0-9a-f]{16}-[0-9]+ n=1 ' || { cat "$T/err"; fail "conn= is not an id"; }
conn=$(echo "$tx" | sed 's/.* conn=\([^ ]*\) .*/\1/')
echo "$tx" | grep -q " msgid=<log-1@example.org> " || fail "no msgid: $tx"
echo "$tx" | grep -Eq ' filter_ms=first:[0-9]+,second:([2-9][0-9][0-9]|[0-9]{4,}) ' ||
  fail "filter_ms does not show each filter, second taking 200 ms or more: $tx"
echo "$tx" | grep -Eq ' upstream=250 reply=250 upstream_ms=[0-9]+ upstream_text="2\.0\.0 Ok: stored [0-9]+\.1" result=delivered ' ||
  fail "upstream_ms, upstream_text: $tx"
line end | grep -q "^smtp-proxyd: info: end conn=$conn ip=" || fail "the end line has another conn: $(line end)"
line end | grep -Eq " filter_ms=first:[0-9]+,second:[0-9]+ reason=quit " || fail "the end line has no filter_ms: $(line end)"
grep -q "id $conn\.1;" "$T/host"/msg.* || { cat "$T/host"/msg.*; fail "the Received field has not id $conn.1"; }
ok "delivered: conn=ID (16 hex digits, a dash, the pid) in both lines and the Received field; msgid, filter_ms per filter, upstream_ms and upstream_text (the smarthost's queue id)"

# No Message-ID, nor one past the header: no msgid field.
{ printf 'EHLO client.test\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<bob@example.net>\r\nDATA\r\n'
  printf 'Subject: none\r\n\r\nMessage-ID: <in-body@example.org>\r\n.\r\nQUIT\r\n'; } > "$T/in"
proxy_pipe "$T/in" --
line transaction | grep -q ' msgid=' && fail "a Message-ID in the body was logged: $(line transaction)"
ok "no Message-ID field in the header (one in the body): no msgid"

# Every recipient refused: norecipient, not aborted.
message
proxy_pipe "$T/in" { "$F/act" rcpt reject } --
line transaction | grep -q ' rcpt=<bob@example.net>:550 accepted=0 .* result=norecipient ' ||
  fail "every recipient refused: $(line transaction)"
# A MAIL and no RCPT at all: aborted.
printf 'EHLO client.test\r\nMAIL FROM:<a@example.org>\r\nQUIT\r\n' > "$T/in"
proxy_pipe "$T/in" --
line transaction | grep -q ' result=aborted ' || fail "no recipient given: $(line transaction)"
ok "every recipient refused then QUIT: result=norecipient; no recipient given: aborted"

# The smarthost down: unavailable (the client got 451 4.4.1).
message
port=$(free_port)
eval "TCPREMOTEIP=192.0.2.1 timeout 60 '$BIN/smtp-proxyd' -h proxy.test -- '$BIN/smtp-forward' -c 2 127.0.0.1 $port" \
  < "$T/in" > "$T/out" 2> "$T/err"
grep -q '^451 4\.4\.1' "$T/out" || { cat "$T/out"; fail "smarthost down: no 451 4.4.1"; }
line transaction | grep -q ' result=unavailable ' || fail "smarthost down: $(line transaction)"
ok "the smarthost down: result=unavailable"

# A dry run: what the filter would refuse is logged, the mail goes on.
message 'Message-ID: <dry@example.org>'
rm -rf "$T/host"/msg.*
proxy_pipe "$T/in" { -d -n rules "$F/act" rcpt,eom reject } { -d -n tagger "$F/act" eom header X-Dry yes } --
[ "$(stored)" = 1 ] || { cat "$T/out"; fail "dry run: not delivered"; }
grep -q '^X-Dry:' "$T/host"/msg.* && fail "dry run: a header field of a dry filter was added"
grep -Eq "^smtp-proxyd: info: would-reject conn=[0-9a-f]{16}-[0-9]+ n=1 filter=rules event=rcpt verdict=reject code=550 text=\"5\.7\.1 Refused by the test filter\"\$" "$T/err" ||
  { cat "$T/err"; fail "no would-reject line for rcpt"; }
grep -q "would-reject .* filter=rules event=eom " "$T/err" || fail "no would-reject line for eom"
line transaction | grep -q ' filters=rules:rcpt:would-reject,rules:eom:would-reject .* result=delivered ' ||
  fail "dry run: $(line transaction)"
ok "a dry-run filter (-d): its rejects at rcpt and eom logged as would-reject with code and text, the message delivered, its header field not added"

# A dry-run filter that fails does not refuse either.
message
rm -rf "$T/host"/msg.*
proxy_pipe "$T/in" { -d -p tempfail "$F/act" rcpt crash } --
[ "$(stored)" = 1 ] || fail "a failing dry-run filter refused the mail"
line transaction | grep -q 'filters=act:rcpt:failed-accept' || fail "failing dry run: $(line transaction)"
ok "a dry-run filter that crashes: logged failed-accept, the mail delivered"

# A filter killed at its timeout: what it started dies with it.
cat > "$T/spawner" <<EOT
#!/bin/sh
read -r hello
echo "filter 1 mail"
sleep 300 &
echo \$! > "$T/grandchild"
read -r ev
exec sleep 300
EOT
chmod +x "$T/spawner"
message
proxy_pipe "$T/in" { -t 1 -p tempfail "$T/spawner" } --
[ -s "$T/grandchild" ] || fail "the filter did not start its child"
g=$(cat "$T/grandchild")
PIDS="$PIDS $g"
grep -q 'filter spawner failed at mail: timeout' "$T/err" || { cat "$T/err"; fail "no timeout"; }
wait_for "! kill -0 $g 2>/dev/null" 5 || fail "the filter's child $g outlived the filter killed at its timeout"
ok "a filter killed at its timeout: its own child is killed with it (its process group)"
