#!/bin/busybox sh
# Stage 1 of the test VM (test/helpers/vm-host.ts), /init of the initramfs made by scripts/setup-vm.sh. Static
# busybox only: every exec from a 9p share costs ~0.4 s under TCG, so everything is mounted here.
# The root is a tmpfs; from the host come, over 9p: /usr, /etc and the worktree (read-only, each with a tmpfs
# overlay so the VM may write), /opt/ocirt (read-only: CRIU) and the test's own directory at /vmshare (read-write).
# Kernel command line: ocirt.wt=<worktree path> ocirt.ip=<address/prefix> ocirt.kver=<kernel> ocirt.cmd=<script>.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
arg() { tr ' ' '\n' < /proc/cmdline | sed -n "s/^ocirt\.$1=//p"; }
WT=$(arg wt); IP=$(arg ip); KVER=$(arg kver)
for m in $(cat /modules.list); do insmod /modules/$m 2>/dev/null || echo "init: insmod $m failed"; done
R=/newroot
mount -t tmpfs -o size=3g,mode=755 rootfs $R
P9="trans=virtio,version=9p2000.L,msize=524288"
layer() { # tag, where: read-only 9p below, tmpfs above
  mkdir -p $R/.vm/lower/$1 $R/.vm/rw/$1/upper $R/.vm/rw/$1/work $R$2
  mount -t 9p -o $P9,ro,cache=loose $1 $R/.vm/lower/$1 || { echo "init: 9p $1 failed"; exec sh; }
  mount -t overlay overlay -o lowerdir=$R/.vm/lower/$1,upperdir=$R/.vm/rw/$1/upper,workdir=$R/.vm/rw/$1/work $R$2 || { echo "init: overlay $2 failed"; exec sh; }
}
layer usr /usr
layer etc /etc
layer wt "$WT"
mkdir -p $R/opt/ocirt $R/vmshare
mount -t 9p -o $P9,ro,cache=loose opt $R/opt/ocirt
mount -t 9p -o $P9 out $R/vmshare
for l in bin lib lib64 sbin; do ln -s usr/$l $R/$l; done
mkdir -p $R/proc $R/sys $R/dev $R/run $R/tmp $R/root $R/var/tmp $R/var/lib $R/var/log $R/var/cache $R/mnt
chmod 1777 $R/tmp $R/var/tmp; chmod 700 $R/root; ln -s /run $R/var/run
# the kernel's modules (for modprobe and the kernel's own requests: netfilter for CRIU's network lock)
mkdir -p $R/usr/lib/modules && ln -sfn "$WT/test/fixtures/build/vm/modules/lib/modules/$KVER" $R/usr/lib/modules/$KVER
mount -t proc proc $R/proc
mount -t sysfs sysfs $R/sys
mount --move /dev $R/dev
mkdir -p $R/dev/pts $R/dev/shm $R/dev/net
mount -t devpts -o newinstance,ptmxmode=0666 devpts $R/dev/pts; ln -sf pts/ptmx $R/dev/ptmx
[ -e $R/dev/net/tun ] || mknod $R/dev/net/tun c 10 200
mount -t tmpfs tmpfs $R/dev/shm; mount -t tmpfs tmpfs $R/run; mkdir -p $R/run/netns $R/run/sshd
# cgroups in the host's hybrid v1 layout (what ocirt and CRIU are tested with)
mount -t tmpfs cgroup_root $R/sys/fs/cgroup
for c in cpu cpuacct cpuset memory devices freezer blkio pids; do mkdir -p $R/sys/fs/cgroup/$c; mount -t cgroup -o $c cgroup $R/sys/fs/cgroup/$c; done
mkdir -p $R/sys/fs/cgroup/systemd $R/sys/fs/cgroup/unified
mount -t cgroup -o none,name=systemd cgroup $R/sys/fs/cgroup/systemd; mount -t cgroup2 cgroup2 $R/sys/fs/cgroup/unified
hostname ocirt-vm
ip link set lo up
ip link set eth0 up && ip addr add "$IP" dev eth0
echo 4194304 > /proc/sys/fs/pipe-max-size
umount /proc /sys
exec switch_root $R /bin/sh "$WT/test/vm/stage2.sh"
