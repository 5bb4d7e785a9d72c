# The invariant: the client gets a 2xx after its data only when the
# smarthost accepted the whole message, whatever fails and wherever; and
# each failure gets the right class of reply.
. "$(dirname "$0")/lib.sh"
F=$TOP/t/filters
to=bob@example.net
from=alice@example.org
body="Subject: invariant

$(printf 'line %s of a message long enough to be cut in the middle\n' 1 2 3 4 5 6 7 8)"

# Smarthost down: nothing listens on its port.
stop HOST; HOST_PORT=$(free_port); serve_proxy
send --to $to --from $from
saw '451 4\.4\.1'; not_delivered "smarthost down"; logged 'result=unavailable'
# The forwarder's warning says which connection it is about: the conn= of
# the proxy's transaction line.
conn=$(sed -n 's/.* transaction conn=\([0-9a-f-]*\) .*/\1/p' "$T/PROXY.log" | head -n 1)
[ -n "$conn" ] && grep -q "^smtp-forward: warning: conn=$conn: .*unable to connect" "$T/PROXY.log" ||
  { cat "$T/PROXY.log"; fail "smarthost down: no warning of smtp-forward with conn=$conn"; }
ok "smarthost down: 451 4.4.1 at RCPT; the forwarder's warning carries the connection's conn=$conn"

# refused_at_rcpt "HOST OPTIONS" REPLY WHAT: the smarthost refuses before
# the data; the client sees REPLY (a regex) and delivers nothing.
refused_at_rcpt() {
  setup "$1"; send --to $to --from $from
  saw "$2"; not_delivered "$3"; ok "$3: $2"
}
# refused_after_data "HOST OPTIONS" "FORWARD OPTIONS" CODE WHAT
refused_after_data() {
  setup "$1" "" "$2"; send --to $to --from $from --data "$body"
  [ "$(final_code)" = "$3" ] || fail "$4: the client got $(final_code), not $3"
  # A smarthost slower than our timeout may still keep the message once
  # it answers; the client has it too and will retry: a duplicate, never
  # a loss.  Every other case must have stored nothing.
  case $2 in *-d*) ;; *) not_delivered "$4" ;; esac
  ok "$4: $3 after the data"
}

refused_at_rcpt "-g 554" '451 4\.4\.1' "smarthost refusing at connect (554)"
refused_at_rcpt "-g 421" '451 4\.4\.1' "smarthost refusing at connect (421)"
refused_at_rcpt "-M 550" '550' "smarthost refusing MAIL (550)"
refused_at_rcpt "-M 451" '451' "smarthost refusing MAIL (451)"

setup "-R nobody@example.net=550"; send --to nobody@example.net,$to --from $from
saw '550'; [ "$(final_code)" = 250 ] || fail "one RCPT refused: final $(final_code)"
[ "$(stored)" = 1 ] || fail "one RCPT refused: not stored"
grep -q "RCPT TO:<nobody@example.net>" "$T"/host/env.* && fail "refused recipient delivered"
grep -q "RCPT TO:<$to>" "$T"/host/env.* || fail "accepted recipient missing"
ok "smarthost refusing one RCPT: that one 550, the other delivered"

refused_at_rcpt "-R *=550" '550' "smarthost refusing every RCPT (550)"

# A smarthost that sends a reply nobody asked for (after MAIL) and then
# refuses every RCPT: the extra reply is never taken for the RCPT's.
refused_at_rcpt "-J MAIL -R *=550" '451 4\.4\.2' "smarthost speaking unasked"
grep -q 'spoke unasked' "$T/PROXY.log" || fail "unasked reply not logged"
refused_at_rcpt "-R *=452" '452' "smarthost refusing every RCPT (452)"
refused_after_data "-D 451" "" 451 "smarthost refusing DATA (451)"
refused_after_data "-D 554" "" 554 "smarthost refusing DATA (554)"
refused_after_data "-E 451" "" 451 "smarthost refusing at end of data (451)"
refused_after_data "-E 554" "" 554 "smarthost refusing at end of data (554)"
refused_after_data "-x 300" "" 451 "smarthost dropping the connection mid-body"
refused_after_data "-w 4000" "-d 1" 451 "smarthost slower than the end-of-data timeout"

# The client goes away in the middle of its data.
setup ""
crlf > "$T/in" <<EOT
EHLO client.test
MAIL FROM:<$from>
RCPT TO:<$to>
DATA
Subject: cut short

half a message
EOT
proxy_pipe "$T/in"
[ "$(stored)" = 0 ] || fail "client gone: stored"
grep -q 'result="disconnected in data"' "$T/err" || { cat "$T/err"; fail "client gone: log"; }
wait_for "grep -q '^QUIT' $T/host/log.*" 5 || fail "client gone: the smarthost saw no QUIT"
grep -q '^DATA' "$T"/host/log.* && fail "client gone: DATA reached the smarthost"
ok "client disconnecting mid-body: nothing at the smarthost, which saw no DATA"

# Failing filters under each policy.
for action in crash hang garbage; do
  for policy in accept tempfail required; do
    setup "" "{ -p $policy -t 1 $F/act eom $action }"
    send --to $to --from $from --data "$body"
    code=$(final_code)
    case $policy in
      accept)
        [ "$code" = 250 ] && [ "$(stored)" = 1 ] || fail "$action/$policy: $code"
        logged 'filters=act:eom:failed-accept' ;;
      *)
        [ "$code" = 451 ] || fail "$action/$policy: final $code"
        not_delivered "$action/$policy"
        logged 'filters=act:eom:failed-tempfail' ;;
    esac
    logged "filter act failed at eom"
    ok "filter that does $action at eom, policy $policy: $code"
  done
done

# A timeout under policy accept never turns a later reject into an accept.
setup "" "{ -p accept -t 1 $F/act eom hang } { $F/act eom reject }"
send --to $to --from $from --data "$body"
[ "$(final_code)" = 550 ] || fail "timeout then reject: $(final_code)"; not_delivered "t+r"
ok "a filter timing out (policy accept) does not undo a reject: 550"

# "accept" skips the rest of the chain, but never a required filter.
setup "" "{ $F/act eom accept } { $F/act eom reject }"
send --to $to --from $from --data "$body"
[ "$(final_code)" = 250 ] || fail "accept then reject: $(final_code)"
setup "" "{ $F/act eom accept } { -p required $F/act eom reject }"
send --to $to --from $from --data "$body"
[ "$(final_code)" = 550 ] || fail "accept then required reject: $(final_code)"; not_delivered "req"
ok "accept skips later filters, except a required one"
