#!/usr/bin/env bash
# The README's test command, from nothing on Debian 12: installs the missing packages
# (scripts/packages.txt), unpacks the kernel tree, runs npm ci when node_modules is
# missing or stale, then npm test. Arguments go to vitest (e.g. a test file).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/setup.sh
mapfile -t packages < <(test_packages)
ensure_packages test "${packages[@]}"
ensure_node test
echo "test: kernel tree $(scripts/setup-kernel-tree.sh)"
ensure_node_modules test
exec npm test -- "$@"
