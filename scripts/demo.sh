#!/usr/bin/env bash
# The main job from nothing, on this machine: install what is missing, build two
# small scenarios from Debian's linux-source-6.1, boot each for 30 s, print verdicts.
set -euo pipefail
cd "$(dirname "$0")/.."
packages=(qemu-system-x86 linux-source-6.1 gawk flex bison bc libelf-dev libssl-dev build-essential zstd cpio ccache)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "demo: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
[ -d node_modules ] || npm ci --no-audit --no-fund
# A checkout that moved on since the last build must not run stale code.
npm run --silent build
tree=$(scripts/setup-kernel-tree.sh)
exec bin/kvm-run --kernel-dir "$tree" --configs "${DEMO_CONFIGS:-TREE02C-SMALL UP01-SMALL}" --duration "${DEMO_DURATION:-30s}" "$@"
