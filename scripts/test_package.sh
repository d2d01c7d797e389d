#!/usr/bin/env bash
# Checks what scripts/package.sh put in dist/, the way people use it:
#   .deb      apt-get installs it; its desktop entry and metainfo validate; every library the
#             program names is in Depends; the entry's Exec line opens the window under Xvfb
#             (xdotool finds "Natter"); its "Host a room" action hosts as the account's name
#             (a plain-text peer is greeted and sees that name online).
#   tar.gz    install.sh puts everything under a fresh ~/.local, the installed entry validates
#             and names the program's full path; uninstall.sh removes it all.
#   zip       natter.exe is a GUI program (no console window) with an icon; under Wine
#             `natter.exe --version` prints, `natter.exe serve` hosts and a Linux peer on
#             127.0.0.1 is greeted; the window opens under Wine + Xvfb (with OpenGL).
#             natter.exe adopts Natter's AppUserModelID and its window registers it for toasts.
#   setup.exe installs silently under Wine with both Start-menu entries (each stamped with the
#             AppUserModelID) and registers the id for toasts with the icon; uninstalls all.
# Needs root (apt-get), Xvfb, xdotool, python3, wine64, mingw-w64 (scripts/setup.sh and
# scripts/package.sh install them). Every wait is bounded; everything started is stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n1)
id=io.github.natter.Natter
here=$(pwd)
work=$(mktemp -d)
export WINEPREFIX="$work/wine"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -d "$WINEPREFIX" ] && WINEPREFIX="$WINEPREFIX" /usr/lib/wine/wineserver -k 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
# Wine's own tools (reg) in the test's prefix.
wine_tool() { WINEDEBUG=-all "$(command -v wine64 || echo /usr/lib/wine/wine64)" "$@"; }
aumid_key='HKCU\Software\Classes\AppUserModelId\io.github.natter.Natter'
step() { echo "== $*"; }
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
# Polls a condition (never a timing assertion): up to $1 seconds.
wait_for() {
  local end=$((SECONDS + $1))
  shift
  until "$@"; do
    ((SECONDS < end)) || return 1
    sleep 0.5
  done
}
file_has() { grep -qF -- "$2" "$1" 2>/dev/null; }
# A plain-text peer (what `nc` does): connects to $1:$2, reads the greeting up to the "Online"
# line and checks it contains $3.
plain_peer() {
  python3 - "$@" <<'PY'
import socket, sys
host, port, want = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.create_connection((host, port), timeout=20)
s.settimeout(20)
seen = b""
while b"* Online" not in seen or not seen.endswith(b"\n"):
    chunk = s.recv(4096)
    if not chunk:
        break
    seen += chunk
text = seen.decode("utf-8", "replace")
print(text.rstrip())
if want not in text:
    sys.exit(f"the greeting lacks {want!r}")
s.sendall(b"/quit\r\n")
PY
}
start_xvfb() {
  Xvfb -displayfd 3 -screen 0 1024x768x24 -nolisten tcp 3>"$work/display" 2>/dev/null &
  pids+=($!)
  wait_for 30 test -s "$work/display" || fail "Xvfb did not start"
  display=":$(head -n1 "$work/display")"
}
window_shown() { DISPLAY=$display xdotool search --onlyvisible --name '^Natter$' >/dev/null 2>&1; }
exec_line() { sed -n "/^\[$2\]/,/^\[/{s/^Exec=//p}" "$1" | head -n1; }
# Runs a desktop entry's Exec line (plain words, no field codes) as a fresh person "dana".
run_exec() {
  local line=$1 log=$2 home=$3
  local -a argv
  read -r -a argv <<<"$line"
  mkdir -p "$home"
  env -u WAYLAND_DISPLAY -u NATTER_RENDERER HOME="$home" USER=dana LOGNAME=dana DISPLAY="$display" \
    XDG_CONFIG_HOME="$home/.config" XDG_DATA_HOME="$home/.local/share" "${argv[@]}" >"$log" 2>&1 &
  pids+=($!)
  last_pid=$!
}

deb=dist/natter_${version}_amd64.deb
[ -f "$deb" ] || fail "$deb is missing: run scripts/package.sh first"
start_xvfb

step "apt-get installs $deb"
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --reinstall "./$deb" >/dev/null
entry=/usr/share/applications/$id.desktop
desktop-file-validate "$entry"
appstreamcli validate --no-net "/usr/share/metainfo/$id.metainfo.xml" >/dev/null
for size in 16x16 24x24 32x32 48x48 64x64 128x128 256x256; do
  [ -f "/usr/share/icons/hicolor/$size/apps/$id.png" ] || fail "no $size icon"
done
[ -f "/usr/share/icons/hicolor/scalable/apps/$id.svg" ] || fail "no scalable icon"

step "Depends names every library the program loads at run time"
depends=$(dpkg-query -W -f='${Depends}' natter)
# Rust's strings have no NUL after them: names are found inside longer runs of text.
for so in $(grep -oaE 'lib[A-Za-z0-9_+-]{1,30}\.so\.[0-9]+' /usr/bin/natter | sort -u); do
  owner=$(dpkg -S "*/$so" 2>/dev/null | head -n1 | cut -d: -f1 || true)
  [ -n "$owner" ] || fail "$so: no installed package has it (add its package to Depends)"
  case ", $depends," in
  *", $owner,"* | *", $owner "* | *", $owner|"*) echo "  $so: $owner" ;;
  *) fail "$so comes from $owner, which Depends does not name ($depends)" ;;
  esac
done

step "the desktop entry opens the window"
main_exec=$(exec_line "$entry" "Desktop Entry")
[ "$main_exec" = natter ] || fail "Exec is '$main_exec'"
run_exec "$main_exec" "$work/window.log" "$work/home1"
wait_for 90 window_shown || fail "no window called Natter within 90 s: $(cat "$work/window.log")"
grep "drawing with" "$work/window.log" || fail "the window does not say what draws it: $(cat "$work/window.log")"
kill "$last_pid"
window_gone() { ! window_shown; }
wait_for 30 window_gone || fail "the window did not close"

step "Host a room hosts as the account's name"
host_exec=$(exec_line "$entry" "Desktop Action host-room")
[ "$host_exec" = "natter --host" ] || fail "the Host a room action runs '$host_exec'"
run_exec "$host_exec" "$work/host.log" "$work/home2"
host_pid=$last_pid
listening() { ss -ltnpH 'sport = :5050' | grep -q "pid=$host_pid,"; }
wait_for 90 listening || fail "Host a room did not listen on port 5050 within 90 s: $(cat "$work/host.log")"
wait_for 30 window_shown || fail "Host a room opened no window"
plain_peer 127.0.0.1 5050 dana
kill "$host_pid"

step "the tar.gz installs into ~/.local and uninstalls"
tar -C "$work" -xzf "dist/natter-$version-linux-x86_64.tar.gz"
tree="$work/natter-$version-linux-x86_64"
home="$work/home3"
mkdir -p "$home"
HOME=$home sh "$tree/install.sh"
installed="$home/.local/share/applications/$id.desktop"
desktop-file-validate "$installed"
[ "$(exec_line "$installed" "Desktop Entry")" = "\"$home/.local/bin/natter\"" ] || fail "installed Exec: $(exec_line "$installed" "Desktop Entry")"
"$home/.local/bin/natter" --version
[ -f "$home/.local/share/icons/hicolor/48x48/apps/$id.png" ] || fail "no icon installed"
HOME=$home sh "$tree/uninstall.sh"
# The menu's and icon theme's caches are shared with other programs: rebuilt, not removed.
left=$(find "$home/.local" -type f ! -name '*.cache')
[ -z "$left" ] || fail "uninstall.sh left: $left"

step "natter.exe: a GUI program with an icon"
(cd "$work" && unzip -q "$here/dist/natter-$version-windows-x86_64.zip")
exe="$work/natter-$version-windows-x86_64/natter.exe"
# Whole outputs first: grep -q closing the pipe early would fail the pipeline (pipefail).
headers=$(x86_64-w64-mingw32-objdump -p "$exe")
sections=$(x86_64-w64-mingw32-objdump -h "$exe")
grep -q "Subsystem.*Windows GUI" <<<"$headers" || fail "natter.exe is a console program"
grep -q "\.rsrc" <<<"$sections" || fail "natter.exe has no resources (icon)"

step "natter.exe under Wine: --version, serve greets a Linux peer"
wine_started=$SECONDS
# Wine 8 keeps no AppUserModelID (a stub), but its trace shows the one natter.exe sets.
WINEDEBUG=-all,fixme+shcore bash scripts/wine/run.sh "$exe" --version >"$work/version.txt" 2>&1 || true
grep -v ':fixme:' "$work/version.txt" || true
file_has "$work/version.txt" "natter $version" || fail "natter.exe --version printed nothing under Wine"
file_has "$work/version.txt" 'SetCurrentProcessExplicitAppUserModelID L"io.github.natter.Natter"' ||
  fail "natter.exe did not adopt Natter's AppUserModelID: $(cat "$work/version.txt")"
bash scripts/wine/run.sh "$exe" serve --bind 127.0.0.1 --port 0 --no-announce >"$work/serve.log" 2>&1 &
pids+=($!)
wait_for 120 file_has "$work/serve.log" "listening on 127.0.0.1:" || fail "natter.exe serve did not start: $(cat "$work/serve.log")"
# The host key goes to the roaming configuration folder, where Windows keeps settings.
file_has "$work/serve.log" 'AppData\Roaming\Natter\config\host-identity.pem' || fail "the host key is not in %APPDATA%\Natter: $(cat "$work/serve.log")"
port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/serve.log" | head -n1)
plain_peer 127.0.0.1 "$port" "Welcome to Natter"
wait_for 20 file_has "$work/serve.log" "joined from 127.0.0.1" || fail "serve did not print the join"
echo "  (Wine: $((SECONDS - wine_started)) s)"

step "natter.exe opens its window under Wine (with OpenGL: wgpu's DirectX 12 aborts there)"
# A Wine server started without DISPLAY (the runs above) would give the window no display.
/usr/lib/wine/wineserver -k 2>/dev/null || true
run_exec "bash scripts/wine/run.sh $exe --no-announce" "$work/wine-window.log" "$work/home4"
wait_for 120 window_shown || fail "no Natter window under Wine within 120 s: $(cat "$work/wine-window.log")"
grep "natter: drawing with OpenGL (glow)" "$work/wine-window.log" || fail "the Wine window does not say it draws with OpenGL: $(cat "$work/wine-window.log")"
kill "$last_pid" 2>/dev/null || true
wine_tool reg query "$aumid_key" /v DisplayName >"$work/aumid.txt" 2>&1 || true
grep -q "DisplayName.*REG_SZ.*Natter" "$work/aumid.txt" ||
  fail "the window did not register Natter's AppUserModelID for toasts: $(cat "$work/aumid.txt")"
/usr/lib/wine/wineserver -k 2>/dev/null || true

step "the installer installs silently under Wine, with both Start-menu entries"
cp "dist/natter-$version-windows-x86_64-setup.exe" "$work/setup.exe"
bash scripts/wine/run.sh "$work/setup.exe" /S
user_dir=$(find "$WINEPREFIX/drive_c/users" -mindepth 1 -maxdepth 1 -type d ! -name Public | head -n1)
program="$user_dir/AppData/Local/Programs/Natter"
menu="$user_dir/AppData/Roaming/Microsoft/Windows/Start Menu/Programs/Natter"
installed_all() { [ -f "$program/natter.exe" ] && [ -f "$menu/Natter.lnk" ] && [ -f "$menu/Host a room.lnk" ]; }
wait_for 60 installed_all || fail "the installer left: $(find "$program" "$menu" 2>&1)"
strings -e l "$menu/Host a room.lnk" | grep -q -- "--host" || fail "Host a room does not pass --host"
# The shortcuts' AppUserModelID cannot be read back here: Wine's shell link drops the property.
wine_tool reg query "$aumid_key" /v IconUri >"$work/aumid.txt" 2>&1 || true
grep -qF 'AppData\Local\Programs\Natter\natter.png' "$work/aumid.txt" ||
  fail "the installer did not register the toasts' icon: $(cat "$work/aumid.txt")"
[ -f "$program/natter.png" ] || fail "the installer did not install the toasts' icon"
step "its uninstaller removes it"
bash scripts/wine/run.sh "$program/uninstall.exe" /S
removed_all() {
  [ ! -e "$program/natter.exe" ] && [ ! -e "$menu" ] && ! wine_tool reg query "$aumid_key" >/dev/null 2>&1
}
wait_for 60 removed_all || fail "the uninstaller left: $(find "$program" "$menu" 2>&1)"

echo "All package checks passed in $((SECONDS - started)) s."
