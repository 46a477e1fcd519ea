#!/bin/sh
# Install the Debian packages migdeck builds and tests with, but only the
# missing ones: quick when everything is there, `apt-get update` only when
# something has to be fetched.
set -eu

PKGS="gcc make pkg-config libncurses-dev libpq-dev libgit2-dev libiniparser-dev
libcmocka-dev zlib1g-dev postgresql postgresql-client tmux git valgrind clang pgbouncer"

missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

echo "deps: installing$missing"
SUDO=""
if [ "$(id -u)" != 0 ]; then
	if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
		echo "deps: missing packages:$missing (run as root or install them)" >&2
		exit 1
	fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "deps: done"
