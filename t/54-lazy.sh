# Lazy starts: a filter block with -e EVENTS is started at the first of
# those events, not with the connection; the forwarder at the first
# recipient the filters let through.
. "$(dirname "$0")/lib.sh"
F=$TOP/t/filters
# Wrappers that say when they start, then run the real program.
# The filter's wrapper also has it record its events.
for w in filter forward; do
  printf '#!/bin/sh\necho started >> "%s/%s.started"\nRECORD=%s/events exec "$@"\n' "$T" "$w" "$T" > "$T/$w-wrap"
  chmod +x "$T/$w-wrap"
done
message() {   # message RCPT...: one transaction to $T/in
  { printf 'EHLO client.test\r\nMAIL FROM:<alice@example.org>\r\n'
    for r; do printf 'RCPT TO:<%s>\r\n' "$r"; done
    printf 'DATA\r\nSubject: lazy\r\n\r\nbody\r\n.\r\nQUIT\r\n'; } > "$T/in"
}
lazy_pipe() {  # lazy_pipe [filters]: the proxy on $T/in, the forwarder wrapped
  rm -f "$T/filter.started" "$T/forward.started" "$T/events"
  TCPREMOTEIP=192.0.2.1 TCPREMOTEPORT=4000 TCPLOCALIP=127.0.0.1 TCPLOCALPORT=25 \
    timeout 60 "$BIN/smtp-proxyd" -h proxy.test "$@" -- "$T/forward-wrap" "$BIN/smtp-forward" \
    -h proxy.test 127.0.0.1 "$HOST_PORT" < "$T/in" > "$T/out" 2> "$T/err"
}
setup ""

# Every recipient refused at RCPT: the body filter and the forwarder never start.
message bob@example.net carol@example.net
lazy_pipe { "$F/act" rcpt reject } { -e eom "$T/filter-wrap" "$F/act" - none }
[ ! -e "$T/filter.started" ] || fail "a filter of -e eom was started for a client refused at RCPT"
[ ! -e "$T/forward.started" ] || fail "the forwarder was started with no recipient let through"
grep -q ' result=norecipient ' "$T/err" || { cat "$T/err"; fail "not refused"; }
ok "every recipient refused: the -e eom filter and the forwarder never started"

# A message: the -e eom filter starts at the end of the data and is asked
# that alone (it would take every event); the forwarder at the RCPT.
message bob@example.net
lazy_pipe { -e eom "$T/filter-wrap" "$F/act" - none }
[ "$(stored)" = 1 ] || { cat "$T/out" "$T/err"; fail "not delivered"; }
[ "$(cat "$T/filter.started")" = started ] || fail "the -e eom filter did not start once"
[ "$(cut -d ' ' -f 1 "$T/events")" = eom ] || { cat "$T/events"; fail "the -e eom filter was asked more than eom"; }
[ -e "$T/forward.started" ] || fail "no forwarder"
grep -q ' filter_ms=filter-wrap:[0-9]* ' "$T/err" || { cat "$T/err"; fail "the late filter's time"; }
ok "a message: the -e eom filter started at the end of the data, asked eom only"

# -e naming events the filter does not take: only those it takes of them.
message bob@example.net
rm -rf "$T/host"/msg.*
lazy_pipe { -e mail,eom "$T/filter-wrap" "$F/think" mail 0 }
[ "$(stored)" = 1 ] || fail "-e mail,eom: not delivered"
[ "$(cut -d ' ' -f 1 "$T/events" | tr '\n' ' ')" = "mail eom " ] || { cat "$T/events"; fail "-e mail,eom: events"; }
ok "-e mail,eom: the filter is started at MAIL and asked mail and eom"

# A late filter that cannot start: its policy, at that event.
message bob@example.net
rm -rf "$T/host"/msg.*
lazy_pipe { -e rcpt -p tempfail /nonexistent/filter }
grep -q '^451 ' "$T/out" || { cat "$T/out"; fail "a late filter that cannot start: no 451"; }
[ "$(stored)" = 0 ] || fail "a late filter that cannot start: delivered"
grep -q 'filter filter failed at start: unable to start /nonexistent/filter' "$T/err" || { cat "$T/err"; fail "no warning"; }
ok "a -e rcpt filter that cannot start: its policy (tempfail) at RCPT, nothing delivered"

# A bad list: refused at start, named.
"$BIN/smtp-proxyd" { -e eom,bogus "$F/act" - none } -- "$BIN/smtp-forward" 127.0.0.1 1 < /dev/null > "$T/out" 2> "$T/err"
[ $? = 100 ] && grep -q '^smtp-proxyd: fatal: -e: bad list of events' "$T/err" || { cat "$T/err"; fail "bad -e"; }
ok "-e with an unknown event: exit 100, named"

# The spool and the scratch file are made when first needed: a spool
# directory that does not exist shows when.  Filters that all name their
# events and take no message, every recipient refused: no spool needed.
message bob@example.net
TCPREMOTEIP=192.0.2.1 timeout 60 "$BIN/smtp-proxyd" -h proxy.test -d "$T/nonexistent" \
  { -e rcpt "$F/act" rcpt reject } -- "$BIN/smtp-forward" 127.0.0.1 "$HOST_PORT" < "$T/in" > "$T/out" 2> "$T/err"
grep -q '^220 ' "$T/out" && grep -q '^550 ' "$T/out" && grep -q '^221 ' "$T/out" ||
  { cat "$T/out" "$T/err"; fail "a refused client needed a spool file"; }
grep -q 'spool' "$T/err" && { cat "$T/err"; fail "a refused client made a spool file"; }
ok "filters of -e that take no message, every recipient refused: no spool file made (a missing spool directory unnoticed)"
# The first recipient let through starts the forwarder: the spool is made
# then, and its failure is a 421 there.
TCPREMOTEIP=192.0.2.1 timeout 60 "$BIN/smtp-proxyd" -h proxy.test -d "$T/nonexistent" \
  -- "$BIN/smtp-forward" 127.0.0.1 "$HOST_PORT" < "$T/in" > "$T/out" 2> "$T/err"
grep -q '^220 ' "$T/out" && grep -q '^421 4\.3\.0' "$T/out" || { cat "$T/out"; fail "no 421 when the spool cannot be made"; }
grep -q "unable to create a spool file in $T/nonexistent" "$T/err" && grep -q 'reason="no spool"' "$T/err" ||
  { cat "$T/err"; fail "the spool's failure not logged"; }
ok "zero filters: the spool is made at the first recipient let through (the forwarder's start); a spool directory that does not exist: 421 4.3.0 there, logged"
# A filter without -e may read the message: the spool is made with it.
TCPREMOTEIP=192.0.2.1 timeout 60 "$BIN/smtp-proxyd" -h proxy.test -d "$T/nonexistent" \
  { "$F/act" rcpt reject } -- "$BIN/smtp-forward" 127.0.0.1 "$HOST_PORT" < "$T/in" > "$T/out" 2> "$T/err"
grep -q '^421 4\.3\.0' "$T/out" && ! grep -q '^220 ' "$T/out" || { cat "$T/out"; fail "a filter without -e started without a spool"; }
ok "a filter without -e: the spool made with the connection (421 before the greeting when it cannot be)"
