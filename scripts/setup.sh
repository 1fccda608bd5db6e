#!/usr/bin/env bash
# Make a fresh Debian 12 machine ready to build and test ocirt, as root. Idempotent: a re-run skips what is
# already in place and takes a few seconds.
#   1. Debian packages (apt-get update only when something is missing)
#   2. CRIU 4.x (scripts/install-criu.sh)
#   3. test fixtures: the static probe (make -C test/fixtures) and the test rootfs (scripts/build-rootfs.sh), and the
#      QEMU VM of the pre-copy e2e test (scripts/setup-vm.sh: qemu-system-x86, Debian 12's kernel, an initramfs)
#   4. node modules (npm ci, skipped when package-lock.json and Node's ABI are those of the last install)
#   5. npm run build
# Usage: scripts/setup.sh [--no-build]   (--no-build stops after step 4)
set -euo pipefail

cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

BUILD=1
for arg in "$@"; do
  case $arg in
    --no-build) BUILD=0 ;;
    *) echo "usage: scripts/setup.sh [--no-build]" >&2; exit 2 ;;
  esac
done

# What building and testing need, with the reason for the less obvious ones.
PACKAGES=(
  build-essential gcc make libc6-dev   # native/ocirt-init and the static test probe (libc.a)
  zlib1g-dev                           # libz.a: native/build/criu-bin/tar, the static `tar` CRIU runs for tmpfs contents
  python3                              # node-gyp, for ssh2's native crypto binding
  git ca-certificates xz-utils
  libseccomp2 libseccomp-dev           # seccomp filters are compiled with libseccomp (through koffi)
  busybox-static                       # the test rootfs (scripts/build-rootfs.sh)
  runc                                 # the reference runtime for benchmarks and side-by-side tests
  uidmap                               # newuidmap/newgidmap: rootless containers
  iproute2 iputils-ping                # netns + veth "hosts" of the migration tests
  iptables                             # CRIU locks a dumped network namespace with iptables-restore
  openssh-server openssh-client        # ssh transport of `ocirt migrate` (e2e runs its own sshd)
  openssl                              # tests: the fake Kubernetes API server's certificates, checks of x509.ts
  hyperfine                            # bench/
  procps util-linux kmod
  podman                               # engine test: podman --runtime ocirt (pulls conmon, containers-common)
  containerd                           # engine test: ctr + the io.containerd.runc.v2 shim with ocirt as its binary
  docker.io                            # engine test: dockerd --add-runtime ocirt=... (its init script is disabled below)
)

step() { printf '\n==> %s\n' "$*"; }
die() { echo "setup.sh: ERROR: $*" >&2; exit 1; }
t0=$SECONDS

[ "$(id -u)" = 0 ] || die "must run as root (ocirt's tests create real containers)"
. /etc/os-release
[ "${ID:-}" = debian ] || echo "setup.sh: WARNING: written for Debian 12, this is ${PRETTY_NAME:-unknown}" >&2

step "Debian packages"
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing: ${missing[*]}"
  apt-get update -qq
  # No daemon may start from a package's postinst (openssh-server would start sshd on port 22): the tests
  # start their own sshd. policy-rc.d is removed again unless it was already there.
  policy=/usr/sbin/policy-rc.d
  own_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod 755 "$policy" && own_policy=1
    trap 'rm -f "$policy"' EXIT
  fi
  rc=0
  log=$(mktemp /tmp/ocirt-setup-apt.XXXXXX)
  apt-get install -y -q --no-install-recommends "${missing[@]}" >"$log" 2>&1 || rc=$?
  [ "$own_policy" = 0 ] || { rm -f "$policy"; trap - EXIT; }
  [ "$rc" = 0 ] || { tail -40 "$log" >&2; rm -f "$log"; die "apt-get install failed (output above)"; }
  grep -E '^(Setting up|E:|W:)' "$log" || true
  rm -f "$log"
else
  echo "all ${#PACKAGES[@]} packages already installed"
fi

# The engine tests start their own private daemons: none may run or start at boot. policy-rc.d kept the
# postinst from starting them; the packages also enable docker's SysV init script and the systemd units
# containerd.service and docker.socket (inert without systemd, live on a machine that boots with it).
if [ -x /etc/init.d/docker ] && ls /etc/rc[2-5].d/S*docker >/dev/null 2>&1; then
  update-rc.d docker disable >/dev/null 2>&1 || true
  echo "disabled docker's init script"
fi
for unit in containerd.service docker.service docker.socket; do
  if ls /etc/systemd/system/*.wants/"$unit" >/dev/null 2>&1; then
    systemctl disable "$unit" >/dev/null 2>&1 || true   # edits the symlinks; works without a running systemd
    echo "disabled $unit"
  fi
done

step "CRIU"
bash scripts/install-criu.sh

step "test fixtures"
make -s -C test/fixtures
echo "probe: test/fixtures/build/probe"
bash scripts/build-rootfs.sh

step "test VM (the pre-copy e2e test's source host)"
bash scripts/setup-vm.sh

step "node modules"
# npm ci starts from scratch (~1 min), so it runs only when the lockfile or Node's ABI changed since the last
# successful install; the stamp records both.
stamp=node_modules/.ocirt-setup-stamp
want="$(sha256sum package-lock.json 2>/dev/null | cut -d' ' -f1) node-abi-$(node -p process.versions.modules)"
if [ -f package-lock.json ] && [ -d node_modules ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  echo "node_modules matches package-lock.json"
elif [ -f package-lock.json ]; then
  npm ci --no-audit --no-fund
  echo "$want" > "$stamp"
else
  npm install --no-audit --no-fund
fi

if [ "$BUILD" = 1 ]; then
  step "npm run build"
  npm run build || die "'npm run build' failed (see above). If the TypeScript or native sources are still being
written, that is expected: fix the build, then re-run scripts/setup.sh (or use --no-build to stop before it)."
fi

echo
echo "setup.sh: ready in $((SECONDS - t0)) s"
