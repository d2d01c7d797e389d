#!/usr/bin/env bash
# The one check: formatting, lints (warnings are errors; unwrap/expect allowed only in tests,
# see clippy.toml) and every test. CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings
cargo test --locked
