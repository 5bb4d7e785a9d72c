# SMTP smuggling: every combination of CR, LF and CRLF around a dot that is
# not CRLF "." CRLF must neither end the data nor let a second message
# through.  The message is refused (554 5.6.0) and nothing reaches the
# smarthost; the smuggled sender is never seen anywhere.
. "$(dirname "$0")/lib.sh"
setup ""
n=0
for before in '\r' '\n' '\r\n'; do
  for after in '\r' '\n' '\r\n'; do
    [ "$before$after" = '\r\n\r\n' ] && continue
    rm -f "$T"/host/*
    {
      printf 'EHLO client.test\r\nMAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.net>\r\nDATA\r\n'
      printf 'Subject: hello\r\n\r\nfirst message'
      printf "$before.$after"
      printf 'MAIL FROM:<mallory@example.org>\r\nRCPT TO:<bob@example.net>\r\nDATA\r\n'
      printf 'Subject: smuggled\r\n\r\nevil\r\n.\r\nQUIT\r\n'
    } > "$T/in"
    proxy_pipe "$T/in"
    case=$(printf '%s.%s' "$before" "$after")
    grep -q '^554 5.6.0' "$T/out" || { cat "$T/out"; fail "$case: not refused"; }
    [ "$(stored)" = 0 ] || fail "$case: a message reached the smarthost"
    grep -q mallory "$T"/host/log.* "$T/err" 2>/dev/null && fail "$case: the smuggled sender was seen"
    grep -q '^221' "$T/out" || fail "$case: QUIT after the real end was not taken"
    n=$((n + 1))
    ok "smuggling $case: refused with 554 5.6.0, nothing relayed"
  done
done
[ $n = 8 ] || fail "only $n variants"

# A NUL byte in a command is refused; in the body it is data (8-bit clean).
printf 'EHLO client.test\r\nNO\000OP\r\nQUIT\r\n' > "$T/in"
proxy_pipe "$T/in"
grep -q '^500 5.5.2' "$T/out" || fail "NUL in a command"
ok "NUL byte in a command: 500"
