#!/usr/bin/perl
# smuggle.pl: the SMTP smuggling cases of t/90-adversarial.sh, and a model
# of the session smtp-proxyd must hold with them, written from RFC 5321
# (and smtp-proxyd(8): a bare CR or LF refuses the message with 554) and
# independent of the project's code.
#
#   perl t/smuggle.pl gen DIR [cut]      write the cases, DIR/N.in, and DIR/N.what
#                                        (with "cut": DIR/N.cut, where to cut)
#   perl t/smuggle.pl check DIR HOSTDIR  compare each DIR/N.out (the proxy's
#                                        replies) and what the smarthost stored
#                                        with the model; print the differences
#   perl t/smuggle.pl drip FILE PAUSE OFFSET...   FILE to stdout in pieces
#                                        cut at the offsets, PAUSE seconds apart
#   perl t/smuggle.pl tcp PORT FILE PAUSE OFFSET...   the same over TCP to
#                                        127.0.0.1:PORT; the replies to stdout
#
# Every case is one session: EHLO, MAIL FROM:<alice+N@example.org>, RCPT,
# DATA, a message in which some bytes around a dot are what is tested,
# then a second transaction from <mallory+N@example.org> that must be data
# unless the model says the first message really ended before it, then
# the real end and QUIT.  The model gives the reply codes the client must
# get and the messages the smarthost must store (sender and bytes, the
# proxy run with -R); the smarthost's env files say which case each stored
# message came from (the +N in the sender).
use strict;
use warnings;
use Digest::MD5 qw(md5_hex);
use IO::Socket::INET;
use Socket qw(IPPROTO_TCP TCP_NODELAY);
use Time::HiRes qw(sleep time);

my $cmd = shift // '';

# --- the model ------------------------------------------------------------

# The proxy's session on INPUT: the codes of its final reply lines, and the
# messages relayed, as [sender, bytes].
sub model {
  my ($in) = @_;
  my @codes = (220);
  my @stored;
  my ($helo, $mail, $rcpts, $sender) = (0, 0, 0, '');
  my ($pos, $errors) = (0, 0);
  # smtp-proxyd -E 20 (the default): the 20th error gets its reply, then
  # 421 and the end.
  my $error = sub {
    push @codes, $_[0];
    if (++$errors == 20) { push @codes, 421; return 1 }
    return 0;
  };
  while ($pos < length $in) {
    my $lf = index $in, "\n", $pos;
    last if $lf < 0;                            # the end in mid-line
    my $line = substr $in, $pos, $lf - $pos + 1;
    $pos = $lf + 1;
    if (length $line > 1024 || $line !~ /\r\n\z/) { $error->(500) ? last : next }
    $line = substr $line, 0, -2;
    if ($line =~ /[\r\n]/ || $line =~ /[^\t\x20-\x7e]/) { $error->(500) ? last : next }
    my ($verb, $arg) = $line =~ /^([^ ]*)(?: (.*))?$/s;
    $verb = uc $verb;
    $arg //= '';
    if ($verb eq 'EHLO' || $verb eq 'HELO') {
      if ($arg eq '') { $error->(501) ? last : next }
      ($helo, $mail) = (1, 0);
      push @codes, 250;
    } elsif ($verb eq 'MAIL') {
      if (!$helo || $mail) { $error->(503) ? last : next }
      if ($arg !~ /^FROM:<([^<> ]*)>$/i) { $error->(501) ? last : next }
      ($mail, $rcpts, $sender) = (1, 0, $1);
      push @codes, 250;
    } elsif ($verb eq 'RCPT') {
      if (!$mail) { $error->(503) ? last : next }
      if ($arg !~ /^TO:<[^<> ]+>$/i) { $error->(501) ? last : next }
      $rcpts++;
      push @codes, 250;
    } elsif ($verb eq 'DATA') {
      if (!$mail) { $error->(503) ? last : next }
      if ($arg ne '') { $error->(501) ? last : next }
      if (!$rcpts) { push @codes, 554; next }
      push @codes, 354;
      # The data ends at the first CRLF "." CRLF, the CRLF ending the DATA
      # line counting as the first CRLF.
      my $rest = substr $in, $pos;
      my $end = index "\r\n$rest", "\r\n.\r\n";
      return (\@codes, \@stored) if $end < 0;   # disconnected in the data
      my $data = substr $rest, 0, $end;
      $pos += $end + 3;
      $mail = 0;
      if ($data =~ /\r(?!\n)/ || $data =~ /(?<!\r)\n/) { push @codes, 554; next }
      $data =~ s/^\.//mg;
      push @stored, [$sender, $data];
      push @codes, 250;
    } elsif ($verb eq 'RSET') {
      $mail = 0;
      push @codes, 250;
    } elsif ($verb eq 'NOOP') {
      push @codes, 250;
    } elsif ($verb eq 'QUIT') {
      push @codes, 221;
      last;
    } else {
      last if $error->(500);
    }
  }
  return (\@codes, \@stored);
}

sub slurp {
  my ($name) = @_;
  open my $fh, '<', $name or return undef;
  binmode $fh;
  local $/;
  my $t = <$fh>;
  close $fh;
  return $t;
}

sub spit {
  my ($name, $text) = @_;
  open my $fh, '>', $name or die "$name: $!";
  binmode $fh;
  print $fh $text;
  close $fh or die "$name: $!";
}

sub visible {
  my ($s) = @_;
  $s =~ s/([^\x21-\x7e])/sprintf '\\x%02x', ord $1/ge;
  return $s;
}

# --- the cases ------------------------------------------------------------

my $n = 0;
my $dir;

sub head { my ($k) = @_; "EHLO client.test\r\nMAIL FROM:<alice+$k\@example.org>\r\nRCPT TO:<bob\@example.net>\r\nDATA\r\n" }
sub smuggled {
  my ($k) = @_;
  "MAIL FROM:<mallory+$k\@example.org>\r\nRCPT TO:<bob\@example.net>\r\nDATA\r\n"
  . "Subject: smuggled\r\n\r\nevil\r\n.\r\n";
}
sub tail { "\r\n.\r\nQUIT\r\n" }

sub case {
  my ($what, $in) = @_;
  spit("$dir/$n.in", $in);
  spit("$dir/$n.what", "$what\n");
  $n++;
}

sub gen {
  my $set;
  ($dir, $set) = @_;
  -d $dir or mkdir $dir or die "$dir: $!";
  return gen_cut() if ($set // '') eq 'cut';

  # Every combination of what comes before and after one dot or two.
  my @before = ('', "\r", "\n", "\r\n", "\n\r", "\r\r\n", "\r\n\r", "\n\n", "\r\n\n", "\0\r\n");
  my @after = ('', "\r", "\n", "\r\n", "\n\r", "\r\r\n", "\r\n\r\n", " \r\n", "\0\r\n", "\r\0\n");
  for my $b (@before) {
    for my $dots ('.', '..') {
      for my $a (@after) {
        case('around the dot: ' . visible("$b$dots$a"),
             head($n) . "Subject: around\r\n\r\nfirst message" . $b . $dots . $a . smuggled($n) . tail());
      }
    }
  }

  # The same at the proxy's buffer boundaries: its input buffer is 64 KB
  # (the first read of a file takes 65536 octets, the next ones too) and
  # the body goes to the spool 32 KB at a time from where the data starts;
  # each variant of the end is cut there at every place.
  my @ends = ("\r\n.\r\n", "\r\n..\r\n", "\n.\r\n", "\r\n.\n", "\r.\r\n", "\r\n.\r", "\n.\n",
              "\r\n\r\n.\r\n");
  for my $boundary (65536, 131072, 'data+32768', 65536 + 32768) {
    for my $e (@ends) {
      for my $cut (0 .. length $e) {
        my $head = head($n);
        my $at = $boundary eq 'data+32768' ? length($head) + 32768 : $boundary;
        my $start = length($head) + length("Subject: boundary\r\n\r\n");
        my $fill = $at - $cut - $start;
        my $body = '';
        while (length($body) + 80 < $fill) { $body .= ('y' x 78) . "\r\n" }
        $body .= 'z' x ($fill - length $body);
        case(sprintf('at offset %d (%s), cut after %d octets: %s', $at, $boundary, $cut, visible($e)),
             $head . "Subject: boundary\r\n\r\n" . $body . $e . smuggled($n) . tail());
      }
    }
  }

  # Stuffed dots at the forwarder's 32 KB reads of the spool: a line that
  # is a lone dot, or starts with one, at every place around 32768 of the
  # message (-R: the spool is the message), must reach the smarthost
  # stuffed, or the smarthost would take the rest as commands.
  for my $mark ("\r\n.\r\n", "\r\n.x\r\n", "\r\n..\r\n") {
    for my $cut (0 .. length $mark) {
      my $head = head($n);
      my $subject = "Subject: spool\r\n\r\n";
      my $fill = 32768 - $cut - length $subject;
      my $body = '';
      while (length($body) + 80 < $fill) { $body .= ('w' x 78) . "\r\n" }
      $body .= 'v' x ($fill - length $body);
      (my $stuffed = $mark) =~ s/\r\n\./\r\n../;
      my $msg = $subject . $body . $stuffed . smuggled($n);
      $msg =~ s/\r\n\./\r\n../g;
      case(sprintf('a dot line at spool offset %d: %s', 32768 - $cut, visible($mark)),
           $head . $msg . tail());
    }
  }

  # Random mixtures, seeded: the same every run.
  srand(90);
  my @tokens = ("\r", "\n", "\r\n", ".", "..", "x", "\0", " ", "\r\n.\r\n", "\r\n..", ".\r\n",
                "RSET\r\n", "DATA\r\n", "\r\n.\n", "\n.\r\n");
  for (1 .. 150) {
    my $mix = join '', map { $tokens[rand @tokens] } 1 .. 1 + int rand 10;
    case('random: ' . visible($mix), head($n) . "Subject: random\r\n\r\nx" . $mix . smuggled($n) . tail());
  }
  print "$n\n";
}

# Cases to send in pieces (with "drip" or "tcp"): each variant of the end
# cut at each place, DIR/N.cut the offsets; the last one cut after every
# CR of its commands too, and between the two octets of every CRLF.
sub gen_cut {
  my @ends = ("\r\n.\r\n", "\r\n..\r\n", "\n.\r\n", "\r\n.\n", "\r.\r\n", "\r\n.\r", "\n.\n",
              "\r\n\r\n.\r\n", "\r\n\0.\r\n");
  for my $e (@ends) {
    for my $cut (0 .. length $e) {
      my $in = head($n) . "Subject: pieces\r\n\r\nfirst message";
      my $at = length($in) + $cut;
      spit("$dir/$n.cut", "$at\n");
      case(sprintf('cut after %d octets: %s', $cut, visible($e)), $in . $e . smuggled($n) . tail());
    }
  }
  my $in = head($n) . "Subject: pieces\r\n\r\nline\r\n..dot\r\n" . smuggled($n) . tail();
  my @at;
  while ($in =~ /\r/g) { push @at, pos $in }
  spit("$dir/$n.cut", "@at\n");
  case('every CRLF cut in two', $in);
  print "$n\n";
}

# --- checking -------------------------------------------------------------

sub check {
  my ($cases, $host) = @_;
  my (%got, @problems);
  opendir my $dh, $host or die "$host: $!";
  for my $f (sort readdir $dh) {
    next unless $f =~ /^env\.(\d+\.\d+)$/;
    my $key = $1;
    my $env = slurp("$host/$f");
    my ($sender) = $env =~ /^MAIL FROM:<(.*)>$/m;
    my ($k) = ($sender // '') =~ /\+(\d+)\@/;
    if (!defined $k) { push @problems, "$f: a sender from no case: " . visible($env); next }
    my $msg = slurp("$host/msg.$key");
    if (!defined $msg) { push @problems, "$f without its message"; next }
    push @{ $got{$k} }, [$sender, $msg, $key];
  }
  closedir $dh;
  my ($count, $relayed, $refused) = (0, 0, 0);
  for (my $k = 0; -e "$cases/$k.in"; $k++) {
    $count++;
    my $what = slurp("$cases/$k.what");
    chomp $what;
    my ($codes, $stored) = model(slurp("$cases/$k.in"));
    my $out = slurp("$cases/$k.out") // '';
    my @out = map { /^(\d\d\d) / ? $1 : () } split /\r?\n/, $out;
    my @bad;
    if ("@out" ne "@$codes") {
      my $d = 0;
      $d++ while $d < @out && $d < @$codes && $out[$d] eq $codes->[$d];
      my $from = $d > 3 ? $d - 3 : 0;
      push @bad, sprintf('%d replies, the model says %d; from reply %d: %s, the model: %s',
        scalar @out, scalar @$codes, $from + 1, join(' ', grep { defined } @out[$from .. $from + 8]),
        join(' ', grep { defined } @$codes[$from .. $from + 8]));
    }
    # Every message stored comes in order from this case's transactions.
    my @got = sort { $a->[2] cmp $b->[2] } @{ $got{$k} || [] };
    if (@got != @$stored) {
      push @bad, sprintf('the smarthost stored %d message(s) (%s), the model %d (%s)', scalar @got,
                         join(' ', map { "<$_->[0]>" } @got), scalar @$stored,
                         join(' ', map { "<$_->[0]>" } @$stored));
    } else {
      for my $i (0 .. $#got) {
        push @bad, "message $i from <$got[$i][0]>, the model says <$stored->[$i][0]>"
          if $got[$i][0] ne $stored->[$i][0];
        push @bad, "message $i (msg.$got[$i][2]) differs from the model"
          if md5_hex($got[$i][1]) ne md5_hex($stored->[$i][1]);
      }
    }
    my $first = $codes->[5] // '';
    $relayed++ if $first eq '250';
    $refused++ if $first eq '554';
    push @problems, map { "case $k ($what): $_" } @bad;
  }
  print "cases: $count; first message relayed $relayed, refused (bare CR/LF) $refused\n";
  print "PROBLEM: $_\n" for @problems;
  exit(@problems ? 1 : 0);
}

# --- sending in pieces ----------------------------------------------------

# Offsets are numbers, or A-B for every one from A to B.
sub pieces {
  my ($text, @spec) = @_;
  my @offsets = map { /^(\d+)-(\d+)$/ ? ($1 .. $2) : $_ } @spec;
  my ($at, @p) = (0);
  for my $o (sort { $a <=> $b } @offsets) {
    next if $o <= $at || $o >= length $text;
    push @p, substr($text, $at, $o - $at);
    $at = $o;
  }
  push @p, substr($text, $at);
  return @p;
}

if ($cmd eq 'gen') {
  gen(@ARGV);
} elsif ($cmd eq 'check') {
  check(@ARGV);
} elsif ($cmd eq 'drip') {
  my ($file, $pause, @offsets) = @ARGV;
  binmode STDOUT;
  $| = 1;
  my @p = pieces(slurp($file), @offsets);
  for my $i (0 .. $#p) {
    syswrite STDOUT, $p[$i] or exit 1;
    sleep $pause if $i < $#p;
  }
} elsif ($cmd eq 'tcp') {
  # The replies go to stdout; to stderr, each reply line with the seconds
  # since the connection, and when the proxy closed ("closed T") or
  # that it did not within 60 s ("open").
  my ($port, $file, $pause, @offsets) = @ARGV;
  my $start = time;
  my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Timeout => 10) or die "connect: $!";
  setsockopt($s, IPPROTO_TCP, TCP_NODELAY, 1);
  binmode $s;
  $SIG{PIPE} = 'IGNORE';
  my @p = pieces(slurp($file), @offsets);
  my ($replies, $seen, $closed) = ('', 0, 0);
  my $rin = '';
  vec($rin, fileno $s, 1) = 1;
  my $collect = sub {                   # what came, without waiting
    my ($wait) = @_;
    while (!$closed && select(my $rout = $rin, undef, undef, $wait) > 0) {
      my $k = sysread $s, $replies, 65536, length $replies;
      if (!$k) { $closed = time; last }
      while ((my $lf = index $replies, "\n", $seen) >= 0) {
        printf STDERR "t=%.2f %s\n", time - $start, substr($replies, $seen, $lf - $seen + 1) =~ s/\r?\n$//r;
        $seen = $lf + 1;
      }
      $wait = 0;
    }
  };
  for my $i (0 .. $#p) {
    last if $closed;
    last unless defined syswrite $s, $p[$i];
    if ($i < $#p) {
      my $until = time + $pause;
      $collect->($until - time) while !$closed && time < $until;
    }
  }
  my $deadline = time + 60;
  $collect->($deadline - time) while !$closed && time < $deadline;
  printf STDERR $closed ? sprintf("closed %.2f\n", $closed - $start) : "open\n";
  binmode STDOUT;
  print $replies;
} else {
  die "usage: smuggle.pl gen DIR | check DIR HOSTDIR | drip FILE PAUSE OFFSET... | tcp PORT FILE PAUSE OFFSET...\n";
}
