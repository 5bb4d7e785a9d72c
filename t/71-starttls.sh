# STARTTLS in smtp-proxyd (RFC 3207) with real peers: openssl s_client
# and swaks; the plaintext pipelined after STARTTLS is never executed; a
# broken handshake ends only that session; a key that cannot be read
# refuses the start; -T refuses MAIL in the clear; filters see a tls event.
. "$(dirname "$0")/lib.sh"
command -v openssl > /dev/null || skip "no openssl"
perl -MIO::Socket::SSL -e 1 2> /dev/null || skip "no IO::Socket::SSL"
F=$TOP/t/filters

# A CA, and a server certificate for localhost / 127.0.0.1 it signed.
test_ca ca
test_cert ca server /CN=localhost DNS:localhost,IP:127.0.0.1
TLS="-c $T/server.pem -k $T/server.key"

# swaks --tls: the message goes through, in TLS 1.3; STARTTLS is offered
# before and not after; the log and Received say so.
setup "" "$TLS"
send --tls --to bob@example.net --from alice@example.org || { cat "$T/swaks.out"; fail "swaks --tls"; }
[ "$(final_code)" = 250 ] && [ "$(stored)" = 1 ] || fail "swaks --tls: not delivered"
grep -q '^<-  250-STARTTLS' "$T/swaks.out" || fail "STARTTLS not offered"
grep -q '^<~  250-STARTTLS' "$T/swaks.out" && fail "STARTTLS offered again inside TLS"
grep -q '^=== TLS started with cipher TLSv1.3' "$T/swaks.out" || fail "not TLS 1.3"
logged 'result=delivered.*' && grep -q 'transaction .*tls=TLSv1.3 cipher=' "$T/PROXY.log" || fail "log"
grep -q 'with ESMTPS id' "$T"/host/msg.* || fail "Received: not ESMTPS"
grep -q '(using TLSv1.3 with cipher' "$T"/host/msg.* || fail "Received: no cipher"
ok "swaks --tls: delivered over TLS 1.3; STARTTLS offered once; ESMTPS in Received"

# openssl s_client -starttls smtp, the session typed through it.
rm -f "$T"/host/*
{ printf 'EHLO client.test\nMAIL FROM:<alice@example.org>\nRCPT TO:<bob@example.net>\nDATA\n'
  printf 'Subject: through s_client\n\nhello\n.\n'; sleep 1; printf 'QUIT\n'; sleep 1; } |
  timeout 20 openssl s_client -quiet -crlf -starttls smtp -CAfile "$T/ca.pem" \
    -verify_return_error -connect 127.0.0.1:"$PROXY_PORT" > "$T/sclient.out" 2> "$T/sclient.err"
grep -q '^250 2.0.0 Ok: stored' "$T/sclient.out" || { cat "$T/sclient.out" "$T/sclient.err"; fail "s_client"; }
grep -q '^221' "$T/sclient.out" || fail "s_client: no 221"
grep -q 'verify return:1' "$T/sclient.err" || fail "s_client: the certificate did not verify"
[ "$(stored)" = 1 ] || fail "s_client: not stored"
ok "openssl s_client -starttls smtp: verified chain, delivered, 221"

# The injection of CVE-2011-0411: commands sent in the clear right after
# STARTTLS, in the same packet, must not be executed inside TLS.
cat > "$T/inject.pl" <<'EOT'
use IO::Socket::INET; use IO::Socket::SSL;
my ($port, $ca) = @ARGV;
my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Timeout => 10) or die "connect: $!";
sub reply { my $r = ''; while (my $l = <$s>) { $r .= $l; last if $l =~ /^\d\d\d /; } return $r; }
reply();
print $s "EHLO inject.test\r\n"; reply();
print $s "STARTTLS\r\nMAIL FROM:<mallory\@example.org>\r\n";    # one write
my $r = reply(); $r =~ /^220 / or die "STARTTLS: $r";
IO::Socket::SSL->start_SSL($s, SSL_ca_file => $ca, SSL_verifycn_name => 'localhost',
  SSL_verify_mode => SSL_VERIFY_PEER) or die "TLS: " . IO::Socket::SSL::errstr();
print $s "EHLO inject.test\r\n"; reply();
print $s "RCPT TO:<bob\@example.net>\r\n"; print reply();     # no MAIL inside TLS: 503
print $s "QUIT\r\n"; reply();
EOT
setup "" "$TLS"
timeout 20 perl "$T/inject.pl" "$PROXY_PORT" "$T/ca.pem" > "$T/inject.out" 2>&1 || { cat "$T/inject.out"; fail "inject client"; }
grep -q '^503 5.5.1' "$T/inject.out" || { cat "$T/inject.out"; fail "the injected MAIL was executed inside TLS"; }
logged 'discarded [0-9]+ octets sent after STARTTLS'
grep -q mallory "$T/PROXY.log" "$T"/host/log.* 2>/dev/null && fail "the injected sender reached the log or the smarthost"
ok "plaintext pipelined after STARTTLS: discarded (logged), never executed inside TLS"

# A client that drops in the middle of the handshake: that session ends,
# with a log line; the server goes on.
cat > "$T/drop.pl" <<'EOT'
use IO::Socket::INET;
my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$ARGV[0]", Timeout => 10) or die;
sub reply { my $r = ''; while (my $l = <$s>) { $r .= $l; last if $l =~ /^\d\d\d /; } return $r; }
reply(); print $s "EHLO drop.test\r\n"; reply(); print $s "STARTTLS\r\n"; reply();
syswrite $s, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03";    # half a ClientHello
close $s;
EOT
: > "$T/PROXY.log"
timeout 10 perl "$T/drop.pl" "$PROXY_PORT" || fail "drop client"
logged 'TLS handshake with 127.0.0.1 failed'
logged 'reason="tls failed"'
# smtp-tls's own warning names the connection, as the proxy's end line does.
conn=$(sed -n 's/.* end conn=\([0-9a-f-]*\) .*reason="tls failed".*/\1/p' "$T/PROXY.log" | head -n 1)
logged "^smtp-tls: warning: conn=$conn: handshake with 127\\.0\\.0\\.1"
send --tls --to bob@example.net --from alice@example.org || fail "the next session after a broken handshake"
ok "a client dropping mid-handshake: its session ends with a log line, the next one works"

# A key that cannot be read refuses the start, with one line.
"$BIN/smtp-proxyd" -c "$T/server.pem" -k "$T/missing.key" -- "$BIN/smtp-forward" 127.0.0.1 1 \
  < /dev/null > "$T/out" 2> "$T/err"
[ $? = 100 ] || fail "missing key: exit not 100"
grep -q "smtp-proxyd: fatal: unable to read the TLS key $T/missing.key: No such file" "$T/err" ||
  { cat "$T/err"; fail "missing key: message"; }
[ -s "$T/out" ] && fail "missing key: spoke to the client"
"$BIN/smtp-proxyd" -c "$T/server.pem" -- "$BIN/smtp-forward" 127.0.0.1 1 < /dev/null 2> "$T/err"
[ $? = 100 ] && grep -q 'needs both a certificate and a key' "$T/err" || fail "certificate without key"
ok "a missing or unreadable key, or a certificate alone: refused at start with a clear line"

# A client certificate with a long subject (as OV/EV certificates have):
# reported, cut if need be, and the session goes on.
test_cert ca long "/jurisdictionC=US/jurisdictionST=Delaware/businessCategory=Private Organization/serialNumber=1234567/C=US/ST=California/L=San Francisco/O=Example Widgets International Holdings Incorporated/OU=Mail Operations Department Europe Middle East Africa/CN=client.example"
setup "" "-V -a $T/ca.pem $TLS"
{ printf 'EHLO client.test\nQUIT\n'; sleep 1; } |
  timeout 20 openssl s_client -quiet -crlf -starttls smtp -cert "$T/long.pem" -key "$T/long.key" \
    -connect 127.0.0.1:"$PROXY_PORT" > "$T/sclient.out" 2> "$T/sclient.err"
grep -q '^221' "$T/sclient.out" || { cat "$T/sclient.out" "$T/PROXY.log"; fail "long subject: session broken"; }
logged 'end .* peer="CN=client.example.*jurisdictionC=US"'
ok "a client certificate with a 266-octet subject: reported in the log, the session goes on"

# -T: no MAIL in the clear; the tls event reaches the filters.
setup "" "-T $TLS"
send --to bob@example.net --from alice@example.org
saw '530 5.7.0 Must issue a STARTTLS command first'
[ "$(stored)" = 0 ] || fail "-T: relayed in the clear"
export RECORD="$T/events"
setup "" "-T $TLS { $F/act - none }"
send --tls --to bob@example.net --from alice@example.org || fail "-T with TLS"
unset RECORD
grep -q '^tls TLSv1.3 TLS_[A-Z0-9_]* - -$' "$T/events" || { cat "$T/events"; fail "no tls event"; }
ok "-T refuses MAIL in the clear (530 5.7.0); with TLS it goes, and filters get the tls event"

# smtp-forward -T required toward a smarthost without STARTTLS: 451 to the
# client, never plaintext.
setup "" "" "-T required"
send --to bob@example.net --from alice@example.org
saw '451 4.4.1'
[ "$(stored)" = 0 ] || fail "required: relayed in plaintext"
grep -q 'does not offer STARTTLS, and TLS is required' "$T/PROXY.log" || fail "required: log"
grep -q '^MAIL' "$T"/host/log.* && fail "required: MAIL went in plaintext"
ok "smtp-forward -T required, smarthost without STARTTLS: 451 4.4.1, nothing in plaintext"
