#!/usr/bin/env bash
# The VM of the pre-copy e2e test (test/e2e/migrate-precopy.test.ts, test/helpers/vm-host.ts): a QEMU guest with
# Debian 12's own kernel, which tracks dirty memory (CONFIG_MEM_SOFT_DIRTY), as the SOURCE host of a migration to
# this machine. Idempotent (a re-run with everything in place takes well under a second). As root:
#   1. qemu-system-x86 (apt)
#   2. Debian 12's kernel package (the version linux-image-amd64 depends on, or $OCIRT_VM_KERNEL), fetched with
#      `apt-get download` and unpacked in a temp dir; kept: vmlinuz and the modules of net/, fs/, lib/, crypto/,
#      arch/ and the virtio and network drivers (~90 MB instead of 405), with their modules.dep
#   3. initramfs.cpio.gz: the host's static busybox, test/vm/init.sh as /init, the modules stage 1 loads
# Everything goes to test/fixtures/build/vm/ (ignored by git; the VM sees it through the worktree share).
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
OUT=$PWD/test/fixtures/build/vm
die() { echo "setup-vm.sh: ERROR: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root"

need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
[ -x /bin/busybox ] && /bin/busybox --list 2>/dev/null | grep -qx switch_root || need+=(busybox-static)
command -v depmod >/dev/null || need+=(kmod)
if [ "${#need[@]}" -gt 0 ]; then
  echo "installing: ${need[*]}"
  apt-get update -qq
  apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
fi

K=${OCIRT_VM_KERNEL:-}
if [ -z "$K" ] && [ -f "$OUT/kernel-version" ]; then K=$(cat "$OUT/kernel-version"); fi
if [ -z "$K" ]; then
  K=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: linux-image-\([0-9].*-amd64\)$/\1/p' | head -1)
  [ -n "$K" ] || { apt-get update -qq; K=$(apt-cache depends linux-image-amd64 | sed -n 's/^ *Depends: linux-image-\([0-9].*-amd64\)$/\1/p' | head -1); }
  [ -n "$K" ] || die "cannot tell which kernel linux-image-amd64 depends on (set OCIRT_VM_KERNEL, e.g. 6.1.0-57-amd64)"
fi
MODS=$OUT/modules/lib/modules/$K

if [ ! -f "$OUT/vmlinuz" ] || [ ! -f "$MODS/modules.dep" ] || [ "$(cat "$OUT/kernel-version" 2>/dev/null)" != "$K" ]; then
  echo "kernel linux-image-$K"
  tmp=$(mktemp -d /tmp/ocirt-setup-vm.XXXXXX)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && { apt-get download -q "linux-image-$K" >/dev/null 2>&1 || { apt-get update -qq && apt-get download -q "linux-image-$K" >/dev/null; }; })
  dpkg-deb -x "$tmp"/linux-image-"$K"_*.deb "$tmp/x"
  rm -rf "$OUT/modules" "$OUT/vmlinuz" "$OUT/kernel-version"
  mkdir -p "$MODS/kernel/drivers"
  src=$tmp/x/lib/modules/$K
  cp "$src"/modules.order "$src"/modules.builtin* "$MODS/"
  for d in net fs lib crypto arch; do [ -d "$src/kernel/$d" ] && cp -a "$src/kernel/$d" "$MODS/kernel/"; done
  for d in net virtio; do cp -a "$src/kernel/drivers/$d" "$MODS/kernel/drivers/"; done
  depmod -b "$OUT/modules" "$K"
  cp "$tmp/x/boot/vmlinuz-$K" "$OUT/vmlinuz"
  echo "$K" > "$OUT/kernel-version"
  rm -rf "$tmp"; trap - EXIT
fi

# stage 1 loads these from the initramfs (static busybox insmod: every exec from the 9p root costs ~0.4 s under TCG)
STAGE1="virtio_pci 9pnet_virtio 9p overlay virtio_net tun unix_diag inet_diag tcp_diag udp_diag netlink_diag af_packet_diag"
stamp="$K $(sha256sum test/vm/init.sh | cut -c1-16) $STAGE1"
if [ ! -f "$OUT/initramfs.cpio.gz" ] || [ "$(cat "$OUT/initramfs.stamp" 2>/dev/null)" != "$stamp" ]; then
  s=$(mktemp -d /tmp/ocirt-initramfs.XXXXXX)
  mkdir -p "$s/bin" "$s/proc" "$s/sys" "$s/dev" "$s/modules" "$s/newroot"
  cp /bin/busybox "$s/bin/busybox"
  cp test/vm/init.sh "$s/init"; chmod 755 "$s/init"
  : > "$s/modules.list"
  for m in $STAGE1; do
    modprobe -d "$OUT/modules" -S "$K" --show-depends "$m" | awk '$1 == "insmod" {print $2}'
  done | awk '!seen[$0]++' | while read -r f; do
    cp "$f" "$s/modules/"; basename "$f" >> "$s/modules.list"
  done
  (cd "$s" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1 > "$OUT/initramfs.cpio.gz.tmp")
  mv "$OUT/initramfs.cpio.gz.tmp" "$OUT/initramfs.cpio.gz"
  echo "$stamp" > "$OUT/initramfs.stamp"
  echo "initramfs: $(wc -l < "$s/modules.list") modules, $(du -h "$OUT/initramfs.cpio.gz" | cut -f1)"
  rm -rf "$s"
fi
echo "VM ready: kernel $K in $OUT"
