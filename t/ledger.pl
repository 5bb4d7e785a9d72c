#!/usr/bin/perl
# ledger.pl: an SMTP client that keeps books.  It sends MESSAGES messages
# over CONNS connections in parallel (one process each), and writes one
# ledger line per attempt with every reply it got, so that a checker can
# compare what the client was told with what the smarthost stored.
#
#   perl t/ledger.pl [-c conns] [-n messages] [-s seed] [-r resend-percent]
#                    [-p pause-ms] [-t reply-timeout] [-T total-timeout]
#                    host port ledger
#
# Message i (0 <= i < messages) goes from <m.SEED.i@ledger.test> to one to
# three recipients <r.SEED.i.k@ledger.test>, with Message-ID
# <L.SEED.i@ledger.test> and a body made from the seed and i: some
# kilobytes, lines that start with dots.  Connection c sends messages c,
# c + conns, ..., on one connection while it lasts, with PIPELINING (MAIL,
# the RCPTs and DATA in one write); a connection the server closed is
# opened again for the next message.  A transaction that did not end in
# a final reply gets RSET.  With -r, a message the smarthost stored for
# every recipient is sent again at once, on the same connection, that
# percentage of times (the same Message-ID, envelope and body: a duplicate
# for smtp-dupcheck).  With -p, each connection waits that many
# milliseconds after each message (to spread them over time).
#
# Ledger lines, one per attempt, fields separated by one space:
#   i attempt md5 mail=CODE rcpt=CODE,CODE,... data=CODE eod=CODE text
# attempt is 1, or 2 for a resend; md5 is that of the message as the
# smarthost must store it (no Received field: run the proxy with -R);
# CODE is the reply code, "-" when the command was not reached, 000 when
# the connection ended instead of a reply, "tmo" when no reply came within
# the reply timeout (a hang); text is the final reply's text (the rest of
# the line).  The ledger is written by each connection to LEDGER.c, then
# gathered into LEDGER.  Exit 0 when every connection finished, else 1.
use strict;
use warnings;
use IO::Socket::INET;
use IO::Select;
use Digest::MD5 qw(md5_hex);
use Getopt::Std;
use POSIX qw(_exit);
use Time::HiRes qw(time);

my %o = (c => 10, n => 100, s => 1, r => 0, p => 0, t => 60, T => 600);
getopts('c:n:s:r:p:t:T:', \%o) && @ARGV == 3 or die "usage: ledger.pl [-c conns] [-n messages] [-s seed] [-r resend%] [-p ms] [-t secs] [-T secs] host port ledger\n";
my ($host, $port, $ledger) = @ARGV;
my ($conns, $messages, $seed) = @o{qw(c n s)};
$SIG{PIPE} = 'IGNORE';
my $total_deadline = time + $o{T};

# The message i: deterministic from the seed.
sub message {
  my ($i) = @_;
  srand($seed * 1000003 + $i);
  my $nrcpt = 1 + int rand 3;
  my @rcpt = map { "r.$seed.$i.$_\@ledger.test" } 1 .. $nrcpt;
  my $msg = "Message-ID: <L.$seed.$i\@ledger.test>\r\nSubject: ledger $seed $i\r\n"
          . "From: <m.$seed.$i\@ledger.test>\r\n\r\n";
  my $lines = 5 + int rand 200;
  for my $l (1 .. $lines) {
    my $r = rand;
    my $line = join '', map { chr(32 + int rand 95) } 1 .. int rand 100;
    $line = ".$line" if $r < 0.08;
    $line = "." if $r > 0.99;
    $msg .= "$line\r\n";
  }
  return ("m.$seed.$i\@ledger.test", \@rcpt, $msg);
}

sub stuffed { my $m = shift; $m =~ s/^\./../mg; $m . ".\r\n" }

# One connection's work.
sub worker {
  my ($c) = @_;
  open my $out, '>', "$ledger.$c" or die "$ledger.$c: $!";
  select((select($out), $| = 1)[0]);
  my ($sock, $sel, $buf) = (undef, undef, '');
  my $hung = 0;

  # One reply: its code and the text of its last line; 000 at the end of
  # the connection, tmo after the timeout.
  my $read_reply = sub {
    return ('000', 'no connection') unless $sock;
    my $deadline = time + $o{t};
    my $text = '';
    for (;;) {
      if ($buf =~ s/^([^\n]*)\n//) {
        my $line = $1;
        $line =~ s/\r$//;
        if ($line =~ /^(\d\d\d)([ -])(.*)$/) {
          $text = $3;
          return ($1, $text) if $2 eq ' ';
          next;
        }
        close $sock; $sock = undef;
        return ('000', "garbage: $line");
      }
      my $left = $deadline - time;
      if ($left <= 0 || !$sel->can_read($left)) {
        close $sock; $sock = undef; $hung++;
        return ('tmo', 'no reply in time');
      }
      my $n = sysread $sock, $buf, 65536, length $buf;
      unless ($n) {
        close $sock; $sock = undef;
        return ('000', 'connection closed');
      }
    }
  };
  my $send = sub {
    my ($data) = @_;
    return 0 unless $sock;
    my $off = 0;
    while ($off < length $data) {
      my $w = syswrite $sock, $data, 65536, $off;
      unless (defined $w && $w > 0) { close $sock; $sock = undef; return 0 }
      $off += $w;
    }
    return 1;
  };
  my $connect = sub {
    $buf = '';
    $sock = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port, Proto => 'tcp',
                                  Timeout => $o{t}) or return 0;
    $sel = IO::Select->new($sock);
    my ($code) = $read_reply->();
    if ($code ne '220') { close $sock if $sock; $sock = undef; return 0 }
    $send->("EHLO ledger.test\r\n");
    ($code) = $read_reply->();
    if ($code ne '250') { close $sock if $sock; $sock = undef; return 0 }
    return 1;
  };

  for (my $i = $c; $i < $messages; $i += $conns) {
    my ($from, $rcpt, $msg) = message($i);
    my $md5 = md5_hex($msg);
    my $resend = $o{r} && rand(100) < $o{r};
    for my $attempt (1, 2) {
      last if $attempt == 2 && !$resend;
      last if time > $total_deadline;
      my %r = (mail => '-', data => '-', eod => '-');
      my @rc = ('-') x @$rcpt;
      my $text = '';
      $connect->() unless $sock;
      if ($sock && $send->(join '', "MAIL FROM:<$from>\r\n",
                           (map { "RCPT TO:<$_>\r\n" } @$rcpt), "DATA\r\n")) {
        ($r{mail}, $text) = $read_reply->();
        for my $k (0 .. $#rc) { last unless $sock; ($rc[$k], $text) = $read_reply->() }
        ($r{data}, $text) = $read_reply->() if $sock;
        if ($r{data} eq '354') {
          $send->(stuffed($msg));
          ($r{eod}, $text) = $read_reply->();
        } elsif ($sock && $r{mail} =~ /^2/) {
          $send->("RSET\r\n");
          $read_reply->();
        }
      } else {
        $r{mail} = '000';
        $text = 'no connection';
      }
      $text =~ s/\s+/ /g;
      print $out join(' ', $i, $attempt, $md5, "mail=$r{mail}", 'rcpt=' . join(',', @rc),
                      "data=$r{data}", "eod=$r{eod}", $text), "\n";
      # 421 or a broken transaction: the server is closing; start again.
      if ($sock && grep { $_ eq '421' } $r{mail}, @rc, $r{data}, $r{eod}) {
        close $sock; $sock = undef;
      }
      last unless $r{eod} =~ /^2/ && $text =~ /stored/ && !grep { !/^2/ } @rc;
    }
    select undef, undef, undef, $o{p} / 1000 if $o{p};
  }
  if ($sock) { $send->("QUIT\r\n"); $read_reply->(); close $sock }
  close $out;
  _exit($hung ? 2 : 0);
}

my %kids;
for my $c (0 .. $conns - 1) {
  my $pid = fork;
  die "fork: $!" unless defined $pid;
  if (!$pid) { worker($c) }
  $kids{$pid} = $c;
}
my $bad = 0;
while (%kids) {
  my $pid = wait;
  last if $pid < 0;
  $bad++ if $?;
  delete $kids{$pid};
}
open my $all, '>', $ledger or die "$ledger: $!";
for my $c (0 .. $conns - 1) {
  open my $in, '<', "$ledger.$c" or next;
  print $all $_ while <$in>;
  close $in;
  unlink "$ledger.$c";
}
close $all;
exit($bad ? 1 : 0);
