#!/bin/sh
# Lays out what the Debian package installs under DEST (the one definition of that layout):
#   DEST/usr/lib/automigrate/bin/automigrate              the launcher (the same file as in a checkout)
#   DEST/usr/lib/automigrate/bin/automigrate-checkpassword Dovecot's checkpassword front-end (Perl)
#   DEST/usr/lib/automigrate/dist/                         the bundle every test runs
#   DEST/usr/lib/automigrate/node_modules/.bin/bun         the Bun it was built with
#   DEST/usr/bin/automigrate, automigrate-checkpassword    links to the two commands
#   DEST/lib/systemd/system/automigrate.service            the unit
#   DEST/usr/share/automigrate/automigrate-passdb.lua      Dovecot's Lua passdb front-end
#   DEST/usr/share/doc/automigrate/                        README, BENCHMARKS
# Every directory 0755 and every file 0644 or 0755 whatever the umask, so that other users
# (Dovecot's auth process, the daemon's system user) can read and run it: `npm run package`
# builds the .deb from it, and the tests stage it in a temporary directory because a
# checkout (in a 0700 home, say) need not be readable by anyone else.
# Usage: scripts/stage-install.sh DEST   (the bundle must be built: scripts/ensure-deps.mjs)
set -eu
[ $# -eq 1 ] || { echo "usage: $0 DEST" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
dest=$1
[ -f "$root/dist/cli.js" ] || { echo "automigrate: no bundle in $root/dist (run node scripts/ensure-deps.mjs first)" >&2; exit 1; }
lib="$dest/usr/lib/automigrate"
install -d -m 0755 "$dest" "$dest/usr" "$dest/usr/lib" "$lib" "$lib/bin" "$lib/node_modules" "$lib/node_modules/.bin" "$dest/usr/bin" \
  "$dest/lib" "$dest/lib/systemd" "$dest/lib/systemd/system" "$dest/usr/share" "$dest/usr/share/automigrate" "$dest/usr/share/doc" "$dest/usr/share/doc/automigrate"
rm -rf "$lib/dist"
cp -R "$root/dist" "$lib/dist"
chmod -R u=rwX,go=rX "$lib/dist"
install -m 0755 "$root/bin/automigrate" "$root/bin/automigrate-checkpassword" "$lib/bin/"
install -m 0755 "$(readlink -f "$root/node_modules/.bin/bun")" "$lib/node_modules/.bin/bun"
ln -sfn ../lib/automigrate/bin/automigrate "$dest/usr/bin/automigrate"
ln -sfn ../lib/automigrate/bin/automigrate-checkpassword "$dest/usr/bin/automigrate-checkpassword"
install -m 0644 "$root/daemon/automigrate.service" "$dest/lib/systemd/system/automigrate.service"
install -m 0644 "$root/daemon/automigrate-passdb.lua" "$dest/usr/share/automigrate/automigrate-passdb.lua"
install -m 0644 "$root/README.md" "$root/BENCHMARKS.md" "$dest/usr/share/doc/automigrate/"
