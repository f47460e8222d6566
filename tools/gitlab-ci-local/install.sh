#!/usr/bin/env bash
# Installs gitlab-ci-local (github.com/firecow/gitlab-ci-local), the runner the end-to-end suite
# runs the GitLab CI file with, from the npm registry at the versions package-lock.json pins, into
# the tools cache (once per lock file). Prints the command's path on its last line.
#
# 4.70.1 is the newest that runs on Node.js 20, which this kind of machine has: from 4.74 on, its
# bundle calls Set.prototype.union, which Node.js has from 22. It needs rsync (a Debian package,
# which tools/node/install-packages.sh installs) and git.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
tools="${SKILLSHIP_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/skillship-tools}"
key="$(cat "$here/package.json" "$here/package-lock.json" | sha256sum | cut -c1-16)"
prefix="$tools/gitlab-ci-local-$key"
command="$prefix/node_modules/.bin/gitlab-ci-local"
if [ ! -x "$command" ]; then
  command -v npm >/dev/null || { echo "tools/gitlab-ci-local/install.sh: npm (Node.js 20 or later) is needed" >&2; exit 1; }
  mkdir -p "$tools"
  staging="$(mktemp -d "$tools/.gitlab-ci-local.XXXXXX")"
  trap 'rm -rf "$staging"' EXIT
  cp "$here/package.json" "$here/package-lock.json" "$staging/"
  npm ci --prefix "$staging" --no-audit --no-fund --ignore-scripts --loglevel=error >&2
  # Another install may have finished first: keep the one already in place.
  mv -T "$staging" "$prefix" 2>/dev/null || true
fi
"$command" --version >/dev/null
echo "$command"
