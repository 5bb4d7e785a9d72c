#!/usr/bin/perl
# ledger-check.pl: compare the ledger of t/ledger.pl (what the client was
# told) with what the test smarthost stored (smtp-testhost -d DIR -l).
#
#   perl t/ledger-check.pl [-k] [-p proxy.log] ledger DIR
#
# The books balance when:
#  - every 2xx after the data that names a stored file ("stored PID.N")
#    names a file that exists, holds that message byte for byte (md5),
#    from its sender to exactly the recipients that got a 2xx, and that no
#    other reply names: accepted exactly once;
#  - every other 2xx after the data is a resend (attempt 2) of a message
#    already accepted: a duplicate the filters discarded; a first copy
#    discarded would be a loss;
#  - every stored file is named by a 2xx, or else is a copy whose final
#    reply was lost or late: the smarthost's transcript says it dropped
#    the connection after storing it, or stored it later than the client
#    waited, and the client was told 4xx or nothing after its data (it
#    will send it again: a possible duplicate, never a loss).  With -k
#    (smarthosts killed at random), any stored copy of a message told 4xx
#    or nothing after its data counts so, and the half-written files of a
#    killed smarthost are no problem;
#  - no message refused with a 5xx, or before its data, is stored;
#  - no reply was awaited past the client's timeout (a hang);
#  - with -p, the proxy logged as many deliveries and discards.
# It prints the counts, and the problems; exit 0 when they balance.
use strict;
use warnings;
use Digest::MD5 qw(md5_hex);
use Getopt::Std;

my %o;
getopts('kp:', \%o) && @ARGV == 2 or die "usage: ledger-check.pl [-k] [-p proxy.log] ledger dir\n";
my ($ledger, $dir) = @ARGV;
my @problems;
sub problem { push @problems, join '', @_ }
my %n = map { $_ => 0 } qw(messages attempts resends accepted discarded envelope_4xx envelope_5xx
  envelope_noreply eod_4xx eod_5xx eod_noreply possible_duplicates hangs);

sub slurp {
  my ($name) = @_;
  open my $fh, '<', $name or return undef;
  binmode $fh;
  local $/;
  my $text = <$fh>;
  close $fh;
  return $text;
}

# What the smarthost stored, and the faults it made.
my (%file, %late_or_lost, %faults);
opendir my $dh, $dir or die "$dir: $!";
for my $f (sort readdir $dh) {
  if ($f =~ /^msg\.(\d+\.\d+)$/) {
    my $key = $1;
    my $text = slurp("$dir/$f");
    my @env = split /\n/, slurp("$dir/env.$key") // do { problem("$f without its env file"); next };
    my ($id) = $text =~ /^Message-ID: <L\.\d+\.(\d+)\@ledger\.test>\r$/mi;
    if (!defined $id) { problem("$f holds no ledger Message-ID"); next }
    my ($from) = map { /^MAIL FROM:<(.*)>$/ ? $1 : () } @env;
    my @to = sort(map { /^RCPT TO:<(.*)>$/ ? $1 : () } @env);
    $file{$key} = { id => $id, md5 => md5_hex($text), from => $from, to => "@to", claimed => 0 };
  } elsif ($f =~ /^log\.\d+$/) {
    open my $l, '<', "$dir/$f" or die "$dir/$f: $!";
    while (<$l>) {
      next unless /^\* fault (\S+) (\S+)(?: (\d+))?(?: msg\.(\d+\.\d+))?/;
      $faults{"$1 $2"}++;
      $late_or_lost{$4} = $2 if defined $4;
    }
    close $l;
  } elsif ($f =~ /^tmp\./ && !$o{k}) {
    problem("$f: a message the smarthost was still receiving");
  }
}
closedir $dh;

# What the client was told.
my (%attempts, %accepted_ids);
open my $lf, '<', $ledger or die "$ledger: $!";
while (<$lf>) {
  chomp;
  my ($i, $att, $md5, $mail, $rcpt, $data, $eod, $text) =
    /^(\d+) (\d) ([0-9a-f]{32}) mail=(\S+) rcpt=(\S+) data=(\S+) eod=(\S+) ?(.*)$/
    or do { problem("bad ledger line: $_"); next };
  my @rc = split /,/, $rcpt;
  $n{attempts}++;
  $att == 1 ? $n{messages}++ : $n{resends}++;
  push @{ $attempts{$i} }, { att => $att, eod => $eod };
  my @codes = ($mail, @rc, $data, $eod);
  if (grep { $_ eq 'tmo' } @codes) { $n{hangs}++; problem("message $i attempt $att: no reply in time (@codes)") }
  if ($eod eq '-') {
    my ($last) = grep { $_ ne '-' && !/^[23]/ } @codes;
    $last //= '000';
    $n{ $last =~ /^4/ ? 'envelope_4xx' : $last =~ /^5/ ? 'envelope_5xx' : 'envelope_noreply' }++;
  } elsif ($eod =~ /^2/) {
    if ($text =~ /stored (\d+\.\d+)/) {
      my $key = $1;
      my $f = $file{$key};
      if (!$f) { problem("message $i attempt $att: told $eod ($text) but msg.$key is not there: LOST"); next }
      problem("message $i attempt $att: msg.$key holds message $f->{id}") if $f->{id} != $i;
      problem("message $i attempt $att: msg.$key differs from what was sent") if $f->{md5} ne $md5;
      problem("message $i attempt $att: msg.$key named by two replies") if $f->{claimed}++;
      my ($seed) = $f->{from} =~ /^m\.(\d+)\./;
      $seed //= 'none';
      my @want = sort(map { "r.$seed.$i.$_\@ledger.test" } grep { $rc[$_ - 1] =~ /^2/ } 1 .. @rc);
      problem("message $i attempt $att: msg.$key is for <$f->{to}>, the client was told 2xx for <@want>")
        if "@want" ne $f->{to};
      $n{accepted}++;
      $accepted_ids{$i}++;
    } elsif ($att == 2) {
      $n{discarded}++;
    } else {
      problem("message $i: told $eod ($text) for a first copy that was not relayed: LOST");
    }
  } elsif ($eod =~ /^4/) { $n{eod_4xx}++ }
  elsif ($eod =~ /^5/) { $n{eod_5xx}++ }
  else { $n{eod_noreply}++ }
}
close $lf;

# Every stored copy not named by a 2xx must be a lost or late reply.
for my $key (sort keys %file) {
  my $f = $file{$key};
  next if $f->{claimed};
  my $i = $f->{id};
  my @eod = map { $_->{eod} } @{ $attempts{$i} || [] };
  my $told_temp = grep { /^4/ || $_ eq '000' || $_ eq 'tmo' } @eod;
  if (!@eod) { problem("msg.$key (message $i): stored, but the client never sent it"); next }
  if (grep { /^5/ } @eod) { problem("msg.$key (message $i): stored, but the client was told 5xx (@eod)"); next }
  if (!$told_temp) { problem("msg.$key (message $i): stored, not named by any reply (eod @eod)"); next }
  if (!$late_or_lost{$key} && !$o{k}) {
    problem("msg.$key (message $i): stored, the client was told @eod, and the smarthost's reply was neither lost nor late");
    next;
  }
  $n{possible_duplicates}++;
}

if ($o{p}) {
  open my $pl, '<', $o{p} or die "$o{p}: $!";
  my ($delivered, $discarded) = (0, 0);
  while (<$pl>) {
    $delivered++ if /result=delivered /;
    $discarded++ if /result=discarded /;
  }
  close $pl;
  problem("the proxy logged $delivered deliveries, the client counted $n{accepted}")
    if $delivered != $n{accepted};
  problem("the proxy logged $discarded discards, the client counted $n{discarded}")
    if $discarded != $n{discarded};
}

my $stored = keys %file;
print "ledger: $n{messages} messages ($n{resends} resent), $n{attempts} attempts\n";
print "ledger: accepted (2xx, stored exactly once) $n{accepted}; duplicates discarded $n{discarded}\n";
print "ledger: refused in the envelope: 4xx $n{envelope_4xx}, 5xx $n{envelope_5xx}, no reply $n{envelope_noreply}\n";
print "ledger: refused after the data: 4xx $n{eod_4xx}, 5xx $n{eod_5xx}, no reply $n{eod_noreply}\n";
print "ledger: stored $stored; possible duplicates on retry (reply lost or late) $n{possible_duplicates}; hangs $n{hangs}\n";
print "ledger: faults injected: ", join(', ', map { "$_ $faults{$_}" } sort keys %faults), "\n" if %faults;
print "ledger: PROBLEM: $_\n" for @problems;
exit(@problems ? 1 : 0);
