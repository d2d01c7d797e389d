#!/usr/bin/env bash
# Windows, checked on Linux (scripts/check.sh runs this): clippy for x86_64-pc-windows-gnu on
# every target but the Unix-only load bench (warnings are errors), then the network and non-window tests built for Windows
# and run under Wine (scripts/wine/run.sh: Debian's wine64 plus a stand-in for the
# bcryptprimitives.dll that Wine 8 lacks). Installs what it lacks: the rustup target,
# mingw-w64 (ring's C code and the linker) and wine64 (through sudo when not root).
#
# Run under Wine (the Windows code paths: sockets through mio/IOCP, timeouts, file names and
# renames, the configuration folder, `natter.exe serve` as a child process):
#   lib (unit tests), server, client, tls, files, serve, discovery (loopback only)
# Not run under Wine, and why:
#   ui*, idle, stop_hosting, screenshots  kittest renders with wgpu: no device under Wine
#                                         ("Parent device is lost"); the window's logic is the
#                                         same code the Linux run tests
#   window                                drives Xvfb, xwd and convert (Linux programs) around
#                                         the binary; scripts/test_package.sh opens natter.exe's
#                                         window under Wine + Xvfb instead
#   signals, shutdown, discovery_shutdown, lab, notify_dbus, blocked_stdout
#                                         Unix/Linux only (signals, network namespaces, D-Bus,
#                                         /proc): compiled out on Windows
#   tls: the_documented_python_client_… runs Linux's python3, which a Windows program under
#                                         Wine cannot start
#   the rest (hardening, fuzz, crowd, …)  platform-independent protocol logic, run natively;
#                                         each Windows test binary costs ~20-40 s to link and
#                                         CI time is counted (see README, "Windows")
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
windows=x86_64-pc-windows-gnu

if command -v dpkg-query >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  missing=()
  needed=(mingw-w64)  # ring's C code and the linker; clippy runs build scripts too
  [ "${1:-}" = "--clippy-only" ] || needed+=(wine64)
  for package in "${needed[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  if ((${#missing[@]})); then
    sudo=()
    [ "$(id -u)" = 0 ] || sudo=(sudo)
    echo "Installing: ${missing[*]}"
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
fi
rustup target list --installed | grep -qx "$windows" || rustup target add "$windows"

# Every target but the load bench, which is Unix-only (it pins CPUs and counts threads with libc).
cargo clippy --target "$windows" --locked --lib --bins --tests --bench frame --bench transfer -- -D warnings
echo "Windows clippy done after $((SECONDS - started)) s."
# scripts/check.sh stops here (--clippy-only) until the tests below pass under Wine: on
# 2026-12-05 the lib (keepalive read-back), client, files and discovery tests failed there;
# see the report of issue 26.
if [ "${1:-}" = "--clippy-only" ]; then
  exit 0
fi

export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER="$PWD/scripts/wine/run.sh"
export WINEPREFIX="${WINEPREFIX:-${CARGO_TARGET_DIR:-$PWD/target}/wine-prefix}"
cargo test --target "$windows" --locked --no-run --lib --test net
echo "Windows tests built after $((SECONDS - started)) s."
cargo test --target "$windows" --locked --lib
# Of the network test crate, the modules that were their own binaries before (tests/server.rs,
# …). The tests' own CI switch would fail the python test instead of skipping it; Wine has no
# python3 to start (see above).
cargo test --target "$windows" --locked --test net -- server:: client:: client_redial:: tls:: tls_host:: \
  files:: files_wire:: serve:: discovery:: \
  --skip the_documented_python_client_prints_the_host_code_and_chats_over_tls
echo "Windows checks passed in $((SECONDS - started)) s."
