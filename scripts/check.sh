#!/usr/bin/env bash
# Every check, exactly as CI runs it: first installs what this machine lacks (system packages
# through scripts/setup.sh, the clippy and rustfmt components through rustup), then
# formatting, lints (warnings are errors; unwrap/expect allowed only in tests, see
# clippy.toml; run while the tests build, see below) and every test; then Windows (scripts/windows_tests.sh): the same lints for
# Windows and the network tests built for Windows, run under Wine (it installs wine64 and
# mingw-w64 when missing). (No macOS check: see the README's platform table.) Safe to run
# again: installing is skipped when nothing is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS=0
if [ "$(id -u)" = 0 ]; then
  bash scripts/setup.sh
elif command -v sudo >/dev/null 2>&1; then
  sudo bash scripts/setup.sh
else
  echo "Not root and no sudo: skipping system packages (see scripts/setup.sh)."
fi
if command -v rustup >/dev/null 2>&1; then
  for component in clippy rustfmt; do
    rustup component list --installed | grep -q "^$component" || rustup component add "$component"
  done
fi

# Each step says how long it took, so a slow CI run shows where its minutes went.
step() {
  local began=$SECONDS
  "$@"
  echo "== $* took $((SECONDS - began)) s (${SECONDS} s in all)"
}
step cargo fmt --all -- --check
# Lint while building: clippy's driver compiles our own crate (RUSTC_WORKSPACE_WRAPPER, which
# is how `cargo clippy` runs it too), so `cargo test` builds and lints every target in one
# pass. That is `cargo clippy --all-targets -- -D warnings` without checking every dependency
# a second time for it (`cargo clippy` only checks; the tests then build it all again).
source scripts/lint_while_building.sh
step cargo test --locked --all-targets --no-run
step cargo test --locked
step bash scripts/windows_tests.sh
