#!/usr/bin/perl
# The tests' stand-in for Exchange Online's check of an app-wide token (IMAP.AccessAsApp): a
# Dovecot checkpassword passdb for the SASL XOAUTH2/OAUTHBEARER mechanisms (Dovecot hands the
# bearer token over as the password). It asks the local token server's introspection endpoint
# whether the token is live and carries the app role, and then accepts any mailbox, as
# Exchange does for an app with full access. Perl with base modules only: it runs inside
# Dovecot auth's memory limit.
#   usage: oauth-app-checkpassword.pl <introspection-url> <reply-program> [args...]
use strict;
use warnings;
use IO::Socket::INET;

my $url = shift @ARGV;
my ($host, $port, $path) = ($url // '') =~ m{^http://([^/:]+):(\d+)(/.*)$} or do { print STDERR "usage: $0 <http://host:port/path> <reply>\n"; exit 2 };
my $input = '';
if (open(my $fd3, '<&=', 3)) {
  while (1) { my $n = sysread($fd3, $input, 8192, length $input); last if !$n }
  close($fd3);
}
my ($user, $token) = split(/\0/, $input, 3);
exit 2 if !defined $user || $user eq '';
$token //= '';
(my $form = $token) =~ s/([^A-Za-z0-9._~-])/sprintf('%%%02X', ord $1)/ge;
$form = "token=$form";
my $s = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port, Timeout => 10) or do { print STDERR "token server unreachable: $!\n"; exit 111 };
print $s "POST $path HTTP/1.0\r\nHost: $host\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: " . length($form) . "\r\n\r\n$form";
my $answer = do { local $/; <$s> } // '';
close $s;
my ($body) = $answer =~ /\r\n\r\n(.*)$/s;
$body //= '';
if ($body =~ /"active"\s*:\s*true/ && $body =~ /"IMAP\.AccessAsApp"/) {
  $ENV{USER} = $user;
  exec { $ARGV[0] } @ARGV or exit 111;
}
print STDERR "$user: app token refused\n";
exit 1;
