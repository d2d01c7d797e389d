#!/usr/bin/env bash
# The system packages Natter's tests need on Debian/Ubuntu: software rendering (Mesa's
# llvmpipe/lavapipe) for the UI tests, a virtual X server and screenshot tools for the
# real-window test, iproute2 and nftables for the network-namespace lab (scripts/lab.sh,
# tests/lab.rs), Python for running PROTOCOL.md's Python client (tests/tls.rs), and dbus
# (dbus-daemon: the private session bus of tests/notify_dbus.rs), and chromium with Playwright
# for Python (the browser tests, tests/browser.rs: Playwright drives Debian's chromium; it never
# downloads a browser), and at-spi2-core with Debian's python3-pyatspi (the screen-reader test,
# tests/screen_reader.rs, reads the real window over AT-SPI). Idempotent: installs only
# what is missing. Needs root; scripts/check.sh calls it (through sudo when you are not root),
# so you rarely run it yourself.
set -euo pipefail

packages=(
  mesa-vulkan-drivers libvulkan1 libegl1 libgl1-mesa-dri libxkbcommon-x11-0
  xvfb x11-apps imagemagick xdotool
  iproute2 nftables
  python3 python3-pip
  dbus
  chromium
  at-spi2-core python3-pyatspi
)
if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
  echo "Not a Debian/Ubuntu machine: install Mesa (Vulkan or GL) and Xvfb yourself;" \
    "without Xvfb the real-window test is skipped."
  exit 0
fi
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "Installing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
echo "System packages present."
# Playwright for Python, from PyPI (Debian has no package of it). Only the Python library: the
# tests launch /usr/bin/chromium, so `playwright install` is never run.
if ! python3 -c "import playwright" 2>/dev/null; then
  echo "Installing Playwright for Python"
  python3 -m pip install --quiet --break-system-packages playwright 2>/dev/null \
    || python3 -m pip install --quiet playwright
fi
echo "Playwright for Python present."
