# Shared helpers for the scripts in this directory. Source it; don't run it.
#
# Every ensure_* function is idempotent: it checks first and installs only what is missing, so
# the README's commands can be run again and again on the same machine.

step() { printf '\n\033[1;34m==> %s\033[0m\n' "$*"; }
warn() { printf '\033[1;33mwarning:\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

# apt-get, as root or through sudo, with the package lists refreshed once per run.
APT_UPDATED=
apt_install() {
  local sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  if [[ -z $APT_UPDATED ]]; then
    "${sudo[@]}" apt-get update -qq
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "$@"
}

cargo_target_dir() {
  if [[ -n ${CARGO_TARGET_DIR:-} ]]; then
    echo "$CARGO_TARGET_DIR"
  else
    cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])'
  fi
}

# The version of a package as resolved in Cargo.lock.
locked_version() {
  awk -v name="$1" '$0 == "name = \"" name "\"" { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock
}

ensure_rust() {
  command -v cargo >/dev/null || die "Rust is not installed: see https://rustup.rs, then run this again"
  # rust-toolchain.toml names the toolchain and the wasm32 target; rustup installs them on
  # first use, but say it explicitly so a failure is reported here and not mid-build.
  rustup target list --installed | grep -qx wasm32-unknown-unknown \
    || rustup target add wasm32-unknown-unknown
}

# wasm-bindgen's CLI must be exactly the version of the wasm-bindgen crate we link against.
ensure_wasm_bindgen() {
  local want have
  want=$(locked_version wasm-bindgen)
  # `|| true`: on a fresh machine the CLI is missing, and under `set -o pipefail` the failed
  # probe would otherwise end the calling script instead of installing it.
  have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
  if [[ $have != "$want" ]]; then
    step "Installing wasm-bindgen-cli $want (once per machine)"
    cargo install wasm-bindgen-cli --version "$want"
  fi
}

# PostgreSQL's server binaries (initdb, postgres, pg_ctl), for the embedded database.
pg_bin_dir() {
  local dir
  if dir=$(dirname "$(readlink -f "$(command -v initdb 2>/dev/null)")" 2>/dev/null) \
    && [[ -x $dir/initdb && -x $dir/postgres ]]; then
    echo "$dir"; return
  fi
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4 -n -r); do
    [[ -x $dir/initdb && -x $dir/postgres ]] && { echo "$dir"; return; }
  done
  return 1
}

ensure_postgres_binaries() {
  if ! pg_bin_dir >/dev/null; then
    step "Installing PostgreSQL binaries from Debian"
    apt_install postgresql
  fi
  # PostgreSQL refuses to run as root; the server then runs it as this account.
  if [[ $(id -u) -eq 0 ]] && ! id postgres >/dev/null 2>&1; then
    useradd --system --home-dir /var/lib/postgresql --shell /usr/sbin/nologin postgres
  fi
}

ensure_chromium() {
  if [[ ! -x /usr/bin/chromium ]]; then
    step "Installing Chromium from Debian (for browser tests)"
    apt_install chromium
  fi
}

# Prometheus from Debian: the metrics test scrapes the server with it. Only the binary is used
# (the package's service is not started); its path goes to the tests in PROMETHEUS_BIN.
ensure_prometheus() {
  if [[ ! -x /usr/bin/prometheus ]]; then
    step "Installing Prometheus from Debian (for the metrics test)"
    apt_install prometheus
  fi
  export PROMETHEUS_BIN=/usr/bin/prometheus
}

ensure_node() {
  command -v npm >/dev/null || { step "Installing Node.js from Debian"; apt_install nodejs npm; }
}

# Installs end2end/'s npm packages when package-lock.json changed since the last install.
ensure_e2e_packages() {
  ensure_node
  local stamp=end2end/node_modules/.installed-lock
  if [[ ! -f $stamp ]] || ! cmp -s end2end/package-lock.json "$stamp"; then
    step "Installing browser-test packages"
    (cd end2end && npm ci --no-audit --no-fund)
    cp end2end/package-lock.json "$stamp"
  fi
}

# aiosmtpd (PyPI), the SMTP server the Rust tests send mail to; its path goes to the tests in
# AIOSMTPD_BIN.
ensure_test_smtp() {
  local venv=server/tests/smtp/.venv reqs=server/tests/smtp/requirements.txt
  if [[ ! -x $venv/bin/aiosmtpd ]] || ! cmp -s "$reqs" "$venv/.installed-requirements"; then
    step "Installing the tests' SMTP server (aiosmtpd)"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$reqs"
    cp "$reqs" "$venv/.installed-requirements"
  fi
  export AIOSMTPD_BIN="$PWD/$venv/bin/aiosmtpd"
}

# wasm-opt from the npm package binaryen: Debian's older binaryen emits WASM that fails to
# hydrate. Installed under target/tools so it never touches the system.
wasm_opt_bin() {
  local version=132.0.0 prefix=target/tools/binaryen
  if [[ ! -x $prefix/node_modules/.bin/wasm-opt ]] \
    || [[ $("$prefix/node_modules/.bin/wasm-opt" --version 2>/dev/null) != *"version 132"* ]]; then
    ensure_node
    mkdir -p "$prefix"
    npm install --silent --no-audit --no-fund --prefix "$prefix" "binaryen@$version" >&2
  fi
  echo "$prefix/node_modules/.bin/wasm-opt"
}

# A loopback port that is free now (the kernel picks it; we release it for the caller to bind).
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# A throwaway PostgreSQL cluster for the test suite, unless DATABASE_URL already names one.
# Exports DATABASE_URL and stops the cluster when the calling script exits.
start_test_postgres() {
  if [[ -n ${DATABASE_URL:-} ]]; then
    echo "using DATABASE_URL from the environment"
    return
  fi
  local bin dir port as=()
  bin=$(pg_bin_dir) || die "PostgreSQL binaries not found"
  dir=$(mktemp -d /tmp/astraflow-test-pg.XXXXXX)
  chmod 755 "$dir"
  if [[ $(id -u) -eq 0 ]]; then
    chown postgres: "$dir"
    as=(runuser -u postgres --)
  fi
  port=$(free_port)
  "${as[@]}" "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --no-locale -E UTF8 >/dev/null
  # Durability is pointless for a cluster that is deleted at exit; turning it off keeps
  # per-test database creation fast.
  "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w start \
    -o "-p $port -c listen_addresses=127.0.0.1 -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" >/dev/null
  TEST_PG_DIR=$dir
  TEST_PG_AS=("${as[@]}")
  TEST_PG_BIN=$bin
  trap stop_test_postgres EXIT
  export DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
  echo "test PostgreSQL on port $port ($dir)"
}

stop_test_postgres() {
  [[ -n ${TEST_PG_DIR:-} ]] || return 0
  "${TEST_PG_AS[@]}" "$TEST_PG_BIN/pg_ctl" -D "$TEST_PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$TEST_PG_DIR"
  TEST_PG_DIR=
}
