# Node.js packages pinned by a package-lock.json, for the scripts that run
# MongoDB's JavaScript tools against rotor (scripts/node, scripts/mongosh).
# Source it, then call
#   npm_install_pinned LABEL SRC_DIR WORK_DIR [EXTRA_FILE ...]
# which makes sure node and npm exist (Debian's if the machine has none),
# copies SRC_DIR's package.json and package-lock.json (and the extra files)
# into WORK_DIR, and runs `npm ci` there without install scripts, skipping
# it while the installed tree still comes from this exact lockfile.

npm_install_pinned() {
  local label="$1" src="$2" work="$3"
  shift 3
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "== $label: installing Debian's nodejs and npm"
    local sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
    $sudo apt-get update -qq && $sudo apt-get install -y -qq nodejs npm >/dev/null
  fi
  mkdir -p "$work"
  cp "$src/package.json" "$src/package-lock.json" "$@" "$work/"
  local stamp="$work/node_modules/.rotor-installed-from-lock"
  if ! cmp -s "$src/package-lock.json" "$stamp"; then
    (cd "$work" && npm ci --silent --no-audit --no-fund --ignore-scripts)
    cp "$src/package-lock.json" "$stamp"
  fi
}
