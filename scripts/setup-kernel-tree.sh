#!/usr/bin/env bash
# Unpacks Debian's linux-source-6.1 into kvm-farm's cache, outside any checkout,
# so tests, the demo and CI share one kernel tree. Prints the tree's path.
set -euo pipefail
cache="${KVM_FARM_CACHE:-$HOME/.cache/kvm-farm}"
tree="$cache/src/linux-source-6.1"
tarball=/usr/src/linux-source-6.1.tar.xz
if [ ! -f "$tree/Makefile" ]; then
  if [ ! -f "$tarball" ]; then
    echo "setup-kernel-tree: $tarball is missing: apt-get install linux-source-6.1" >&2
    exit 1
  fi
  mkdir -p "$cache/src"
  tmp=$(mktemp -d "$cache/src/unpack.XXXXXX")
  tar -xJf "$tarball" -C "$tmp"
  mv "$tmp/linux-source-6.1" "$tree"
  rmdir "$tmp"
fi
echo "$tree"
