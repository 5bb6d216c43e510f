#!/usr/bin/env bash
# The project's whole quality gate: formatting, lints, the dependency invariant and every test.
# Installs what the tests need on a fresh Debian machine. Used by .ci/run and by developers.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_INCREMENTAL=0
export CARGO_TERM_COLOR=never

# Debian packages the tests need: zbar-tools, poppler-utils, librsvg2-bin and libxml2-utils check
# the rendered QR codes and PDFs (billing PDFs too); softhsm2 holds PKCS#11 keys; openssl checks
# CSRs; chromium, chromium-driver and libnss3-tools (certutil, pk12util) run the staff pages'
# browser tests (dcc-server/tests/browser). Each entry is "command:package".
need_packages=()
for tool_package in pg_ctlcluster:postgresql pg_isready:postgresql-client \
    zbarimg:zbar-tools pdftoppm:poppler-utils pdftotext:poppler-utils rsvg-convert:librsvg2-bin \
    xmllint:libxml2-utils softhsm2-util:softhsm2 openssl:openssl \
    chromium:chromium chromedriver:chromium-driver certutil:libnss3-tools pk12util:libnss3-tools; do
  tool=${tool_package%%:*}; package=${tool_package#*:}
  command -v "$tool" >/dev/null 2>&1 || need_packages+=("$package")
done
if [ ${#need_packages[@]} -gt 0 ]; then
  echo "== installing ${need_packages[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_packages[@]}"
fi

# PostgreSQL for the storage tests (dcc-store runs every test on SQLite and on PostgreSQL).
# The tests connect to DCC_TEST_POSTGRES_URL; they fail loudly when it is unreachable.
export DCC_TEST_POSTGRES_URL=${DCC_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "== starting PostgreSQL"
  cluster_version=$(ls /etc/postgresql | sort -V | tail -n 1)
  pg_ctlcluster --skip-systemctl-redirect "$cluster_version" main start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
# Local connections must be trusted for the test role (as on the CI image); make sure of it.
if ! psql "$DCC_TEST_POSTGRES_URL" -qAtc 'select 1' >/dev/null 2>&1; then
  echo "PostgreSQL is running but $DCC_TEST_POSTGRES_URL does not accept connections" >&2
  exit 1
fi

# SoftHSM2 for the PKCS#11 tests (dcc-hsm, dcc keys): every test makes its own token folder and
# passes SOFTHSM2_CONF to the processes it starts; a global setting must not leak in.
unset SOFTHSM2_CONF
if [ ! -e /usr/lib/softhsm/libsofthsm2.so ] && [ -z "${DCC_PKCS11_MODULE:-}" ]; then
  echo "SoftHSM2's module /usr/lib/softhsm/libsofthsm2.so is missing (set DCC_PKCS11_MODULE)" >&2
  exit 1
fi

echo "== cargo fmt"
cargo fmt --all -- --check

echo "== dependency invariant: the pure cores stay pure"
for pure in dcc-core dcc-billing dcc-calendar dcc-anomaly dcc-auth; do
  if cargo tree -p "$pure" -e normal --prefix none | grep -E '^(tokio|sqlx|axum|hyper|tokio-rustls|reqwest) '; then
    echo "$pure must not depend on an async runtime, a database or an HTTP stack" >&2
    exit 1
  fi
done

echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== cargo test"
cargo test --workspace --locked
