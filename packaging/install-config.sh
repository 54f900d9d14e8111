#!/bin/sh
# meson install step: the example config becomes the service's config file
# (install-config.sh DEST EXAMPLE) unless one is there already, so an edited
# config survives a re-install. DESTDIR (meson install --destdir) is honoured.
set -eu
dest="${DESTDIR:-}$1"
if [ -e "$dest" ]; then
  echo "install-config: keeping existing $dest"
  exit 0
fi
install -D -m 0644 "$2" "$dest"
echo "install-config: installed $dest"
