# Sourced by t/19-esmtp.sh and t/73-esmtp-postfix.sh (after lib.sh): a
# client that speaks what swaks 20201014 cannot (MAIL and RCPT parameters,
# UTF-8 addresses, BDAT), by scripts of raw octets.

# session PORT FILE: connect to 127.0.0.1:PORT, read the greeting, send
# FILE's octets in one go (a whole session, pipelined, QUIT at its end),
# then read every reply until the server closes.  The replies go to
# $T/replies, one line each without CR; $T/codes has the last line of
# each reply (the greeting's first).
session() {
  perl -MIO::Socket::INET -e '
    my ($port, $file) = @ARGV;
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => $port, Timeout => 10)
      or die "connect: $!\n";
    open my $f, "<", $file or die "$file: $!\n";
    binmode $f; my $d = do { local $/; <$f> };
    $SIG{ALRM} = sub { print "!timeout\n"; exit 1 };
    alarm 60;
    my $g = <$s>;
    print $g;
    print $s $d;
    while (my $l = <$s>) { print $l }
  ' "$1" "$2" | tr -d '\r' > "$T/replies"
  grep -E '^[0-9]{3} ' "$T/replies" > "$T/codes"
}

# reply N: the last line of the Nth reply (1 is the greeting).
reply() { sed -n "${1}p" "$T/codes"; }

# expect_reply N PATTERN WHAT: the Nth reply matches the extended regex.
expect_reply() {
  reply "$1" | grep -Eq "$2" || { cat "$T/replies"; fail "$3: reply $1 is '$(reply "$1")', want $2"; }
}

# script LINES...: a session file from lines, each ended with CRLF;
# \NNN octal escapes are expanded (printf %b).
script() {
  : > "$T/script"
  for _l in "$@"; do printf '%b\r\n' "$_l" >> "$T/script"; done
}

# chunk N: N octets of message (CRLF lines of 64 octets, the last one
# shorter), on stdout.
chunk() {
  perl -e 'my $n = shift; my $line = ("x" x 62) . "\r\n"; my $o = "";
           $o .= $line while length($o) + 64 <= $n; $o .= "y" x ($n - length $o); print $o' "$1"
}

# bdat_script MSGFILE K [last0] [ENVELOPE LINES...]: $T/script with EHLO,
# the envelope lines, then MSGFILE in K chunks of BDAT (cut anywhere, a
# CRLF too), the last with LAST, or all without and then "BDAT 0 LAST"
# when the third argument is last0; then QUIT.
bdat_script() {
  _msg=$1 _k=$2 _last=$3; shift 3
  script "EHLO client.test" "$@"
  perl -e '
    my ($file, $k, $last0) = @ARGV;
    open my $f, "<", $file or die; binmode $f; local $/; my $m = <$f>;
    my $n = length $m; my $at = 0;
    for my $i (1 .. $k) {
      my $len = int($n * $i / $k) - $at;
      my $is_last = $i == $k && !$last0;
      printf "BDAT %d%s\r\n", $len, $is_last ? " LAST" : "";
      print substr($m, $at, $len);
      $at += $len;
    }
    print "BDAT 0 LAST\r\n" if $last0;
    print "QUIT\r\n";
  ' "$_msg" "$_k" "$_last" >> "$T/script"
}
