#!/usr/bin/env bash
# Windows, checked on Linux (scripts/check.sh runs this): clippy for x86_64-pc-windows-gnu on
# the program with its window and every target that builds for Windows (warnings are errors),
# then the network and non-window tests, built without the window (`--no-default-features`:
# the GUI stack is not compiled a second time; clippy's driver lints this build too) and run
# under Wine (scripts/wine/run.sh: Debian's wine64
# plus a stand-in for the bcryptprimitives.dll that Wine 8 lacks), then a Ctrl+C of
# `natter.exe serve` under Wine. Installs what it lacks: the rustup target,
# mingw-w64 (ring's C code and the linker) and wine64 (through sudo when not root).
#
# Run under Wine (the Windows code paths: sockets through mio's AFD polls, timeouts, file names and
# renames, the configuration folder, `natter.exe serve` as a child process):
#   the unit tests but the window's; of tests/net.rs the modules server, client, client_redial, tls, tls_host,
#   files, files_wire, serve, discovery (loopback only)
# Not run under Wine, and why:
#   tests/gui.rs (ui*, idle, stop_hosting, screenshots, phone), the frame bench, and the
#   window's unit tests (src/app, src/ui)  kittest renders with wgpu: no device under Wine
#                                         ("Parent device is lost"); the window's logic is the
#                                         same code the Linux run tests. They are not built
#                                         for Windows at all (Cargo.toml), so clippy's Windows
#                                         pass covers the window's code, not its tests
#   window                                drives Xvfb, xwd and convert (Linux programs) around
#                                         the binary; scripts/test_package.sh opens natter.exe's
#                                         window under Wine + Xvfb instead
#   tests/solo.rs, and signals, lab, blocked_stdout in tests/net.rs
#                                         Unix/Linux only (signals, network namespaces, D-Bus,
#                                         /proc): compiled out on Windows
#   four single tests (`skips` below)     Wine 8 lacks what they check (TCP_KEEPCNT, UDP from
#                                         127.0.0.2) or they start a Linux program (python3)
#   the rest of tests/net.rs (hardening, fuzz, web, …)  platform-independent protocol logic,
#                                         run natively; CI time is counted (see README, "Windows")
set -euo pipefail
cd "$(dirname "$0")/.."

# ---- What runs under Wine: the one place to change when the test crates change. ----------
# The unit tests (all but the window's) and, of the network test crate (tests/net.rs), the modules
# below, run under Wine. A module path is a test-name filter, so `client::` is not
# `client_redial::`: name each.
filters=(server:: client:: client_redial:: tls:: tls_host:: files:: files_wire:: serve:: discovery::)
# Tests that cannot pass under Wine, by (part of their) name, each with why; the README's
# "What cannot run under Wine" says the same.
skips=(
  # Wine 8 refuses TCP_KEEPCNT (WSAENOPROTOOPT); Windows has it since 10 version 1703. The
  # same socket's nodelay and keepalive are checked by the test beside it.
  an_accepted_socket_gives_up_after_2_unanswered_keepalive_probes
  # Wine 8 delivers a UDP datagram from a socket bound to 127.0.0.2 (or any 127.x other than
  # 127.0.0.1) as coming from 127.0.0.1, so a second sender address cannot be made.
  a_note_reaches_the_host_once_and_repeats_are_rate_limited_on_both_ends
  notes_from_many_forged_sources_reach_the_host_as_a_few_and_one_count
  # Runs Linux's python3, which a Windows program under Wine cannot start (the test's CI
  # switch would fail it instead of skipping it).
  the_documented_python_client_prints_the_host_code_and_chats_over_tls
)
# ------------------------------------------------------------------------------------------
started=$SECONDS
windows=x86_64-pc-windows-gnu

needed=(mingw-w64)  # ring's C code and the linker; clippy runs build scripts too
[ "${1:-}" = "--clippy-only" ] || needed+=(wine64)
source scripts/apt_missing.sh
apt_missing "${needed[@]}"
rustup target list --installed | grep -qx "$windows" || rustup target add "$windows"

# The program with its window, and every target that builds for Windows: not the load and
# transfer benches (Unix-only: they pin CPUs, read /proc and reap nc and socat with libc), not
# the window's tests (above).
cargo clippy --target "$windows" --locked --lib --bins --test net --test solo -- -D warnings
echo "Windows clippy done after $((SECONDS - started)) s."
# --clippy-only: the lints alone (a quick look without Wine); scripts/check.sh runs it all.
if [ "${1:-}" = "--clippy-only" ]; then
  exit 0
fi

export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER="$PWD/scripts/wine/run.sh"
export WINEPREFIX="${WINEPREFIX:-${CARGO_TARGET_DIR:-$PWD/target}/wine-prefix}"
source scripts/lint_while_building.sh
no_window=(--no-default-features)
cargo test --target "$windows" --locked "${no_window[@]}" --no-run --lib --bins --test net
echo "Windows tests built after $((SECONDS - started)) s."
skip_args=()
for name in "${skips[@]}"; do
  skip_args+=(--skip "$name")
done
cargo test --target "$windows" --locked "${no_window[@]}" --lib -- "${skip_args[@]}"
cargo test --target "$windows" --locked "${no_window[@]}" --test net -- "${filters[@]}" "${skip_args[@]}"
echo "Windows tests passed after $((SECONDS - started)) s."

# Ctrl+C stops `natter.exe serve`: Wine turns SIGINT into the CTRL_C_EVENT a Windows console
# sends, so this takes the path a Ctrl+C in cmd.exe takes (ctrlc's console handler). The
# peer is told goodbye and the program exits 0. (The serve tests built natter.exe.)
exe="${CARGO_TARGET_DIR:-target}/$windows/debug/natter.exe"
scratch=$(mktemp -d)
serve_pid=
cleanup() {
  if [ -n "$serve_pid" ]; then kill "$serve_pid" 2>/dev/null || true; fi
  rm -rf "$scratch"
}
trap cleanup EXIT
fail() {
  echo "Ctrl+C check failed: $*" >&2
  sed 's/^/  serve: /' "$scratch/serve.log" >&2
  exit 1
}
wait_for() {
  local seconds=$1
  shift
  for ((tick = 0; tick < seconds * 10; tick++)); do
    "$@" && return 0
    sleep 0.1
  done
  return 1
}
# run.sh execs Wine, which keeps the process id: the signal reaches natter.exe itself.
bash scripts/wine/run.sh "$exe" serve --bind 127.0.0.1 --port 0 --no-announce \
  --identity "$scratch/host-identity.pem" >"$scratch/serve.log" 2>&1 &
serve_pid=$!
wait_for 120 grep -q "listening on 127.0.0.1:" "$scratch/serve.log" || fail "natter.exe serve did not start"
port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$scratch/serve.log" | head -n1)
exec {peer}<>"/dev/tcp/127.0.0.1/$port"
printf 'kim\n' >&"$peer"
wait_for 20 grep -q "joined from 127.0.0.1" "$scratch/serve.log" || fail "the plain peer did not join"
kill -INT "$serve_pid"
status=0
wait "$serve_pid" || status=$?
serve_pid=
heard=$(timeout 10 cat <&"$peer" || true)
exec {peer}<&-
[ "$status" = 0 ] || fail "natter.exe serve exited with $status after Ctrl+C, not 0"
grep -q "stopping: asked to stop" "$scratch/serve.log" || fail "it did not say it was stopping"
grep -q "The host stopped hosting" <<<"$heard" || fail "the peer was not told goodbye; it heard: $heard"
echo "Ctrl+C stops natter.exe serve under Wine: goodbye said, exit code 0."
echo "Windows checks passed in $((SECONDS - started)) s."
