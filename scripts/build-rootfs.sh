#!/usr/bin/env bash
# Build the minimal rootfs that ocirt's integration and e2e tests run containers from:
#   bin/busybox (Debian's busybox-static) + applet symlinks, bin/probe (test/fixtures/probe.c),
#   etc/{passwd,group,hosts,hostname,resolv.conf}, the usual empty mount points, /var/run -> /run.
# Usage: scripts/build-rootfs.sh [DIR]   (default: test/fixtures/build/rootfs)
# Idempotent and fast: only what differs is rewritten. Tests share it read-only (root.readonly in config.json);
# a test that needs to write copies it.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
DIR=${1:-$REPO/test/fixtures/build/rootfs}
BUSYBOX=${BUSYBOX:-/bin/busybox}
PROBE=$REPO/test/fixtures/build/probe
APPLETS="sh ls cat echo sleep true false id hostname ps mount env grep head wc kill uname mkdir touch rm readlink
         stat tee"

die() { echo "build-rootfs: ERROR: $*" >&2; exit 1; }

[ -x "$BUSYBOX" ] || die "$BUSYBOX missing: apt-get install busybox-static"
# A dynamically linked busybox (package busybox) would not run in a rootfs without libc.
if readelf -l "$BUSYBOX" 2>/dev/null | grep -q 'INTERP'; then
  die "$BUSYBOX is dynamically linked: install busybox-static instead of busybox"
fi
make -s -C "$REPO/test/fixtures"

# install_file SRC DEST MODE: copy only when the content or mode differs.
install_file() {
  if ! cmp -s "$1" "$2" || [ "$(stat -c %a "$2")" != "$3" ]; then
    install -m "$3" "$1" "$2.tmp" && mv -f "$2.tmp" "$2"
  fi
}
# write_file DEST MODE CONTENT
write_file() {
  local tmp
  tmp=$(mktemp)
  printf '%s' "$3" > "$tmp"
  install_file "$tmp" "$1" "$2"
  rm -f "$tmp"
}
# link TARGET NAME: a symlink, replaced only when it points elsewhere.
link() {
  [ "$(readlink "$2" 2>/dev/null)" = "$1" ] || ln -sfn "$1" "$2"
}

mkdir -p "$DIR"
cd "$DIR"
mkdir -p bin dev etc home/user mnt proc root run sys tmp var
chmod 755 . bin dev etc home mnt proc run sys var
chmod 700 root
chmod 1777 tmp
chown 1000:1000 home/user

install_file "$BUSYBOX" bin/busybox 755
install_file "$PROBE" bin/probe 755
for a in $APPLETS; do link busybox "bin/$a"; done
link /run var/run

write_file etc/passwd 644 'root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
user:x:1000:1000:test user:/home/user:/bin/sh
'
write_file etc/group 644 'root:x:0:
wheel:x:10:root,user
tty:x:5:
audio:x:29:user
nogroup:x:65534:
user:x:1000:
'
# Bind-mount targets that engines (podman, docker, CRI) provide over these.
write_file etc/hosts 644 '127.0.0.1	localhost
'
write_file etc/hostname 644 ''
write_file etc/resolv.conf 644 ''

echo "build-rootfs: $DIR ready ($(du -sh . | cut -f1))"
