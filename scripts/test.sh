#!/usr/bin/env bash
# The project's whole quality gate: formatting, lints, the dependency invariant and every test.
# Installs what the tests need on a fresh Debian machine. Used by .ci/run and by developers.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_INCREMENTAL=0
export CARGO_TERM_COLOR=never

# Debian packages the tests need (none yet beyond the toolchain; later issues add
# PostgreSQL, SoftHSM2, zbar-tools, poppler-utils and Chromium here).
need_packages=()
for tool_package in ; do
  tool=${tool_package%%:*}; package=${tool_package#*:}
  command -v "$tool" >/dev/null 2>&1 || need_packages+=("$package")
done
if [ ${#need_packages[@]} -gt 0 ]; then
  echo "== installing ${need_packages[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_packages[@]}"
fi

echo "== cargo fmt"
cargo fmt --all -- --check

echo "== dependency invariant: dcc-core stays pure"
if cargo tree -p dcc-core -e normal --prefix none | grep -E '^(tokio|sqlx|axum|hyper|tokio-rustls|reqwest) '; then
  echo "dcc-core must not depend on an async runtime, a database or an HTTP stack" >&2
  exit 1
fi

echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== cargo test"
cargo test --workspace --locked
