#!/usr/bin/env bash
# Runs a Windows program on Linux under Debian's wine64: cargo's runner for the Windows target
# (CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER=scripts/wine/run.sh, as scripts/windows_tests.sh
# sets it), and by hand: `bash scripts/wine/run.sh path/to/natter.exe serve`.
# Puts the stand-in bcryptprimitives.dll (bcryptprimitives.c, built here with mingw-w64) next to
# the program: Wine 8 lacks ProcessPrng, which Rust's std needs before main. Uses its own Wine
# prefix (created on first use, ~30 s), no Mono/Gecko prompts, Wine's own messages off.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
exe=$1
folders=("$(dirname "$exe")")
# A test binary sits in target/…/deps; the `natter.exe` it starts (CARGO_BIN_EXE_natter) one
# folder up, and Windows looks for the DLL beside the program it starts, not beside the test.
[ "$(basename "${folders[0]}")" = deps ] && folders+=("$(dirname "${folders[0]}")")
for folder in "${folders[@]}"; do
  dll="$folder/bcryptprimitives.dll"
  if [ ! -e "$dll" ] || [ "$here/bcryptprimitives.c" -nt "$dll" ]; then
    x86_64-w64-mingw32-gcc -O2 -shared -o "$dll.$$" "$here/bcryptprimitives.c" -ladvapi32
    mv "$dll.$$" "$dll"
  fi
done
export WINEPREFIX="${WINEPREFIX:-${XDG_CACHE_HOME:-$HOME/.cache}/natter-wine}"
export WINEDEBUG="${WINEDEBUG:--all}"
# Lets a test know it runs under Wine (see app::startup's under_wine test).
export NATTER_UNDER_WINE=1
export WINEDLLOVERRIDES="bcryptprimitives=n,b;mscoree=;mshtml=${WINEDLLOVERRIDES:+;$WINEDLLOVERRIDES}"
wine=$(command -v wine64 || echo /usr/lib/wine/wine64)
exec "$wine" "$@"
