#!/usr/bin/env bash
# Mutation testing of the core's riskiest modules (pyproject.toml's [tool.mutmut]): mutmut changes
# one thing at a time (a comparison, a constant, a condition dropped) and runs the tests that cover
# it; a mutant that no test kills is a rule the suite does not hold. A report, not a CI gate: see
# bench/MUTATION.md for the last run and why each surviving mutant may live.
#
#   bench/mutation.sh            # the whole run, then the survivors
#   bench/mutation.sh show NAME  # the diff of one mutant
#
# mutmut and its pins live in a virtualenv of their own; it runs in a copy of the working tree, so
# its `mutants/` folder never lands in the repository.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
cache="${SKILLSHIP_MUTATION_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/skillship/mutation}"
venv="$cache/venv"
work="$cache/tree"
MUTMUT_VERSION=3.8.1

if [[ ! -x "$venv/bin/mutmut" ]] || ! "$venv/bin/pip" show mutmut 2>/dev/null | grep -qx "Version: $MUTMUT_VERSION"; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "mutmut==$MUTMUT_VERSION"
fi
# The project's own test dependencies, at the versions it asks for (cheap when already there).
"$venv/bin/pip" install --quiet -e "$repo[test]"

if [[ "${1:-}" == "show" ]]; then
  cd "$work" && exec "$venv/bin/mutmut" show "$2"
fi

head="$(cd "$repo" && git rev-parse --short HEAD)$(cd "$repo" && git diff --quiet HEAD || echo '+changes')"
rm -rf "$work"
mkdir -p "$work"
(cd "$repo" && git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$work")
cd "$work"
started=$(date +%s)
"$venv/bin/mutmut" run --max-children "${SKILLSHIP_MUTATION_JOBS:-2}" >"$cache/run.log" 2>&1 || {
  tail -40 "$cache/run.log" >&2
  exit 1
}
echo "mutmut $MUTMUT_VERSION at $head, $(( $(date +%s) - started )) s"
"$venv/bin/mutmut" export-cicd-stats >/dev/null 2>&1 && cat mutants/mutmut-cicd-stats.json && echo
echo "Surviving mutants (bench/mutation.sh show NAME for each diff):"
"$venv/bin/mutmut" results
