#!/usr/bin/env bash
# One-time set-up of a Debian/Ubuntu machine for building, testing and screenshotting Natter.
# Idempotent: installs only what is missing. Run as root (or with sudo).
set -euo pipefail

# Software rendering for the window and the UI tests (Mesa's llvmpipe/lavapipe), a virtual X
# server and screenshot tools for the real-window test, and the Rust lints.
packages=(
  mesa-vulkan-drivers libvulkan1 libegl1 libgl1-mesa-dri libxkbcommon-x11-0
  xvfb x11-apps imagemagick
)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "Installing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if command -v rustup >/dev/null 2>&1; then
  for component in clippy rustfmt; do
    rustup component list --installed | grep -q "^$component" || rustup component add "$component"
  done
fi
echo "Set-up complete."
