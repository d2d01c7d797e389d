#!/bin/sh
# Installs Natter for you alone, without root: the program into ~/.local/bin, its menu entry
# (with "Host a room"), icons and metainfo into ~/.local/share. Run it from the unpacked
# folder: sh install.sh. PREFIX=/some/dir sh install.sh installs there instead.
# sh uninstall.sh removes it again.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
prefix=${PREFIX:-$HOME/.local}
bin=$prefix/bin
share=$prefix/share
id=io.github.natter.Natter

mkdir -p "$bin" "$share/applications" "$share/metainfo"
cp "$here/natter" "$bin/natter.new"
chmod 755 "$bin/natter.new"
mv "$bin/natter.new" "$bin/natter"
# The menu starts programs without your shell's PATH: the entry names the program's full path.
sed -e "s|^Exec=natter|Exec=\"$bin/natter\"|" "$here/$id.desktop" >"$share/applications/$id.desktop"
cp "$here/$id.metainfo.xml" "$share/metainfo/$id.metainfo.xml"
(cd "$here/icons" && find . -type f) | while read -r icon; do
  mkdir -p "$(dirname "$share/icons/$icon")"
  cp "$here/icons/$icon" "$share/icons/$icon"
done
# Menus notice new entries by themselves; these only make it quicker where they exist.
update-desktop-database -q "$share/applications" 2>/dev/null || true
gtk-update-icon-cache -q -t "$share/icons/hicolor" 2>/dev/null || true
touch "$share/icons/hicolor" 2>/dev/null || true

echo "Natter is installed: open it from your applications menu (\"Natter\"; right-click it for"
echo "\"Host a room\"), or run $bin/natter."
case ":$PATH:" in
*":$bin:"*) ;;
*) echo "To type just \"natter\" in a terminal, add $bin to your PATH." ;;
esac
