#!/bin/sh
# `npm run test:fresh`: the README's `npm test` on a truly fresh machine, as a newcomer runs it.
#   1. debootstrap a minimal Debian 12 (variant minbase) into a temporary directory;
#   2. install only nodejs, npm and git from Debian in it (nothing else: `npm test` must
#      install what the tests need itself);
#   3. clone this repository (its committed HEAD) into root's home there, a 0700 directory,
#      on a path with a space: /root/automigrate checkout;
#   4. run `npm test` there through .ci/run, in a private mount namespace (unshare -m) whose
#      root directory is bind-mounted onto itself, so that the Courier tests' own unshare works.
# Needs root, debootstrap (installed when missing) and about 20-30 minutes. Prints the
# tests' totals and the time, and exits with npm test's status. Not part of `npm test`.
#
#   AUTOMIGRATE_FRESH_DIR=/var/tmp/x   reuse (or keep) that machine instead of a new temporary one
#   AUTOMIGRATE_FRESH_MIRROR=url       the Debian mirror (default http://deb.debian.org/debian)
set -eu
[ "$(id -u)" = 0 ] || { echo "automigrate: test:fresh needs root (debootstrap, chroot, mounts)" >&2; exit 2; }
src=$(cd "$(dirname "$0")/.." && pwd)
mirror=${AUTOMIGRATE_FRESH_MIRROR:-http://deb.debian.org/debian}
if [ -n "${AUTOMIGRATE_FRESH_DIR:-}" ]; then
  work=$AUTOMIGRATE_FRESH_DIR
  keep=1
  mkdir -p "$work"
else
  work=$(mktemp -d /var/tmp/automigrate-fresh-XXXXXX)
  keep=0
fi
machine="$work/debian"
log="$work/npm-test.log"
cleanup() {
  [ "$keep" = 1 ] || rm -rf --one-file-system "$work"
}
trap cleanup EXIT
started=$(date +%s)

if [ ! -x "$machine/usr/bin/node" ]; then
  command -v debootstrap >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null; }
  echo "automigrate: debootstrap --variant=minbase bookworm $machine" >&2
  debootstrap --variant=minbase bookworm "$machine" "$mirror" >"$work/debootstrap.log" 2>&1 || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  cp /etc/resolv.conf "$machine/etc/resolv.conf"
  # a machine, not a service host: packages installed inside never start their services here
  printf '#!/bin/sh\nexit 101\n' >"$machine/usr/sbin/policy-rc.d"
  chmod 0755 "$machine/usr/sbin/policy-rc.d"
  # a host behind a TLS-inspecting proxy trusts its local CAs: the machine must too (npm's registry)
  if ls /usr/local/share/ca-certificates/*.crt >/dev/null 2>&1; then
    mkdir -p "$machine/usr/local/share/ca-certificates"
    cp /usr/local/share/ca-certificates/*.crt "$machine/usr/local/share/ca-certificates/"
  fi
  echo "automigrate: apt-get install nodejs npm git (and nothing else)" >&2
  chroot "$machine" sh -c 'export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq nodejs npm git >/dev/null && { command -v update-ca-certificates >/dev/null && update-ca-certificates >/dev/null 2>&1 || true; }' || exit 1
fi

checkout="/root/automigrate checkout"
rm -rf "$machine$checkout"
chmod 0700 "$machine/root"
git clone -q "$src" "$machine$checkout"
echo "automigrate: $(chroot "$machine" node --version) and npm $(chroot "$machine" npm --version) from Debian; the clone in \"$checkout\" (root's home: $(stat -c %a "$machine/root"))" >&2

# One private mount namespace: every mount below ends with it.
status=0
unshare -m --propagation private sh -c '
  set -e
  m=$1; checkout=$2
  mount --bind "$m" "$m"
  mount -t proc proc "$m/proc"
  mount -t sysfs sysfs "$m/sys"
  mount --rbind /dev "$m/dev"
  exec chroot "$m" sh -c "cd \"\$1\" && exec env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 TERM=xterm .ci/run" sh "$checkout"
' sh "$machine" "$checkout" 2>&1 | tee "$log" || status=$?
# (tee's status hides .ci/run's: read the totals it printed)
totals=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1 || true)
elapsed=$(( $(date +%s) - started ))
echo "automigrate: fresh machine: ${totals:-no totals printed} in $((elapsed / 60)) min $((elapsed % 60)) s (log: $log)" >&2
case "$totals" in
  *" 0 failed"*) [ "$keep" = 1 ] || cp "$log" "/var/tmp/automigrate-fresh-last.log"; exit 0 ;;
  *) keep=1; exit 1 ;;
esac
