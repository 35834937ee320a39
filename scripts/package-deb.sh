#!/bin/sh
# `npm run package`: the Debian package of what `npm start` builds and `npm test` runs, in
# out/automigrate_<version>_<arch>.deb. The layout is scripts/stage-install.sh's (the tests
# stage the same one): /usr/lib/automigrate holds the launcher, the bundle, the Bun binary it
# was built with and the checkpassword helper; /usr/bin has links to both commands; the unit
# goes to /lib/systemd/system, the Lua passdb to /usr/share/automigrate. The maintainer
# scripts (scripts/deb) create the system user and /var/lib/automigrate.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
node scripts/ensure-deps.mjs >&2
command -v dpkg-deb >/dev/null || { echo "automigrate: building the package needs dpkg-deb (apt-get install -y dpkg)" >&2; exit 1; }
version=$(node -p "require('./package.json').version")
arch=$(dpkg --print-architecture)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
sh scripts/stage-install.sh "$stage"
install -d -m 0755 "$stage/DEBIAN"
install -m 0755 scripts/deb/postinst scripts/deb/prerm scripts/deb/postrm "$stage/DEBIAN/"
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
cat > "$stage/DEBIAN/control" <<CONTROL
Package: automigrate
Version: $version
Architecture: $arch
Maintainer: automigrate developers <automigrate@localhost>
Installed-Size: $size
Depends: perl-base, adduser
Recommends: dovecot-core
Suggests: dovecot-auth-lua, lua-socket
Section: mail
Priority: optional
Description: automatic, on-login mailbox migration from an old IMAP server
 When a user logs in to the new mail server, automigrate creates the account if needed
 and copies every folder and message from the old IMAP server, flags and dates kept.
 Runs as its own system user; first logins reach it through a Unix socket from
 Dovecot's checkpassword or Lua passdb.
CONTROL
# one time stamp for every file (the launcher never rebuilds here: the package has no scripts/)
find "$stage" -exec touch -h -d "@$(date +%s)" {} +
mkdir -p out
deb="out/automigrate_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >&2
echo "$root/$deb"
