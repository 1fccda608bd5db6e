#!/usr/bin/env bash
# ocirt's main job, end to end on this machine (as root): a bundle made with `ocirt spec` on a busybox rootfs,
# then create, start, state, list, pause/resume, kill and delete as an engine would call them, and a
# foreground `run` whose exit status comes back. Everything lives in a temp dir and is removed at the end.
# scripts/demo.sh runs it before the migration demo (scripts/demo-migrate.mjs).
set -euo pipefail
cd "$(dirname "$0")/.."
OCIRT=$PWD/bin/ocirt
ROOTFS=$PWD/test/fixtures/build/rootfs
[ -x native/build/ocirt-init ] && [ -f dist/ocirt.js ] || { echo "run scripts/setup.sh first" >&2; exit 1; }

work=$(mktemp -d /tmp/ocirt-demo.XXXXXX)
root=$work/state
id=demo-$$
cleanup() {
  "$OCIRT" --root "$root" delete --force "$id" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

mkdir -p "$work/bundle"
cd "$work/bundle"
say "ocirt spec"
"$OCIRT" spec
# point the default config at the busybox rootfs and give it a long-running, terminal-less process
python3 - "$ROOTFS" <<'PY'
import json, sys
c = json.load(open('config.json'))
c['root'] = {'path': sys.argv[1], 'readonly': True}
c['process']['terminal'] = False
c['process']['args'] = ['/bin/probe', 'counter', '-']
c['hostname'] = 'ocirt-demo'
json.dump(c, open('config.json', 'w'), indent=2)
PY

say "ocirt --root $root create --bundle . --pid-file pid $id"
"$OCIRT" --root "$root" create --bundle . --pid-file pid "$id" > "$work/out.log"
echo "pid file: $(cat pid)"
say "ocirt --root $root state $id"
"$OCIRT" --root "$root" state "$id"
say "ocirt --root $root start $id"
"$OCIRT" --root "$root" start "$id"
sleep 0.5
say "ocirt --root $root list"
"$OCIRT" --root "$root" list
say "ocirt --root $root ps --format json $id"
"$OCIRT" --root "$root" ps --format json "$id"
say "ocirt --root $root pause $id   (the counter stops)"
"$OCIRT" --root "$root" pause "$id"
"$OCIRT" --root "$root" state "$id" | grep '"status"'
before=$(tail -n1 "$work/out.log"); sleep 0.5; after=$(tail -n1 "$work/out.log")
echo "output while paused: $before -> $after"
say "ocirt --root $root resume $id"
"$OCIRT" --root "$root" resume "$id"
sleep 0.3
echo "container output: $(tail -n1 "$work/out.log")"
say "ocirt --root $root kill $id KILL"
"$OCIRT" --root "$root" kill "$id" KILL
sleep 0.2
"$OCIRT" --root "$root" state "$id" | grep '"status"'
say "ocirt --root $root delete $id"
"$OCIRT" --root "$root" delete "$id"
"$OCIRT" --root "$root" list

python3 - <<'PY'
import json
c = json.load(open('config.json'))
c['process']['args'] = ['/bin/sh', '-c', 'echo "hello from $(hostname), pid $$ in its own namespace"; exit 3']
json.dump(c, open('config.json', 'w'), indent=2)
PY
say "ocirt --root $root run $id-run   (foreground: output relayed, exit status returned)"
set +e
"$OCIRT" --root "$root" run "$id-run"
status=$?
set -e
echo "exit status: $status"
echo
echo "demo: done"
