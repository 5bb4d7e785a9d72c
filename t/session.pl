#!/usr/bin/perl
# session.pl: a scripted SMTP client for the fault tests, that can also
# kill the proxy's children at a chosen moment of the session.
#
#   perl t/session.pl PORT PROXY-SERVER-PID HOST-SERVER-PID < SCRIPT
#
# It connects to 127.0.0.1:PORT, served by tcpserver PROXY-SERVER-PID; the
# proxy is that tcpserver's child (the test has one connection at a time),
# its children are the filters and the forwarder.  HOST-SERVER-PID is the
# test smarthost's tcpserver, whose child is the smarthost's session.
# Script lines (TEXT with \r, \n, \t and \\ escapes):
#   send TEXT             write TEXT
#   body SIZE             write SIZE octets of message lines (no end dot)
#   expect CODE           read one reply; its code must start with CODE
#   wait FILE REGEX       wait until a line of FILE matches REGEX
#   kill REGEX            kill -9 the proxy's child whose command line (its
#                         arguments joined by spaces) matches REGEX (the
#                         first within 5 s)
#   killproxy             kill -9 the proxy itself
#   stophost | conthost   SIGSTOP | SIGCONT the smarthost's session
#   sleep SECONDS
#   closed                the proxy must close the connection, no reply
#   reset                 close the connection abortively (RST), and end
#   quit                  send QUIT, read its reply, expect the close
# Each step is printed with the seconds since the start: "t=1.23 ..."; a
# kill also lists the proxy's children ("children PID:ARGV0 ...") and
# "killed PID".  A reply not come within 30 s, or another code than
# expected, ends the script with status 1.
use strict;
use warnings;
use IO::Socket::INET;
use IO::Select;
use Socket qw(SOL_SOCKET SO_LINGER);
use Time::HiRes qw(time sleep);

my ($port, $server, $hostserver) = @ARGV;
$| = 1;
$SIG{PIPE} = 'IGNORE';
my $start = time;
sub say { printf "t=%.2f %s\n", time - $start, join '', @_ }
sub unescape { my $t = shift; $t =~ s/\\(.)/$1 eq 'r' ? "\r" : $1 eq 'n' ? "\n" : $1 eq 't' ? "\t" : $1/ge; $t }

sub children {
  my ($pid) = @_;
  my @kids;
  for my $f (glob "/proc/$pid/task/*/children") {
    open my $c, '<', $f or next;
    push @kids, split ' ', (<$c> // '');
  }
  return @kids;
}
sub cmdline {
  my ($pid) = @_;
  open my $c, '<', "/proc/$pid/cmdline" or return '';
  local $/;
  my $l = <$c> // '';
  $l =~ s/\0$//;
  $l =~ tr/\0/ /;
  return $l;
}
sub one_child {
  my ($parent, $what) = @_;
  my @k = children($parent);
  die "$what: " . scalar(@k) . " children of $parent\n" unless @k == 1;
  return $k[0];
}

my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Timeout => 10) or die "connect: $!";
binmode $s;
my $sel = IO::Select->new($s);
my $buf = '';
my $eof = 0;

sub fill {
  my ($deadline) = @_;
  return 0 if $eof;
  my $left = $deadline - time;
  return -1 if $left <= 0 || !$sel->can_read($left);
  my $n = sysread $s, $buf, 65536, length $buf;
  $eof = 1 unless $n;
  return $n ? 1 : 0;
}
# One reply: (code, text of its lines), ('eof') or ('timeout').
sub reply {
  my $deadline = time + 30;
  my $text = '';
  for (;;) {
    while ($buf =~ s/^([^\n]*\n)//) {
      my $l = $1;
      $text .= $l;
      return ($1, $text) if $l =~ /^(\d\d\d) /;
    }
    my $r = fill($deadline);
    return ('eof', $text) if $r == 0;
    return ('timeout', $text) if $r < 0;
  }
}

my $proxy;
while (my $line = <STDIN>) {
  chomp $line;
  next if $line =~ /^\s*(#|$)/;
  my ($op, $arg) = $line =~ /^(\S+)\s*(.*)$/;
  if ($op eq 'send') {
    syswrite $s, unescape($arg);
  } elsif ($op eq 'body') {
    my $chunk = join '', map { sprintf "line %06d of the body of a message that is cut short\r\n", $_ } 1 .. 1000;
    my $left = $arg;
    while ($left > 0) {
      my $w = syswrite $s, $chunk, $left < length $chunk ? $left : length $chunk;
      die "body: $!\n" unless $w;
      $left -= $w;
    }
    say "sent $arg octets";
  } elsif ($op eq 'expect') {
    my ($code, $text) = reply();
    $text =~ s/\r?\n(?=.)/ | /g;
    $text =~ s/\r?\n$//;
    say "reply $code $text";
    if ($code !~ /^$arg/) { say "FAIL: expected $arg"; exit 1 }
  } elsif ($op eq 'wait') {
    my ($file, $re) = $arg =~ /^(\S+)\s+(.*)$/;
    my $deadline = time + 30;
    WAIT: for (;;) {
      for my $f (glob $file) {
        open my $fh, '<', $f or next;
        while (<$fh>) { last WAIT if /$re/ }
      }
      if (time > $deadline) { say "FAIL: $file never matched $re"; exit 1 }
      sleep 0.02;
    }
    say "seen $re";
  } elsif ($op eq 'kill' || $op eq 'killproxy') {
    $proxy //= one_child($server, 'the proxy');
    # A child in the middle of an exec has no command line for a moment:
    # look again, for 5 s at most.
    my ($victim, @kids);
    for (my $until = time + 5; ; sleep 0.02) {
      @kids = children($proxy);
      $victim = $op eq 'killproxy' ? $proxy : (grep { cmdline($_) =~ /$arg/ } @kids)[0];
      last if $victim || time > $until;
    }
    say 'children ', join ' ', map { "$_:" . ((split ' ', cmdline($_))[0] // '?') } @kids;
    if (!$victim) { say "FAIL: no child of the proxy matches $arg"; exit 1 }
    kill 'KILL', $victim;
    say "killed $victim";
  } elsif ($op eq 'stophost' || $op eq 'conthost') {
    my $h = one_child($hostserver, 'the smarthost');
    kill $op eq 'stophost' ? 'STOP' : 'CONT', $h;
    say "$op $h";
  } elsif ($op eq 'sleep') {
    sleep $arg;
  } elsif ($op eq 'closed') {
    my ($code, $text) = reply();
    say "closed: $code";
    if ($code ne 'eof') { say "FAIL: a reply or a timeout instead of the close: $code $text"; exit 1 }
  } elsif ($op eq 'reset') {
    setsockopt($s, SOL_SOCKET, SO_LINGER, pack('ii', 1, 0));
    close $s;
    say 'reset';
    exit 0;
  } elsif ($op eq 'quit') {
    syswrite $s, "QUIT\r\n";
    my ($code) = reply();
    say "reply $code";
    if ($code ne '221') { say "FAIL: QUIT got $code"; exit 1 }
    my ($end) = reply();
    if ($end ne 'eof') { say "FAIL: no close after QUIT"; exit 1 }
  } else {
    die "bad script line: $line\n";
  }
}
exit 0;
