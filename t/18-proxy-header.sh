# smtp-proxyd -P: behind a load balancer, the PROXY header (v1 and v2)
# names the client for everything; anything else closes the connection
# with one log line and no greeting.  (t/69 runs the real HAProxy.)
. "$(dirname "$0")/lib.sh"
RECORD=$T/events; export RECORD
setup "" "-P 127.0.0.0/8 { $TOP/t/filters/v2 connect }"

# client HEADER-PERL-EXPR: send the header, then a whole message.
client() {
  perl -MIO::Socket::INET -e '
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => $ARGV[0]) or die;
    print $s eval $ARGV[1];
    my $g = <$s>; defined $g or exit 0; print $g;
    print $s "EHLO client.test\r\nMAIL FROM:<a\@example.org>\r\nRCPT TO:<b\@example.net>\r\nDATA\r\n";
    while (<$s>) { print; last if /^354/ || /^[45]/ }
    print $s "Subject: t\r\n\r\nbody\r\n.\r\nQUIT\r\n"; print while <$s>' "$PROXY_PORT" "$1" > "$T/client" 2>&1
}

client '"PROXY TCP4 192.0.2.77 192.0.2.25 4711 25\r\n"'
grep -q '^250 2.0.0 Ok: stored' "$T/client" || { cat "$T/client" "$T/PROXY.log"; fail "v1: not delivered"; }
grep -q '^connect 192.0.2.77 4711 192.0.2.25 25 -$' "$T/events" || { cat "$T/events"; fail "v1: the filter was not told the client"; }
grep -q '\[192.0.2.77\]' "$T"/host/msg.* || fail "v1: the Received field does not name the client"
logged 'transaction conn=[0-9a-f]+-[0-9]+ n=1 ip=192.0.2.77 '
ok "PROXY v1: the client of the header in the filters, the log and the Received field"

rm -f "$T"/host/* "$T/events"
v2='"\x0d\x0a\x0d\x0a\x00\x0d\x0a\x51\x55\x49\x54\x0a\x21\x11\x00\x0c" . pack("C4C4nn", 198,51,100,9, 192,0,2,25, 5555, 25)'
client "$v2"
grep -q '^250 2.0.0 Ok: stored' "$T/client" || { cat "$T/client" "$T/PROXY.log"; fail "v2: not delivered"; }
grep -q '^connect 198.51.100.9 5555 192.0.2.25 25 -$' "$T/events" || { cat "$T/events"; fail "v2: the filter was not told the client"; }
ok "PROXY v2: the same"

for bad in '"GARBAGE instead\r\n"' '"PROXY TCP4 192.0.2.77 192.0.2.25 4711"' '"\x0d\x0a\x0d\x0a\x00\x0d\x0a\x51\x55\x49\x54\x0a\x21\x11\x00\x0c\xc0"'; do
  : > "$T/PROXY.log"; rm -f "$T"/host/*
  client "$bad"
  grep -q '^220' "$T/client" && fail "a bad header ($bad) got a greeting"
  [ "$(stored)" = 0 ] || fail "a bad header: something was relayed"
  wait_for "grep -q 'reason=\"PROXY header: ' '$T/PROXY.log'" 8 || { cat "$T/PROXY.log"; fail "a bad header ($bad): no log line"; }
  [ "$(grep -c 'ip=127.0.0.1 ' "$T/PROXY.log")" = 1 ] || { cat "$T/PROXY.log"; fail "a bad header: not one log line"; }
done
ok "garbage, a truncated v1 and a truncated v2 header: closed, no greeting, one log line"

stop PROXY; : > "$T/PROXY.log"
serve_proxy -P 10.0.0.0/8 --
client '"PROXY TCP4 192.0.2.77 192.0.2.25 4711 25\r\n"'
grep -q '^220' "$T/client" && fail "an unlisted peer got a greeting"
logged 'reason="not a balancer of -P"'
ok "a connection from an address -P does not list: closed, one log line"
