import {test} from 'node:test'
import assert from 'node:assert/strict'
import {kernelMountPoints} from '../../../src/migrate/movable'

// a container's /proc/<pid>/mountinfo (mount points as the container sees them), trimmed
const MOUNTINFO = `
900 899 0:50 / / ro,relatime - overlay overlay rw
901 900 0:52 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
902 900 0:53 / /dev rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755
903 900 0:54 / /sys ro,nosuid,nodev,noexec,relatime - sysfs sysfs ro
904 903 0:55 / /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime - tmpfs tmpfs ro,mode=755
905 904 0:30 /mig1 /sys/fs/cgroup/memory ro,nosuid,nodev,noexec,relatime - cgroup cgroup rw,memory
906 901 0:6 /null /proc/kcore rw,nosuid - devtmpfs udev rw
907 901 0:52 /sysrq-trigger /proc/sysrq-trigger ro,nosuid,nodev,noexec,relatime - proc proc rw
908 903 0:56 / /sys/firmware ro,relatime - tmpfs tmpfs ro
909 901 0:57 / /proc/acpi ro,relatime - tmpfs tmpfs ro
910 900 0:58 / /data\\040dir rw - ext4 /dev/vda rw
911 901 0:52 /bus /proc/bus ro,nosuid,nodev,noexec,relatime - proc proc rw
`

test('the container mount points that depend on the kernel: those inside /proc and /sys, not the cgroup view nor /proc and /sys themselves', () => {
  assert.deepEqual(kernelMountPoints(MOUNTINFO), ['/proc/acpi', '/proc/bus', '/proc/kcore', '/proc/sysrq-trigger', '/sys/firmware'])
})

test('mountinfo escapes (\\040 for a space) are decoded', () => {
  assert.deepEqual(kernelMountPoints('1 0 0:1 / /proc/odd\\040name rw - proc proc rw\n'), ['/proc/odd name'])
})
