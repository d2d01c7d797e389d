#!/usr/bin/env bash
# Measures the real window under Xvfb: time to first frame, CPU of an idle open chat (its
# message box focused, as it is when the chat opens) over 10 s after the cursor settles,
# resident memory. Hosts on 127.0.0.1-reachable any free port; no traffic leaves the machine.
# Usage: bash scripts/measure_window.sh   (needs scripts/setup.sh's packages)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
display=":$(( 90 + RANDOM % 100 ))"
Xvfb "$display" -screen 0 1024x768x24 -nolisten tcp >/dev/null 2>&1 &
xvfb=$!
home=$(mktemp -d)
trap 'kill $natter $xvfb 2>/dev/null || true; rm -rf "$home"' EXIT
while [ ! -e "/tmp/.X11-unix/X${display#:}" ]; do sleep 0.05; done
start=$(date +%s.%N)
DISPLAY=$display HOME=$home XDG_CONFIG_HOME=$home XDG_DATA_HOME=$home \
  ./target/release/natter --host Dana --port 0 --no-announce >/dev/null 2>&1 &
natter=$!
# First frame: the screen stops being one flat colour.
for _ in $(seq 1 400); do
  colours=$(xwd -root -silent -display "$display" 2>/dev/null | convert xwd:- -format %k info: 2>/dev/null || echo 0)
  if [ "${colours:-0}" -gt 20 ]; then break; fi
  sleep 0.05
done
first=$(date +%s.%N)
echo "time to first frame: $(echo "$first - $start" | bc) s (includes polling with xwd every 50 ms)"
sleep 2  # let start-up work (fonts, hosting) settle
# Focus the window and click into the message box, as a person about to type would.
DISPLAY=$display xdotool search --sync --name Natter windowfocus --sync >/dev/null 2>&1 || true
DISPLAY=$display xdotool mousemove 400 612 click 1 >/dev/null 2>&1
sleep 6  # the text cursor blinks for 5 s after the last input, then stays lit
ticks() { awk '{print $14 + $15}' "/proc/$natter/stat"; }
t0=$(ticks); sleep 10; t1=$(ticks)
hz=$(getconf CLK_TCK)
echo "idle open chat, message box focused, CPU over 10 s: $(echo "scale=2; ($t1 - $t0) * 100 / $hz / 10" | bc)% of one core"
grep -E 'VmRSS|VmHWM' "/proc/$natter/status"
xwd -root -silent -display "$display" | convert xwd:- /tmp/natter-measure.png
echo "screenshot: /tmp/natter-measure.png"
