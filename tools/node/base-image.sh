#!/usr/bin/env bash
# Assembles the root filesystem of the Python base image the example Dockerfiles name
# (python:3.12.8-slim-bookworm), from Debian's packages, since no public registry is reachable:
# Debian 12's own Python (3.11, not 3.12.8: the tag is kept so the Dockerfiles build unchanged), pip
# and CA certificates. The real-node suite publishes it in its loopback registry as that tag.
# Cached in $SKILLSHIP_ENGINE_CACHE, keyed by this recipe; prints the tar's path on its last line.
set -euo pipefail
cache="${SKILLSHIP_ENGINE_CACHE:-$HOME/.cache/skillship-engine}"
suite=bookworm
mirror="${SKILLSHIP_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
packages=python3,python3-pip,python-is-python3,ca-certificates
key="$( { cat "$0"; printf '%s %s' "$mirror" "$packages"; } | sha256sum | cut -c1-16)"
out="$cache/base-image-$key/rootfs.tar"
mkdir -p "$(dirname "$out")" "$cache/locks"
(
  flock 9
  if [ -f "$out" ]; then
    echo "  base image: cached ($out)" >&2
  else
    command -v mmdebstrap >/dev/null || { echo "mmdebstrap is missing: run tools/node/install-packages.sh" >&2; exit 1; }
    start=$SECONDS
    rm -f "$out".partial.*
    echo "  base image: assembling Debian $suite with $packages ..." >&2
    # Fixed timestamps: the same packages give the same tar. No docs, man pages or apt lists (size).
    # pip refuses to install into Debian's Python without --break-system-packages (PEP 668); an
    # image has no system to break, so the marker goes, as in the official python images.
    SOURCE_DATE_EPOCH=1700000000 mmdebstrap --quiet --format=tar --variant=minbase --include="$packages" \
      --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
      --dpkgopt='path-exclude=/usr/share/locale/*' \
      --customize-hook='rm -f "$1"/usr/lib/python3*/EXTERNALLY-MANAGED' \
      "$suite" "$out.partial.$$" "$mirror" >&2
    mv -f "$out.partial.$$" "$out"
    echo "  base image: assembled in $((SECONDS - start)) s" >&2
  fi
) 9>"$cache/locks/base-image-$key.lock"
echo "$out"
