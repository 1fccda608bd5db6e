#!/usr/bin/env bash
# Install CRIU 4.x for ocirt's checkpoint, restore and migration.
#
# Debian 12's criu 3.17 fails on kernels >= 6.13 ("vdso: Unexpected rt vDSO area bounds"). Debian 13 (trixie)
# ships criu 4.1, which works. Installing it with `apt-get install -t trixie` would upgrade libc6 and ~40 base
# packages, so instead (see shared/MACHINE.md, CRIU):
#   1. add a deb822 source for trixie on the mirror the machine already uses, pinned so that nothing is ever
#      installed from it by accident (APT::Default-Release "bookworm" + trixie at priority 100);
#   2. `apt-get download` criu, libcompel1 and the shared libraries they need, from trixie;
#   3. `dpkg-deb -x` them into one prefix (/opt/ocirt/criu) and run criu through that prefix's own loader,
#      from a wrapper named `criu` in /usr/local/sbin (early in PATH; runc finds it there too).
# On Debian 13 or later the distribution's own criu is installed instead, behind the same wrapper.
#
# The wrapper also sets CRIU_FAULT=130 (CRIU's "no breakpoints" switch): on these VMs a hardware breakpoint set
# through ptrace never fires, so without it every dump hangs forever in parasite cleanup ("Daemon N exited
# trapping"), although `criu check` passes. CRIU then stops its parasite with PTRACE_SYSCALL instead, which is
# what CRIU itself once did on every machine. A dump + restore self-test at the end proves it.
#
# Also raises fs.pipe-max-size to 4 MiB, which CRIU's lazy-pages daemon needs when root lacks CAP_SYS_RESOURCE.
#
# Idempotent: does nothing (but the sysctl) when the current wrapper is installed, reports 4.x and `criu check`
# passes; when only the wrapper is outdated, it is rewritten without downloading again.
# Environment: OCIRT_CRIU_PREFIX (default /opt/ocirt/criu), OCIRT_CRIU_WRAPPER (default /usr/local/sbin/criu).
set -euo pipefail

PREFIX=${OCIRT_CRIU_PREFIX:-/opt/ocirt/criu}
WRAPPER=${OCIRT_CRIU_WRAPPER:-/usr/local/sbin/criu}
SOURCES=/etc/apt/sources.list.d/ocirt-trixie.sources
PREFS=/etc/apt/preferences.d/ocirt-trixie
APTCONF=/etc/apt/apt.conf.d/90ocirt-default-release
PIPE_MAX=4194304
WRAPPER_MARK="ocirt-criu-wrapper 3"
export DEBIAN_FRONTEND=noninteractive

log() { echo "install-criu: $*"; }
die() { echo "install-criu: ERROR: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root"

# CRIU's lazy-pages daemon resizes a pipe to 4 MiB and ignores a failure; every page request then fails.
raise_pipe_max() {
  local cur
  cur=$(cat /proc/sys/fs/pipe-max-size)
  if [ "$cur" -lt "$PIPE_MAX" ]; then
    echo "$PIPE_MAX" > /proc/sys/fs/pipe-max-size
    log "fs.pipe-max-size raised from $cur to $PIPE_MAX"
  fi
  # Documents the setting (and applies it at boot where something runs sysctl --system).
  if [ -d /etc/sysctl.d ] && ! grep -qs "^fs.pipe-max-size = $PIPE_MAX\$" /etc/sysctl.d/90-ocirt.conf; then
    printf '# ocirt: CRIU lazy-pages needs 4 MiB pipes (scripts/install-criu.sh)\nfs.pipe-max-size = %s\n' \
      "$PIPE_MAX" > /etc/sysctl.d/90-ocirt.conf
  fi
}

# True when `criu` at $1 is 4.x or later and `criu check` passes.
criu_ok() {
  local bin=$1 ver
  [ -x "$bin" ] || return 1
  ver=$("$bin" --version 2>/dev/null | sed -n 's/^Version: *\([0-9][0-9]*\)\..*/\1/p')
  [ -n "$ver" ] && [ "$ver" -ge 4 ] || return 1
  "$bin" check >/dev/null 2>&1
}

verify() {
  local bin=$1 out
  log "$("$bin" --version | head -1) at $bin"
  out=$("$bin" check 2>&1) || { echo "$out" >&2; die "'criu check' failed"; }
  echo "$out" | grep -q "Looks good" || { echo "$out" >&2; die "'criu check' did not say 'Looks good.'"; }
  log "criu check: $(echo "$out" | tail -1)"
}

# Dump a sleeping process and restore it: catches what `criu check` does not (the breakpoint hang above).
selftest() {
  local bin=$1 dir pid
  dir=$(mktemp -d /tmp/ocirt-criu-selftest.XXXXXX)
  # Not a child of this shell (setsid -f), so bash reports nothing when it is killed.
  setsid -f sh -c 'echo $$ > "$1"; exec sleep 120' sh "$dir/pid" </dev/null >/dev/null 2>&1
  sleep 0.2
  pid=$(cat "$dir/pid")
  if ! timeout 60 "$bin" dump -t "$pid" -D "$dir" -o dump.log; then
    kill -9 "$pid" 2>/dev/null || true
    tail -5 "$dir/dump.log" >&2
    rm -rf "$dir"
    die "self-test: 'criu dump' of a sleeping process failed or hung (log above)"
  fi
  # The dumped process was killed; its pid must be free (reaped by its new parent) before it is restored.
  for _ in $(seq 50); do [ -e "/proc/$pid" ] || break; sleep 0.1; done
  if ! timeout 60 "$bin" restore -D "$dir" -o restore.log -d || ! kill -0 "$pid" 2>/dev/null; then
    tail -5 "$dir/restore.log" >&2
    rm -rf "$dir"
    die "self-test: 'criu restore' failed (log above)"
  fi
  kill -9 "$pid"
  rm -rf "$dir"
  log "self-test: dump and restore of a process work"
}

# write_wrapper EXEC...: /usr/local/sbin/criu running EXEC... "$@" with CRIU_FAULT set. A small static program
# (C, compiled here) rather than a shell script: ocirt runs criu three times in a migration's freeze, and /bin/sh
# costs ~5-10 ms a start on these VMs where an exec of a static binary costs ~1. A shell script without a compiler.
write_wrapper() {
  mkdir -p "$(dirname "$WRAPPER")"
  local src arg
  for arg in "$@"; do
    case $arg in *'"'*|*'\'*|*$'\n'*) die "cannot put $arg in the wrapper";; esac
  done
  src=$(mktemp /tmp/ocirt-criu-wrapper.XXXXXX.c)
  {
    echo "/* $WRAPPER_MARK: installed by ocirt scripts/install-criu.sh."
    echo ' * CRIU_FAULT=130 stops the parasite with PTRACE_SYSCALL: hardware breakpoints never fire on these VMs.'
    [ "$1" = "${1#$PREFIX}" ] || {
      echo " * CRIU from Debian trixie, run by its own loader and libraries from $PREFIX (see PACKAGES there)."
      echo ' * --library-path, unlike LD_LIBRARY_PATH, is not inherited by programs criu runs (ip, iptables-restore).'
    }
    echo ' */'
    echo '#include <stdio.h>'
    echo '#include <stdlib.h>'
    echo '#include <unistd.h>'
    echo "const char ocirt_mark[] __attribute__((used)) = \"$WRAPPER_MARK\";"
    printf 'static const char *const fixed[] = {'
    for arg in "$@"; do printf '"%s", ' "$arg"; done
    echo '};'
    echo 'int main(int argc, char **argv) {'
    echo '  const size_t n = sizeof fixed / sizeof fixed[0];'
    echo '  char **args = calloc(n + (size_t)argc, sizeof *args);'
    echo '  if (!args) return 127;'
    echo '  for (size_t i = 0; i < n; i++) args[i] = (char *)fixed[i];'
    echo '  for (int i = 1; i < argc; i++) args[n + (size_t)i - 1] = argv[i];'
    echo '  const char *fault = getenv("CRIU_FAULT");'
    echo '  if (!fault || !*fault) setenv("CRIU_FAULT", "130", 1);'
    echo '  execv(args[0], args);'
    echo '  perror(args[0]);'
    echo '  return 127;'
    echo '}'
  } > "$src"
  if command -v cc >/dev/null && cc -O2 -static -o "$WRAPPER.tmp" "$src" 2> "$src.err"; then
    mkdir -p /usr/local/share/ocirt && cp "$src" /usr/local/share/ocirt/criu-wrapper.c
  else
    log "no C compiler (or no static libc: $(tail -1 "$src.err" 2>/dev/null)): a shell wrapper, slower to start"
    {
      echo '#!/bin/sh'
      echo "# $WRAPPER_MARK: installed by ocirt scripts/install-criu.sh."
      echo '# CRIU_FAULT=130 stops the parasite with PTRACE_SYSCALL: hardware breakpoints never fire on these VMs.'
      echo 'CRIU_FAULT=${CRIU_FAULT:-130}'
      echo 'export CRIU_FAULT'
      printf 'exec'; printf ' "%s"' "$@"; echo ' "$@"'
    } > "$WRAPPER.tmp"
  fi
  rm -f "$src" "$src.err"
  chmod 755 "$WRAPPER.tmp"
  mv "$WRAPPER.tmp" "$WRAPPER"
  log "wrote $WRAPPER"
}

finish() {
  case ":$PATH:" in
    *":$(dirname "$WRAPPER"):"*) ;;
    *) log "WARNING: $(dirname "$WRAPPER") is not in PATH; runc and ocirt look criu up in PATH" ;;
  esac
  [ "$(command -v criu)" = "$WRAPPER" ] || log "WARNING: 'criu' in PATH is $(command -v criu), not $WRAPPER"
  verify "$WRAPPER"
  selftest "$WRAPPER"
  exit 0
}

raise_pipe_max

if grep -qs "$WRAPPER_MARK" "$WRAPPER" && criu_ok "$WRAPPER"; then
  log "$("$WRAPPER" --version | head -1) already installed at $WRAPPER"
  exit 0
fi

. /etc/os-release
if [ "${VERSION_CODENAME:-}" != bookworm ]; then
  # Debian 13+ (or a derivative): the distribution's criu is new enough.
  log "on ${PRETTY_NAME:-unknown}: using the distribution's criu"
  dpkg-query -W -f='${db:Status-Status}' criu 2>/dev/null | grep -qx installed ||
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends criu >/dev/null; }
  criu_ok /usr/sbin/criu || die "the distribution's criu is not 4.x or fails 'criu check'"
  write_wrapper /usr/sbin/criu
  finish
fi

# A prefix from an earlier run that still works: only the wrapper needs rewriting.
if [ -f "$PREFIX/WRAPPER_EXEC" ]; then
  read -r -a exec_argv < "$PREFIX/WRAPPER_EXEC"
  if "${exec_argv[@]}" --version 2>/dev/null | grep -q '^Version: [4-9]'; then
    write_wrapper "${exec_argv[@]}"
    finish
  fi
fi

# --- 1. trixie as a pinned source --------------------------------------------------------------------------

# The Debian mirror the machine already uses for bookworm: the first URI of a source whose suites include the
# exact word "bookworm" (deb822 *.sources, then one-line sources.list format).
detect_mirror() {
  local f uri
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && [ "$f" != "$SOURCES" ] || continue
    uri=$(awk '
      function flush() { if (suite > 0 && uri && !found) { print uri; found = 1 } suite = 0; uri = "" }
      /^[[:space:]]*$/ { flush(); next }
      /^[[:space:]]*#/ { next }
      tolower($1) == "enabled:" && tolower($2) == "no" { suite = -1000 }
      tolower($1) == "uris:" { uri = $2 }
      tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == "bookworm") suite++ }
      tolower($1) == "types:" { deb = 0; for (i = 2; i <= NF; i++) if ($i == "deb") deb = 1; if (!deb) suite = -1000 }
      END { flush() }' "$f")
    [ -n "$uri" ] && { echo "$uri"; return; }
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    # deb [options] URI SUITE COMPONENTS...
    uri=$(sed -E 's/\[[^]]*\]//' "$f" | awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }')
    [ -n "$uri" ] && { echo "$uri"; return; }
  done
}

MIRROR=$(detect_mirror)
[ -n "$MIRROR" ] || die "no apt source for bookworm found in /etc/apt/sources.list{,.d/*}"
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
[ -f "$KEYRING" ] || die "$KEYRING missing (package debian-archive-keyring)"

write_if_changed() { # PATH CONTENT
  if [ ! -f "$1" ] || [ "$(cat "$1")" != "$2" ]; then
    printf '%s\n' "$2" > "$1"
    log "wrote $1"
    return 0
  fi
  return 1
}

changed=0
write_if_changed "$SOURCES" "# Written by ocirt scripts/install-criu.sh: trixie is used only to download CRIU 4.x into $PREFIX.
Types: deb
URIs: $MIRROR
Suites: trixie
Components: main
Signed-By: $KEYRING" && changed=1
write_if_changed "$APTCONF" "// Written by ocirt scripts/install-criu.sh: bookworm stays the release packages come from.
APT::Default-Release \"bookworm\";" || true
# Default-Release gives bookworm 990 but leaves bookworm-security/-updates at 500, level with trixie: apt would
# then pick trixie's higher version of any package installed from those suites. Pin trixie low and keep all
# bookworm suites level with each other, so apt behaves exactly as before the trixie source was added.
write_if_changed "$PREFS" "# Written by ocirt scripts/install-criu.sh: never install from trixie by accident.
Package: *
Pin: release n=trixie
Pin-Priority: 100

Package: *
Pin: release n=bookworm-security
Pin-Priority: 990

Package: *
Pin: release n=bookworm-updates
Pin-Priority: 990" || true

if [ "$changed" = 1 ] || ! ls /var/lib/apt/lists/*_dists_trixie_InRelease >/dev/null 2>&1; then
  log "apt-get update (trixie source added on $MIRROR)"
  apt-get update -qq
fi

# The pin must hold: libc6 still comes from bookworm.
cand=$(apt-cache policy libc6 | sed -n 's/^ *Candidate: *//p')
inst=$(dpkg-query -W -f='${Version}' libc6)
[ "$cand" = "$inst" ] || die "apt would change libc6 from $inst to $cand: the trixie pin is not effective"

# --- 2. download criu, libcompel1 and their shared-library closure from trixie -----------------------------

# The trixie stanzas of PKG...: "PACKAGE DEP DEP ..." per package, where the deps are the library packages
# (lib*) among its Depends and Pre-Depends, first alternative, without versions. One apt-cache call per level
# of the dependency tree: each call loads the whole package cache (~1.5 s).
lib_deps() {
  apt-cache show "${@/%//trixie}" 2>/dev/null | awk '
    function flush() { if (pkg != "") print pkg deps; pkg = ""; deps = "" }
    /^$/ { flush(); next }
    /^Package:/ { pkg = $2 }
    /^(Pre-)?Depends:/ {
      sub(/^[^:]*:/, ""); n = split($0, d, ",")
      for (i = 1; i <= n; i++) {
        sub(/\|.*/, "", d[i]); sub(/\(.*/, "", d[i]); sub(/:any/, "", d[i]); gsub(/[ \t]/, "", d[i])
        if (d[i] ~ /^lib/) deps = deps " " d[i]
      }
    }
    END { flush() }'
}

declare -A queued=([criu]=1 [libcompel1]=1)
pkgs=()
level=(criu libcompel1)
while [ "${#level[@]}" -gt 0 ]; do
  pkgs+=("${level[@]}")
  next=()
  found=0
  while read -r p deps; do
    found=$((found + 1))
    for d in $deps; do
      [ -n "${queued[$d]:-}" ] || { queued[$d]=1; next+=("$d"); }
    done
  done < <(lib_deps "${level[@]}" | sort -u)
  [ "$found" -ge "${#level[@]}" ] || die "not all of ${level[*]} found in trixie"
  level=("${next[@]}")
done
log "downloading from trixie: ${pkgs[*]}"

work=$(mktemp -d /tmp/ocirt-criu.XXXXXX)
trap 'rm -rf "$work"' EXIT
download() { (cd "$work/debs" && apt-get download -qq "${pkgs[@]/%//trixie}" >/dev/null); }
mkdir -p "$work/debs"
# apt downloads as the unprivileged _apt user when that user can write the directory.
chmod 755 "$work" && { ! id _apt >/dev/null 2>&1 || chown _apt "$work/debs"; }
if ! download; then
  log "download failed; refreshing the package lists and retrying"
  apt-get update -qq
  download || die "apt-get download from trixie failed"
fi

# --- 3. extract into the prefix, install the wrapper ------------------------------------------------------

stage="$PREFIX.new"
rm -rf "$stage"
mkdir -p "$stage"
for deb in "$work"/debs/*.deb; do dpkg-deb -x "$deb" "$stage"; done
for deb in "$work"/debs/*.deb; do dpkg-deb -f "$deb" Package Version | paste -sd' '; done > "$stage/PACKAGES"
[ -x "$stage/usr/sbin/criu" ] || die "criu binary missing after extraction"

loader=$(ls "$stage"/usr/lib/*-linux-gnu*/ld-linux*.so.* 2>/dev/null | head -1)
[ -n "$loader" ] || die "no dynamic loader (ld-linux*) in the extracted libc6"
libdir=$(dirname "$loader")
loader=${loader/#$stage/$PREFIX}
libdir=${libdir/#$stage/$PREFIX}

rm -rf "$PREFIX.old"
[ ! -e "$PREFIX" ] || mv "$PREFIX" "$PREFIX.old"
mv "$stage" "$PREFIX"
rm -rf "$PREFIX.old"

# Every library criu needs must now resolve inside the prefix.
missing=$("$loader" --library-path "$libdir" --list "$PREFIX/usr/sbin/criu" | grep 'not found' || true)
[ -z "$missing" ] || die "libraries missing from $PREFIX: $missing"

exec_argv=("$loader" --library-path "$libdir" --argv0 criu "$PREFIX/usr/sbin/criu")
echo "${exec_argv[*]}" > "$PREFIX/WRAPPER_EXEC"
write_wrapper "${exec_argv[@]}"
finish
