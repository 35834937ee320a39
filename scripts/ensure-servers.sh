#!/bin/sh
# Makes sure the real servers and tools the tests need are installed: Dovecot's IMAP server
# (dovecot-imapd) and SMTP submission service (dovecot-submissiond, a real SMTP peer for
# test-connection), Postfix's postmap (routing tables), OpenLDAP's slapd and ldap-utils (LDAP
# account creation; openssl for its test certificates), Radicale (the CardDAV/CalDAV example),
# script(1) and tmux for the terminal tests, chromium for the HTML report, PostgreSQL, the Lua passdb's modules, the tools of the
# unprivileged and package tests, ps/pgrep (procps), Cyrus and Courier as other old servers and,
# with --with-mbsync, isync for the benchmarks. Every command the tests run is either installed
# here or part of a minimal Debian (debootstrap --variant=minbase): test/unit/test-commands.test.ts
# holds the list and checks the tests against it.
# Installs them as root on Debian/Ubuntu; otherwise says exactly what to install. No service
# is started or configured: the tests run their own instances.
set -eu
need=""
command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] || need="$need dovecot-imapd"
[ -x /usr/lib/dovecot/submission ] || need="$need dovecot-submissiond"
# LMTP: the test Postfix instances deliver into the old and the new Dovecot with it
[ -x /usr/lib/dovecot/lmtp ] || need="$need dovecot-lmtpd"
[ -x /usr/sbin/postmap ] || need="$need postfix"
# Postfix's pgsql: tables (cluster mode's routing map is read through it)
[ -e /usr/lib/postfix/postfix-pgsql.so ] || need="$need postfix-pgsql"
[ -x /usr/sbin/slapd ] || need="$need slapd"
command -v ldapadd >/dev/null 2>&1 || need="$need ldap-utils"
command -v radicale >/dev/null 2>&1 || need="$need radicale"
command -v openssl >/dev/null 2>&1 || need="$need openssl"
command -v script >/dev/null 2>&1 || need="$need bsdutils"
command -v tmux >/dev/null 2>&1 || need="$need tmux"
# the HTML report is checked in a real headless browser, with a font to draw it
command -v chromium >/dev/null 2>&1 || need="$need chromium"
# PostgreSQL for cluster mode's storage (the tests initdb a throwaway cluster) and psql
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need="$need postgresql"
command -v psql >/dev/null 2>&1 || need="$need postgresql-client"
[ -d /usr/share/fonts/truetype/dejavu ] || need="$need fonts-dejavu-core"
# ps, pgrep, pkill (not in a minimal Debian), hostname, git (the demo test clones the checkout)
command -v pgrep >/dev/null 2>&1 && command -v ps >/dev/null 2>&1 || need="$need procps"
command -v hostname >/dev/null 2>&1 || need="$need hostname"
command -v git >/dev/null 2>&1 || need="$need git"
# the Lua passdb front-end (dovecot-auth-lua + LuaSocket), the system user the unprivileged
# and package tests create (adduser, setpriv), the package test's tools (dpkg-deb, systemd-analyze)
[ -f /usr/lib/dovecot/modules/auth/libauthdb_lua.so ] || need="$need dovecot-auth-lua"
[ -f /usr/share/lua/5.4/socket.lua ] || [ -d /usr/lib/x86_64-linux-gnu/lua/5.4/socket ] || ls /usr/lib/*/lua/5.4/socket/core.so >/dev/null 2>&1 || need="$need lua-socket"
command -v adduser >/dev/null 2>&1 || need="$need adduser"
command -v setpriv >/dev/null 2>&1 || need="$need util-linux"
command -v systemd-analyze >/dev/null 2>&1 || need="$need systemd"
if [ "${1:-}" = "--with-mbsync" ]; then
  command -v mbsync >/dev/null 2>&1 || need="$need isync"
  [ -x /usr/bin/time ] || need="$need time"
fi
[ -x /usr/lib/cyrus/bin/master ] || need="$need cyrus-common"
command -v saslpasswd2 >/dev/null 2>&1 || need="$need sasl2-bin"
# Courier-IMAP's authentication daemon with its userdb module, and courier-base (couriertcpd,
# maildirmake.courier)
[ -x /usr/lib/courier/courier-authlib/authdaemond ] || need="$need courier-authdaemon"
[ -x /usr/sbin/makeuserdb ] || need="$need courier-authlib-userdb"
[ -x /usr/sbin/couriertcpd ] || need="$need courier-base"
# Cyrus's imapd (package cyrus-imapd) and Courier's (courier-imap) conflict with dovecot-imapd:
# they are unpacked aside into /opt/<package> (apt-get download + dpkg -x) so all three run
# side by side in the tests
aside() { # <package> <a file it must provide, relative to /opt/<package>>
  [ -x "/opt/$1/$2" ] && return 0
  [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1 || { echo "automigrate: the $1 tests need $1 unpacked in /opt/$1 (as root: apt-get download $1 && dpkg -x $1_*.deb /opt/$1)" >&2; return 0; }
  d=$(mktemp -d)
  (cd "$d" && apt-get download -qq "$1" >/dev/null 2>&1 && dpkg -x "$1"_*.deb "/opt/$1") || echo "automigrate: could not unpack $1; its tests will fail (AUTOMIGRATE_TEST_SKIP=${1%%-*} skips them on purpose)" >&2
  rm -rf "$d"
}
both_aside() {
  aside cyrus-imapd usr/lib/cyrus/bin/imapd
  aside courier-imap usr/bin/imapd
}
if [ -z "$need" ]; then both_aside; exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "automigrate: installing $need (apt-get) ..." >&2
  export DEBIAN_FRONTEND=noninteractive
  # Postfix and slapd unconfigured: only their programs are used
  printf '%s\n' "postfix postfix/main_mailer_type select No configuration" "slapd slapd/no_configuration boolean true" | debconf-set-selections
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends $need >/dev/null
  both_aside
  exit 0
fi
echo "automigrate: the tests need: $need" >&2
echo "  install it as root:  apt-get install -y $need   (Debian/Ubuntu)" >&2
exit 1
