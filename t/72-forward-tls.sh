# smtp-forward's TLS modes toward a smarthost that offers STARTTLS (the
# test smarthost with -S, doing TLS with smtp-tls -s): opportunistic takes
# it, off does not, required and verify take it; verify with a wrong host
# name or a CA that did not sign the certificate gives the client a 451
# and the log says why, and nothing goes to the smarthost in the clear.
. "$(dirname "$0")/lib.sh"
command -v openssl > /dev/null || skip "no openssl"

# A CA and a server certificate for localhost / 127.0.0.1 it signed; a
# second CA that signed nothing here.
test_ca ca
test_ca other
test_cert ca server /CN=localhost DNS:localhost,IP:127.0.0.1
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
# relay "HOST OPTIONS" "FORWARD OPTIONS": a fresh setup, one message sent.
relay() {
  setup "$1" "" "$2"
  send --to bob@example.net --from alice@example.org
}
# delivered WHAT [tls|clear]: the client got 250, the smarthost stored it
# once; over TLS (TLS 1.2 or 1.3, no MAIL before it), or with no STARTTLS.
delivered() {
  [ "$(final_code)" = 250 ] && [ "$(stored)" = 1 ] ||
    { cat "$T/swaks.out" "$T/PROXY.log"; fail "$1: not delivered"; }
  case ${2:-} in
    tls)
      case $(host_tls) in TLSv1.[23]\ *) ;; *) cat "$T"/host/log.*; fail "$1: not in TLS" ;; esac
      [ -z "$(mail_in_clear)" ] || fail "$1: MAIL in the clear" ;;
    clear) grep -q '^STARTTLS$' "$T"/host/log.* && fail "$1: STARTTLS sent" ;;
  esac
  return 0
}
# refused WHAT [WHY]: 451 4.4.1, nothing stored, no MAIL in the clear; and
# smtp-forward's warning for this connection ends in WHY if given.
refused() {
  saw '451 4\.4\.1'
  [ "$(stored)" = 0 ] || fail "$1: delivered"
  [ -z "$(mail_in_clear)" ] || fail "$1: MAIL in the clear"
  [ -z "${2:-}" ] ||
    grep -Eq "^smtp-forward: warning: conn=[0-9a-f]+-[0-9]+: TLS with smarthost 127\.0\.0\.1:[0-9]+ failed: $2\$" "$T/PROXY.log" ||
    { cat "$T/PROXY.log"; fail "$1: the log does not say '$2'"; }
}

# Opportunistic (the default): STARTTLS taken, the message goes in TLS.
relay "$HOST_TLS" ""
delivered opportunistic tls
grep -q '^STARTTLS$' "$T"/host/log.* || fail "opportunistic: no STARTTLS"
ok "smtp-forward, opportunistic, smarthost with STARTTLS: delivered in $(host_tls)"

# -T off: plaintext, even though it is offered.
relay "$HOST_TLS" "-T off"
delivered off clear
ok "smtp-forward -T off: delivered in plaintext, no STARTTLS"

# -T required: TLS, whatever the certificate.
relay "$HOST_TLS" "-T required"
delivered required tls
ok "smtp-forward -T required, smarthost with STARTTLS: delivered in $(host_tls)"

# -T verify: the chain against the CA and the name.
relay "$HOST_TLS" "-T verify -a $T/ca.pem -n localhost"
delivered verify tls
ok "smtp-forward -T verify -n localhost, a certificate its CA signed: delivered in $(host_tls)"

# -T verify with the smarthost's address as the name (the default when -n
# is not given is the host as given on the command line).
relay "$HOST_TLS" "-T verify -a $T/ca.pem"
delivered "verify by address" tls
ok "smtp-forward -T verify, name 127.0.0.1 (an IP in subjectAltName): delivered"

# A wrong host name, a CA that did not sign the certificate: 451 at MAIL,
# nothing in the clear, the log says why.
relay "$HOST_TLS" "-T verify -a $T/ca.pem -n mx.wrong.example"
refused "wrong host" "certificate verify failed: hostname mismatch"
ok "smtp-forward -T verify, wrong host name: 451 4.4.1, logged as a hostname mismatch"
relay "$HOST_TLS" "-T verify -a $T/other.pem -n localhost"
refused "unknown CA" "certificate verify failed: unable to get local issuer certificate"
ok "smtp-forward -T verify, unknown CA: 451 4.4.1, logged as no local issuer"

# Opportunistic does not verify: the wrong name still gets TLS, and mail.
relay "$HOST_TLS" "-a $T/other.pem -n mx.wrong.example"
delivered "opportunistic, unverified" tls
ok "smtp-forward, opportunistic, a certificate it cannot verify: delivered in TLS all the same"

# The smarthost's handshake fails (its key does not match its
# certificate): opportunistic tries once more, on a new connection, in
# plaintext, with a log line (smtp-forward(8)); required gives up: 451,
# nothing in the clear.
openssl req -newkey rsa:2048 -nodes -keyout "$T/stray.key" -out /dev/null -subj /CN=x 2> /dev/null ||
  fail "stray key"
BROKEN_TLS="-S $T/server.pem,$T/stray.key -L $BIN/smtp-tls"
relay "$BROKEN_TLS" ""
delivered "opportunistic fallback"
grep -q '^! tls fail' "$T"/host/log.* || fail "opportunistic fallback: the smarthost's TLS did not fail"
grep -q 'smtp-forward: .*trying again without TLS' "$T/PROXY.log" || fail "opportunistic fallback: not logged"
ok "smtp-forward, opportunistic, the smarthost's handshake fails: once more in plaintext, delivered, logged"

relay "$BROKEN_TLS" "-T required"
refused "required, broken TLS"
ok "smtp-forward -T required, the smarthost's handshake fails: 451 4.4.1, nothing in the clear"
