#!/usr/bin/env bash
# The whole test suite, from a fresh clone: builds, then runs every test.
# Installs and starts whatever the suite needs; fails loudly if it cannot.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

echo "== build"
cargo build --locked --all-targets

echo "== tests"
cargo test --locked

echo "== shipped config and rule packs"
cargo run --locked -q -- config check config/earshot.toml
cargo run --locked -q -- rules check rules
cargo run --locked -q -- rules test rules
