#!/bin/sh
# Stage 2 of the test VM: PID 1 on its tmpfs root (test/vm/init.sh mounted everything). Runs the script named by
# ocirt.cmd= with its output in /vmshare/out.log (the test's directory on the host) and on the serial console,
# writes its exit status to /vmshare/rc, then powers off (static busybox: reboot(2), nothing runs after it).
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8
echo "ocirt-vm: stage 2 at $(cut -d' ' -f1 /proc/uptime)s" > /dev/ttyS0
cmd=$(tr ' ' '\n' < /proc/cmdline | sed -n 's/^ocirt\.cmd=//p')
( sh "$cmd"; echo $? > /vmshare/rc.tmp ) < /dev/null 2>&1 | tee /vmshare/out.log > /dev/ttyS0
mv /vmshare/rc.tmp /vmshare/rc
echo "ocirt-vm: done at $(cut -d' ' -f1 /proc/uptime)s" > /dev/ttyS0
sync; umount /vmshare
exec /bin/busybox poweroff -f
