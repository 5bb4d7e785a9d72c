# The pregreet test (-g) and the tarpit (-y) of smtp-proxyd.
. "$(dirname "$0")/lib.sh"
RECORD=$T/events; export RECORD
setup "" "-g 800 -y 1 { $TOP/t/filters/v2 connect }"

# An early talker: EHLO before the greeting.
perl -MIO::Socket::INET -e '
  my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => $ARGV[0]) or die;
  print $s "EHLO bot.example\r\nMAIL FROM:<bot\@example.org>\r\n";
  my $t = time; while (<$s>) { print; last if time - $t > 5 || /^503/ }
  print $s "QUIT\r\n"; while (<$s>) { print } ' "$PROXY_PORT" > "$T/bot" 2>&1
grep -q '^554 5.5.1 Protocol error: talked before the greeting' "$T/bot" || { cat "$T/bot"; fail "early talker: no 554"; }
grep -q '^220' "$T/bot" && fail "early talker: got a 220"
grep -q '^503' "$T/bot" || { cat "$T/bot"; fail "early talker: its commands were not refused"; }
logged 'early-talker conn=[0-9a-f]+-[0-9]+ ip=127.0.0.1 octets=[0-9]+ said="EHLO bot.example'
[ -s "$T/events" ] && { cat "$T/events"; fail "early talker: a filter was started for it"; }
ok "a client that talks before the greeting: 554, 503 to its commands, logged, no filter started"

# A patient client (swaks waits for the greeting) is not affected.
send --from alice@example.org --to bob@example.net
[ "$(final_code)" = 250 ] || { cat "$T/swaks.out"; fail "patient client: $(final_code)"; }
[ "$(stored)" = 1 ] || fail "patient client: not stored"
grep -q '^connect 127.0.0.1 ' "$T/events" || fail "patient client: the filter was not asked"
ok "a client that waits for the greeting: its filters asked, delivered"

# The tarpit: past one error, each error reply waits a second more.
start=$(date +%s.%N)
perl -MIO::Socket::INET -e '
  my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => $ARGV[0]) or die;
  my $g = <$s>; print $s "EHLO c.example\r\n"; while (<$s>) { last if /^250 / }
  for (1 .. 3) { print $s "BOGUS\r\n"; my $r = <$s>; print $r }
  print $s "QUIT\r\n"; <$s>' "$PROXY_PORT" > "$T/tar" 2>&1
took=$(perl -e "print $(date +%s.%N) - $start")
[ "$(grep -c '^500' "$T/tar")" = 3 ] || { cat "$T/tar"; fail "tarpit: not three 500s"; }
perl -e "exit !($took >= 2.8 && $took < 8)" || fail "tarpit: three errors took $took s, not 1 + 2 s"
ok "the tarpit, -y 1: three bad commands take $took s (0, 1 and 2 s more)"
