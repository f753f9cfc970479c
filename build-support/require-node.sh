# Sourced by the build's Node steps (console/build.sh, clients/js/test.sh, conformance-tests' install.sh), so the
# Node.js check and its message live in one place.
#
# require_node REQUIRED WHAT CONSEQUENCE: returns 0 when Node.js 20+ and npm are on the PATH. Otherwise, when
# REQUIRED is true (-Dsluice.requireAllClients=true, as in .ci/run) it prints an error and exits 1; else it prints
# a warning naming CONSEQUENCE and returns 1, so the caller can skip its step.
require_node() {
  local required="$1" what="$2" consequence="$3" missing=""
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    missing="Node.js and npm not found"
  elif [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
    # playwright-core and the esbuild toolchain need Node.js 20 or later
    missing="Node.js $(node --version) is older than 20"
  fi
  [ -z "$missing" ] && return 0
  local install="Install Node.js 20+ with npm (from nodejs.org or NodeSource; Debian 12's own nodejs is 18)"
  if [ "$required" = "true" ]; then
    echo "ERROR: $missing, and -Dsluice.requireAllClients=true makes $what mandatory. $install." >&2
    exit 1
  fi
  echo "WARNING: $missing: $consequence. $install."
  return 1
}
