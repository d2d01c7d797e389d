#!/bin/sh
# Removes what install.sh installed (same PREFIX). Keeps your settings, your host key and your
# downloads; the last lines say where they are, to delete them by hand.
set -eu
prefix=${PREFIX:-$HOME/.local}
share=$prefix/share
id=io.github.natter.Natter

rm -f "$prefix/bin/natter" "$share/applications/$id.desktop" "$share/metainfo/$id.metainfo.xml"
for icon in "$share"/icons/hicolor/*/apps/$id.png "$share"/icons/hicolor/scalable/apps/$id.svg; do
  rm -f "$icon"
done
update-desktop-database -q "$share/applications" 2>/dev/null || true
gtk-update-icon-cache -q -t "$share/icons/hicolor" 2>/dev/null || true

echo "Natter is removed. Kept: settings in ${XDG_DATA_HOME:-$HOME/.local/share}/natter, the host"
echo "key in ${XDG_CONFIG_HOME:-$HOME/.config}/natter (delete those folders to forget everything)."
