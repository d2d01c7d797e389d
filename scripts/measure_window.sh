#!/usr/bin/env bash
# Measures the real window under Xvfb: time to first frame, CPU of an idle open chat (its
# message box focused, as it is when the chat opens) over 10 s after the cursor settles,
# resident memory and what holds it, then ten messages a second for 10 s from a peer on
# 127.0.0.1, once with the window focused and once with another window focused: CPU and
# frames drawn (RUST_LOG=natter::frames=trace counts them). Hosts on any free port; no traffic
# leaves the machine. NATTER_RENDERER=glow (or wgpu) picks the renderer, as for the window.
# Usage: bash scripts/measure_window.sh   (needs scripts/setup.sh's packages)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
target=${CARGO_TARGET_DIR:-target}
display=":$(( 90 + RANDOM % 100 ))"
Xvfb "$display" -screen 0 1024x768x24 -nolisten tcp >/dev/null 2>&1 &
xvfb=$!
home=$(mktemp -d)
natter=""
other=""
trap 'kill $natter $other $xvfb 2>/dev/null || true; rm -rf "$home"' EXIT
while [ ! -e "/tmp/.X11-unix/X${display#:}" ]; do sleep 0.05; done
start=$(date +%s.%N)
DISPLAY=$display HOME=$home XDG_CONFIG_HOME=$home XDG_DATA_HOME=$home \
  RUST_LOG=natter::frames=trace \
  "$target/release/natter" --host Dana --port 0 --no-announce >/dev/null 2>"$home/stderr" &
natter=$!
# First frame: the screen stops being one flat colour.
for _ in $(seq 1 400); do
  colours=$(xwd -root -silent -display "$display" 2>/dev/null | convert xwd:- -format %k info: 2>/dev/null || echo 0)
  if [ "${colours:-0}" -gt 20 ]; then break; fi
  sleep 0.05
done
first=$(date +%s.%N)
echo "time to first frame: $(echo "$first - $start" | bc) s (includes polling with xwd every 50 ms)"
grep -m1 'natter: drawing with' "$home/stderr" || true
sleep 2  # let start-up work (fonts, hosting) settle
# Focus the window and click into the message box, as a person about to type would.
DISPLAY=$display xdotool search --sync --name Natter windowfocus --sync >/dev/null 2>&1 || true
DISPLAY=$display xdotool mousemove 400 612 click 1 >/dev/null 2>&1
sleep 6  # the text cursor blinks for 5 s after the last input, then stays lit
ticks() { awk '{print $14 + $15}' "/proc/$natter/stat"; }
frames() { grep -c 'natter::frames\] frame' "$home/stderr" || true; }
passes() { grep -c 'natter::frames' "$home/stderr" || true; }
hz=$(getconf CLK_TCK)
percent() { echo "scale=1; ($2 - $1) * 100 / $hz / 10" | bc; }
t0=$(ticks); f0=$(frames); sleep 10; t1=$(ticks); f1=$(frames)
echo "idle open chat, message box focused, over 10 s: CPU $(percent "$t0" "$t1")% of one core, $((f1 - f0)) frames"
grep -E 'VmRSS|VmHWM' "/proc/$natter/status"
# What holds the resident memory: the largest mappings by resident size.
echo "resident memory by mapping (MB):"
awk '/^[0-9a-f]+-[0-9a-f]+ / { name = ($6 == "" ? "[anonymous]" : $6) }
     /^Rss:/ { rss[name] += $2 }
     END { for (n in rss) if (rss[n] >= 1024) printf "  %7.1f  %s\n", rss[n] / 1024, n }' \
  "/proc/$natter/smaps" | sort -rn | head -12

port=$(ss -ltnpH 2>/dev/null | awk -v pid="pid=$natter," 'index($0, pid) { n = split($4, a, ":"); print a[n]; exit }')
# A Natter peer on 127.0.0.1 saying `count` messages, ten a second.
talk() {
  python3 - "$port" "$1" "$2" <<'PY'
import json, socket, sys, time
port, nick, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
s = socket.create_connection(("127.0.0.1", port))
s.sendall(json.dumps({"type": "hello", "version": 1, "nick": nick}).encode() + b"\n")
lines = s.makefile("rb")
while json.loads(lines.readline()).get("type") != "accepted":
    pass
start = time.monotonic()
for i in range(count):
    s.sendall(json.dumps({"type": "chat", "text": "message %d from %s" % (i, nick)}).encode() + b"\n")
    time.sleep(max(0.0, start + (i + 1) / 10 - time.monotonic()))
s.sendall(b'{"type":"bye"}\n')
PY
}
burst() {
  local t0 f0 p0 t1 f1 p1
  t0=$(ticks); f0=$(frames); p0=$(passes)
  talk "$1" 100
  t1=$(ticks); f1=$(frames); p1=$(passes)
  echo "ten messages a second for 10 s, window $2: CPU $(percent "$t0" "$t1")% of one core," \
    "$((f1 - f0)) frames drawn ($((p1 - p0)) passes) for 100 messages"
}
burst eve focused
sleep 2
DISPLAY=$display xlogo >/dev/null 2>&1 &
other=$!
DISPLAY=$display xdotool search --sync --class xlogo windowfocus --sync >/dev/null 2>&1 || true
sleep 2
burst finn unfocused
grep -E 'VmRSS|VmHWM' "/proc/$natter/status"
xwd -root -silent -display "$display" | convert xwd:- /tmp/natter-measure.png
echo "screenshot: /tmp/natter-measure.png"
cp "$home/stderr" /tmp/natter-measure.log
echo "frame log: /tmp/natter-measure.log"
