#!/usr/bin/env bash
# The lowest versions pyproject.toml admits: a virtualenv with every direct requirement at its floor
# (uv's --resolution lowest-direct over the package's own requirements and the test extra's), then
# the CLI as a user runs it and the tests of what those dependencies carry (the command line, the
# settings and the workspace's models, reading, rendering, ignore matching, and the adaptations of
# the Pulumi SDK at the lowest version skillship_components/sdk/gate.py admits). A floor that lets in a
# version that crashes fails here, not on a user's machine (#38: typer 0.12 crashed on
# `Path | None`, 0.13 to 0.15.1 on `--help` with click 8.5).
#
#   bash tools/lowest-versions.sh         the CLI and the dependency-bound tests (about 30 s)
#   bash tools/lowest-versions.sh --all   every unit test (a few minutes)
set -euo pipefail
cd "$(dirname "$0")/.."

uv_version="0.13.9"
tools="${SKILLSHIP_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/skillship-tools}"
uv_venv="$tools/uv-$uv_version"
if [ ! -x "$uv_venv/bin/uv" ]; then
  rm -rf "$uv_venv"
  python3 -m venv "$uv_venv"
  "$uv_venv/bin/python" -m pip install --quiet "uv==$uv_version"
fi
uv="$uv_venv/bin/uv"
# One scratch folder for this run, removed at its end: uv leaves a lock file per build backend in
# the temporary folder (uv-setuptools-*.lock), which would gather in the host's /tmp.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export TMPDIR="$work"

venv="${SKILLSHIP_LOWEST_VENV:-.lowest-venv}"
rm -rf "$venv"
"$uv" venv --quiet --python "$(command -v python3)" "$venv"
"$uv" pip install --quiet --python "$venv/bin/python" --resolution lowest-direct -e '.[test]'
echo "   at their floors: $("$uv" pip list --python "$venv/bin/python" 2>/dev/null |
  grep -iE '^(typer|click|pydantic|pyyaml|rich|kubernetes|google-re2|pulumi|pulumi-kubernetes) ' |
  awk '{printf "%s %s, ", $1, $2}')"

# The CLI as a user meets it: every command's help, a new project validated, rendered and drawn.
skillship="$(pwd)/$venv/bin/skillship"
for command in init validate new render graph status logs run shards builder; do
  "$skillship" "$command" --help >/dev/null
done
"$skillship" --version
(
  cd "$work"
  "$skillship" init floors --ci gitlab 2>/dev/null
  cd floors
  "$skillship" validate --json >/dev/null
  "$skillship" render --stack local --json >/dev/null
  "$skillship" graph >/dev/null
)

if [ "${1:-}" = "--all" ]; then
  "$venv/bin/python" -m pytest -q -p no:cacheprovider -m "not e2e and not scanner"
else
  "$venv/bin/python" -m pytest -q -p no:cacheprovider -m "not e2e and not scanner" \
    tests/test_cli_commands.py tests/test_cli_flags.py tests/test_cli_init.py tests/test_cli_validate_new.py \
    tests/test_settings.py tests/test_models.py tests/test_validation.py tests/test_reading_door.py \
    tests/test_render_safety.py tests/test_graph.py tests/test_hostile_inputs.py tests/test_yamlsource.py \
    tests/test_sdk_fence.py tests/test_sdk_messages.py tests/test_sdk_outputs.py tests/test_sdk_read_back.py \
    tests/test_schedules.py
fi
