# Set-up shared by scripts/test.sh, scripts/demo.sh and .ci/run (sourced, not run).
# Each step does nothing when its part is already there.

kvmfarm_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# The Debian packages the tests need: scripts/packages.txt without comments.
test_packages() {
  sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$kvmfarm_root/scripts/packages.txt"
}

# ensure_packages LABEL PACKAGE...: installs the packages that are missing (apt-get
# update first), as root; anyone else is told which to install, and the script stops.
ensure_packages() {
  local label=$1 p
  shift
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "$label: missing Debian packages: as root, run: apt-get install ${missing[*]}" >&2
    exit 1
  fi
  echo "$label: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# ensure_node LABEL: Debian 12's own nodejs is 18; kvm-farm needs what package.json's engines says.
ensure_node() {
  local label=$1
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "$label: node and npm not found: install Node.js 20 (Debian 12's nodejs is too old; e.g. from deb.nodesource.com)" >&2
    exit 1
  fi
  local major
  major=$(node -p 'process.versions.node.split(".")[0]')
  if [ "$major" -lt 20 ]; then
    echo "$label: node $(node -v) is too old: install Node.js 20 (e.g. from deb.nodesource.com)" >&2
    exit 1
  fi
}

# ensure_node_modules LABEL: npm ci when node_modules is missing or was installed from
# another package-lock.json (a stamp in node_modules records which).
ensure_node_modules() {
  local label=$1 stamp="$kvmfarm_root/node_modules/.kvm-farm-lock"
  local want
  want=$(sha256sum "$kvmfarm_root/package-lock.json" | cut -d' ' -f1)
  if [ -L "$kvmfarm_root/node_modules" ]; then
    # A link to another checkout's node_modules: that checkout installs it, not us.
    return 0
  fi
  if [ -d "$kvmfarm_root/node_modules" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    return 0
  fi
  echo "$label: npm ci"
  (cd "$kvmfarm_root" && npm ci --no-audit --no-fund)
  echo "$want" >"$stamp"
}
