#!/usr/bin/env bash
# Builds Natter's downloads into dist/:
#   natter_VERSION_amd64.deb                  Debian/Ubuntu: sudo apt install ./natter_VERSION_amd64.deb
#   natter-VERSION-linux-x86_64.tar.gz        other Linux: unpack, sh install.sh (into ~/.local)
#   natter-VERSION-windows-x86_64.zip         Windows: natter.exe (icon, no console window)
#   natter-VERSION-windows-x86_64-setup.exe   Windows installer (Start menu: Natter, Host a room)
# First installs what it lacks: on Debian/Ubuntu mingw-w64, NSIS, zip, dpkg-dev and the
# desktop-file and AppStream validators (through sudo when not root); the Windows target through
# rustup; cargo-deb through `cargo install --locked`. Then validates the desktop entry and the
# metainfo, builds both programs in release mode and packs them. scripts/test_package.sh checks
# the results (installs the .deb, opens its window, hosts; runs natter.exe under Wine).
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n1)
windows=x86_64-pc-windows-gnu
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
id=io.github.natter.Natter

packages=(mingw-w64 nsis zip dpkg-dev desktop-file-utils appstream)
source scripts/apt_missing.sh
apt_missing "${packages[@]}"
rustup target list --installed | grep -qx "$windows" || rustup target add "$windows"
cargo deb --version >/dev/null 2>&1 || cargo install --locked cargo-deb

desktop-file-validate "packaging/linux/$id.desktop"
appstreamcli validate --no-net "packaging/linux/$id.metainfo.xml"

echo "Building for Linux…"
cargo build --release --locked
echo "Building for Windows…"
cargo build --release --locked --target "$windows"

rm -rf dist
mkdir -p dist

# .deb: contents and Depends in Cargo.toml's [package.metadata.deb].
cargo deb --no-build --locked --output "dist/natter_${version}_amd64.deb"

# tar.gz: the program, its entry, metainfo, icons in the hicolor layout, install/uninstall.
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
tree="$stage/natter-$version-linux-x86_64"
mkdir -p "$tree/icons/hicolor/scalable/apps"
cp "$target_dir/release/natter" "$tree/natter"
cp "packaging/linux/$id.desktop" "packaging/linux/$id.metainfo.xml" README.md "$tree/"
cp packaging/linux/install.sh packaging/linux/uninstall.sh "$tree/"
cp assets/natter.svg "$tree/icons/hicolor/scalable/apps/$id.svg"
mkdir -p "$tree/icons/hicolor/256x256/apps"
cp assets/natter.png "$tree/icons/hicolor/256x256/apps/$id.png"
for size in 16 24 32 48 64 128; do
  mkdir -p "$tree/icons/hicolor/${size}x${size}/apps"
  cp "packaging/linux/icons/$size.png" "$tree/icons/hicolor/${size}x${size}/apps/$id.png"
done
tar -C "$stage" --owner=0 --group=0 -czf "dist/natter-$version-linux-x86_64.tar.gz" "natter-$version-linux-x86_64"

# zip: natter.exe and the README (as .txt: Windows opens that with a double-click).
exe="$target_dir/$windows/release/natter.exe"
windir="$stage/natter-$version-windows-x86_64"
mkdir -p "$windir"
cp "$exe" "$windir/natter.exe"
cp README.md "$windir/README.txt" # opens in Notepad on a double-click
(cd "$stage" && zip -qr - "natter-$version-windows-x86_64") >"dist/natter-$version-windows-x86_64.zip"

# The installer: Start-menu entries for Natter and Host a room.
makensis -V2 -DVERSION="$version" -DEXE="$(realpath "$exe")" \
  -DOUTFILE="$(realpath dist)/natter-$version-windows-x86_64-setup.exe" packaging/windows/natter.nsi

ls -l dist
echo "Packaged in $((SECONDS - started)) s."
