# smtp-forward's TLS modes toward a smarthost that offers STARTTLS (the
# test smarthost with -S, doing TLS with smtp-tls -s): opportunistic takes
# it, off does not, required and verify take it; verify with a wrong host
# name or a CA that did not sign the certificate gives the client a 451
# and the log says why, and nothing goes to the smarthost in the clear.
. "$(dirname "$0")/lib.sh"
command -v openssl > /dev/null || skip "no openssl"

# A CA and a server certificate for localhost / 127.0.0.1 it signed; a
# second CA that signed nothing here.
cd "$T" || exit 1
for ca in ca other; do
  openssl req -x509 -newkey rsa:2048 -nodes -keyout $ca.key -out $ca.pem -days 2 \
    -subj "/CN=noqueue-test-$ca" 2> /dev/null || fail "CA $ca"
done
openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr \
  -subj /CN=localhost 2> /dev/null || fail "server key"
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > san.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
  -extfile san.ext -out server.pem 2> /dev/null || fail "server certificate"
cd "$TOP" || exit 1
HOST_TLS="-S $T/server.pem,$T/server.key -L $BIN/smtp-tls"
# The smarthost inherits descriptors 3 to 5, as a server under a busy
# supervisor may: its socketpair for smtp-tls then comes at 6 or 7, where
# smtp-tls wants the network, and must be moved out of the way.
exec 3< /dev/null 4< /dev/null 5< /dev/null

# The smarthost's transcript: its TLS line, and whether MAIL came before it.
host_tls() { cat "$T"/host/log.* 2>/dev/null | sed -n 's/^\* tls ok \([^ ]*\) \([^ ]*\).*/\1 \2/p' | head -n 1; }
mail_in_clear() {
  cat "$T"/host/log.* 2>/dev/null | awk '/^\* tls ok/ { tls = 1 } /^MAIL/ && !tls { print; exit }'
}

# Opportunistic (the default): STARTTLS taken, the message goes in TLS.
setup "$HOST_TLS" "" ""
send --to bob@example.net --from alice@example.org || { cat "$T/swaks.out"; fail "opportunistic"; }
[ "$(final_code)" = 250 ] && [ "$(stored)" = 1 ] || { cat "$T/swaks.out"; fail "opportunistic: not delivered"; }
grep -q '^STARTTLS$' "$T"/host/log.* || fail "opportunistic: no STARTTLS"
case $(host_tls) in TLSv1.[23]\ *) ;; *) cat "$T"/host/log.*; fail "opportunistic: no TLS at the smarthost" ;; esac
[ -z "$(mail_in_clear)" ] || fail "opportunistic: MAIL in the clear"
ok "smtp-forward, opportunistic, smarthost with STARTTLS: delivered in $(host_tls)"

# -T off: plaintext, even though it is offered.
setup "$HOST_TLS" "" "-T off"
send --to bob@example.net --from alice@example.org
[ "$(final_code)" = 250 ] && [ "$(stored)" = 1 ] || { cat "$T/swaks.out"; fail "off: not delivered"; }
grep -q '^STARTTLS$' "$T"/host/log.* && fail "off: STARTTLS sent"
ok "smtp-forward -T off: delivered in plaintext, no STARTTLS"

# -T required: TLS, whatever the certificate.
setup "$HOST_TLS" "" "-T required"
send --to bob@example.net --from alice@example.org
[ "$(final_code)" = 250 ] && [ "$(stored)" = 1 ] && [ -n "$(host_tls)" ] ||
  { cat "$T/swaks.out" "$T/PROXY.log"; fail "required: not delivered in TLS"; }
ok "smtp-forward -T required, smarthost with STARTTLS: delivered in $(host_tls)"

# -T verify: the chain against the CA and the name.
setup "$HOST_TLS" "" "-T verify -a $T/ca.pem -n localhost"
send --to bob@example.net --from alice@example.org
[ "$(final_code)" = 250 ] && [ "$(stored)" = 1 ] && [ -n "$(host_tls)" ] ||
  { cat "$T/swaks.out" "$T/PROXY.log"; fail "verify: not delivered"; }
ok "smtp-forward -T verify -n localhost, a certificate its CA signed: delivered in $(host_tls)"

# -T verify with the smarthost's address as the name (the default when -n
# is not given is the host as given on the command line).
setup "$HOST_TLS" "" "-T verify -a $T/ca.pem"
send --to bob@example.net --from alice@example.org
[ "$(final_code)" = 250 ] && [ "$(stored)" = 1 ] ||
  { cat "$T/swaks.out" "$T/PROXY.log"; fail "verify by address: not delivered"; }
ok "smtp-forward -T verify, name 127.0.0.1 (an IP in subjectAltName): delivered"

# A wrong host name: 451 at MAIL, nothing in the clear, the log says why.
setup "$HOST_TLS" "" "-T verify -a $T/ca.pem -n mx.wrong.example"
send --to bob@example.net --from alice@example.org
saw '451 4.4.1'
[ "$(stored)" = 0 ] || fail "wrong host: delivered"
[ -z "$(mail_in_clear)" ] || fail "wrong host: MAIL in the clear"
grep -Eq 'smtp-forward: .*(verif|certificate).*mx.wrong.example|mx.wrong.example.*(verif|certificate)' "$T/PROXY.log" ||
  { cat "$T/PROXY.log"; fail "wrong host: the log does not say why"; }
ok "smtp-forward -T verify, wrong host name: 451 4.4.1; log: $(grep -m1 'smtp-forward:' "$T/PROXY.log" | cut -c1-160)"

# A CA that did not sign the smarthost's certificate: the same.
setup "$HOST_TLS" "" "-T verify -a $T/other.pem -n localhost"
send --to bob@example.net --from alice@example.org
saw '451 4.4.1'
[ "$(stored)" = 0 ] || fail "unknown CA: delivered"
[ -z "$(mail_in_clear)" ] || fail "unknown CA: MAIL in the clear"
grep -q 'smtp-forward: .*certificate' "$T/PROXY.log" || { cat "$T/PROXY.log"; fail "unknown CA: the log does not say why"; }
ok "smtp-forward -T verify, unknown CA: 451 4.4.1; log: $(grep -m1 'smtp-forward:' "$T/PROXY.log" | cut -c1-160)"

# Opportunistic does not verify: the wrong name still gets TLS, and mail.
setup "$HOST_TLS" "" "-a $T/other.pem -n mx.wrong.example"
send --to bob@example.net --from alice@example.org
[ "$(final_code)" = 250 ] && [ "$(stored)" = 1 ] && [ -n "$(host_tls)" ] ||
  { cat "$T/swaks.out" "$T/PROXY.log"; fail "opportunistic, unverified: not delivered in TLS"; }
ok "smtp-forward, opportunistic, a certificate it cannot verify: delivered in TLS all the same"

# The smarthost's handshake fails (its key does not match its
# certificate): opportunistic tries once more, on a new connection, in
# plaintext, with a log line (smtp-forward(8)); required gives up: 451,
# nothing in the clear.
cd "$T" || exit 1
openssl req -newkey rsa:2048 -nodes -keyout stray.key -out /dev/null -subj /CN=x 2> /dev/null || fail "stray key"
cd "$TOP" || exit 1
BROKEN_TLS="-S $T/server.pem,$T/stray.key -L $BIN/smtp-tls"
setup "$BROKEN_TLS" "" ""
send --to bob@example.net --from alice@example.org
[ "$(final_code)" = 250 ] && [ "$(stored)" = 1 ] || { cat "$T/swaks.out" "$T/PROXY.log"; fail "opportunistic fallback"; }
grep -q '^! tls fail' "$T"/host/log.* || fail "opportunistic fallback: the smarthost's TLS did not fail"
grep -q 'smtp-forward: .*trying again without TLS' "$T/PROXY.log" || fail "opportunistic fallback: not logged"
ok "smtp-forward, opportunistic, the smarthost's handshake fails: once more in plaintext, delivered, logged"

setup "$BROKEN_TLS" "" "-T required"
send --to bob@example.net --from alice@example.org
saw '451 4.4.1'
[ "$(stored)" = 0 ] || fail "required, broken TLS: delivered"
[ -z "$(mail_in_clear)" ] || fail "required, broken TLS: MAIL in the clear"
ok "smtp-forward -T required, the smarthost's handshake fails: 451 4.4.1, nothing in the clear"
