#!/usr/bin/env bash
# Builds actionlint (github.com/rhysd/actionlint, pinned by the wrapper module beside this script)
# into the engine's cache; tests/test_ci_files.py runs it on ci/github-workflow.yml. Prints the
# binary's path on its last line.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=../cached-go-build.sh
source "$here/../cached-go-build.sh"
use_shared_go_settings
cached_go_build "$cache" "$here" actionlint github.com/rhysd/actionlint/cmd/actionlint
echo "$cache/bin/actionlint"
