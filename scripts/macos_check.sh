#!/usr/bin/env bash
# macOS, checked on Linux (scripts/check.sh runs this): clippy for aarch64-apple-darwin
# (Apple silicon), warnings are errors. Type-checks every line compiled for macOS; nothing is
# linked or run (that needs Apple's SDK and a Mac, which CI has not). ring's C code is
# compiled by clang without the SDK's headers, as ring itself does for WebAssembly:
# -nostdlibinc and RING_CORE_NOSTDLIBINC. Installs the rustup target and clang if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
mac=aarch64-apple-darwin

if ! command -v clang >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  sudo=()
  [ "$(id -u)" = 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends clang
fi
rustup target list --installed | grep -qx "$mac" || rustup target add "$mac"

CC_aarch64_apple_darwin=clang \
  CFLAGS_aarch64_apple_darwin="-nostdlibinc -DRING_CORE_NOSTDLIBINC=1" \
  cargo clippy --target "$mac" --locked -- -D warnings
echo "macOS check passed in $((SECONDS - started)) s."
