# Sourced by the scripts that need Debian packages: `apt_missing PACKAGE...` installs those of
# them that are not installed yet (through sudo when not root), and nothing when all are. Where
# there is no dpkg/apt-get (another system) it says what to install by hand and goes on; a
# failed install ends the calling script.
apt_missing() {
  if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
    echo "Not Debian/Ubuntu: install $* yourself."
    return 0
  fi
  local missing=() package
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  ((${#missing[@]})) || return 0
  local sudo=()
  [ "$(id -u)" = 0 ] || sudo=(sudo)
  echo "Installing: ${missing[*]}"
  "${sudo[@]}" apt-get update -qq || exit 1
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" || exit 1
}
