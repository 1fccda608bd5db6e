#!/usr/bin/env bash
# ocirt's main job on this machine (as root, after scripts/setup.sh): the lifecycle an engine drives
# (scripts/demo-lifecycle.sh), then the headline: a running container migrated between two local hosts and
# back over SSH, with the migration summary (scripts/demo-migrate.mjs). Both clean up after themselves.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/demo-lifecycle.sh
node scripts/demo-migrate.mjs
