#!/usr/bin/env bash
# The main job from nothing, on this machine: install what is missing, build two
# small scenarios from Debian's linux-source-6.1, boot each for 30 s, print verdicts.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/setup.sh
# The demo builds and boots; it needs fewer packages than the tests (no farm, no browser).
ensure_packages demo qemu-system-x86 linux-source-6.1 gawk flex bison bc libelf-dev libssl-dev build-essential zstd cpio ccache
ensure_node demo
ensure_node_modules demo
# A checkout that moved on since the last build must not run stale code.
npm run --silent build
tree=$(scripts/setup-kernel-tree.sh)
exec bin/kvm-run --kernel-dir "$tree" --scenarios bundled --configs "${DEMO_CONFIGS:-TREE02C-SMALL UP01-SMALL}" --duration "${DEMO_DURATION:-30s}" "$@"
