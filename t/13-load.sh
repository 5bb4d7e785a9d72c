# 1,000 messages from smtp-source over 20 parallel sessions, through
# tcpserver + smtp-proxyd + smtp-forward, all reach smtp-sink.
. "$(dirname "$0")/lib.sh"
command -v smtp-source >/dev/null || skip "no smtp-source"
SINK_PORT=$(free_port)
smtp-sink -c -u nobody 127.0.0.1:"$SINK_PORT" 256 > "$T/sink.out" 2>&1 &
PIDS="$PIDS $!"
HOST_PORT=$SINK_PORT
wait_for "perl -MIO::Socket::INET -e 'IO::Socket::INET->new(PeerAddr => \"127.0.0.1:$SINK_PORT\") or exit 1'" 10 ||
  fail "smtp-sink did not start"
serve_proxy
smtp-source -s 20 -m 1000 -l 5000 -f alice@example.org -t bob@example.net \
  127.0.0.1:"$PROXY_PORT" || fail "smtp-source failed"
count() { tr '\r' '\n' < "$T/sink.out" | sed -n 's/.*mesg=\([0-9]*\).*/\1/p' | tail -n 1; }
wait_for '[ "$(count)" = 1000 ]' 10 || fail "smtp-sink counted $(count) messages"
delivered=$(grep -c 'result=delivered' "$T/PROXY.log")
[ "$delivered" = 1000 ] || fail "the proxy logged $delivered deliveries"
ok "1000 messages in 20 sessions: smtp-sink counted 1000, the proxy logged 1000 deliveries"
