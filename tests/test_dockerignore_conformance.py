"""Our ignore-file reader and matcher against docker's own (tools/dockerignore-oracle: moby's
patternmatcher, built with the Go toolchain). The image tag promises to cover exactly what docker
sends, so any path the two judge differently is a tag that misses a change, or one that moves for
nothing."""

from __future__ import annotations

import json
import os
import random
import subprocess
from pathlib import Path

import pytest

from skillship.dockerignore import Ignore, IgnoreFileError
from tests.conftest import REPO

ORACLE = REPO / "tools" / "dockerignore-oracle"

# Patterns from docker's documentation and from real ignore files, with the corners where shell
# globs, gitignore and Go's filepath.Match part ways.
PATTERNS = [
    "*.md", "!README.md", "README-secret.md", "!README*.md", "**/*.pyc", "*.pyc", "data", "data/",
    "/data/raw", "!data/raw/keep.csv", "docs/**", "**/tmp", "a/*/c", "?.txt", "[a-c].txt",
    "[!a]*.txt", "[^a]*.txt", "\\#literal", "temp?", "*/temp*", "*/*/temp*", "build/**/*.o",
    "!build/keep.o", ".git", "**", "*", "!*.py", "Dockerfile", "./x", "x/../y", "  spaced  ",
    "!  negspaced", "node_modules", "**/node_modules/**", "logs/*.log", "!logs/important.log",
    "*.tar.gz", "a/**/b", "**/b/**", "**/", "/", "!", "#comment", " #not-a-comment", "**/*.md",
    "!docs/**/keep.md", "src/**", "!src/main.py", "caf\u00e9.txt", "*~", ".*", "!.dockerignore",
    "dir/sub/", "dir/*", "!dir/sub/file", "a\\*b", "[]", "[a-", "x/**/**/y", "\\d.txt", "a\\ b",
    "[a-c]?/x", "**/*.md~", "a**", "**tmp", "x/**", "?", "[^/]", "a[/]b", "[[]", "[\\]]", "**/**", "a^b",
    ".[a-z]*", "/**/x", "!**/keep*", "build/", "*.[oa]", "[a-c-e]", "[]]", "\\", "a\\", "[\\", "[^]",
    "[^a", "[*]", "[?]", "[.]", "a{1,2}", "(x)", "x|y", "$HOME", "a+", "\\w*", "\x1fodd", "\u00a0nb\u00a0",
]

PATHS = [
    "README.md", "README-secret.md", "docs/guide.md", "docs/deep/keep.md", "a.pyc", "pkg/b.pyc",
    "data", "data/raw/x.csv", "data/raw/keep.csv", "data/clean.csv", "x.txt", "b.txt", "ab.txt",
    "tempa", "somedir/temporary.txt", "somedir/subdir/temporary.txt", "build/x/y.o", "build/keep.o",
    "#literal", "node_modules/p/index.js", "src/node_modules/q.js", "logs/a.log", "logs/important.log",
    "y", "x", "a/b", "a/x/b", "a/x/y/b", "a/x/c", "main.py", "src/main.py", "src/lib/util.py",
    "Dockerfile", ".dockerignore", ".git/HEAD", ".env", "a.tar.gz", "spaced", "negspaced",
    "caf\u00e9.txt", "notes.txt~", "dir/sub/file", "dir/sub/other", "dir/top", "a*b", "axb",
    "tmp/cache.bin", "deep/tmp/cache.bin", "x/y", "x/p/q/y", "#comment", "#not-a-comment", "1.txt",
    "a b", "x/a b/c", "a^b", "[", "]", "a/b/c/d/e.md", ".hidden/x", "x.o", "x.a", "-", "*", "?", ".",
    "a1", "aa", "a{1,2}", "(x)", "x|y", "$HOME", "a+", "xtmp", "a/xtmp", "b/keepme", "README.md~", "\x1fodd", "odd",
    "nb",
]


def _cases(count: int, seed: int) -> list[dict]:
    """Each case: an ignore file of one to five patterns (some negated), in LF or CRLF, sometimes
    with a byte-order mark, and every path."""
    chosen = random.Random(seed)
    cases = [{"ignore": pattern + "\n", "paths": PATHS} for pattern in PATTERNS]  # each pattern alone
    for _ in range(count):
        lines = [chosen.choice(PATTERNS) for _ in range(chosen.randint(1, 5))]
        lines = [("!" + line if chosen.random() < 0.2 and not line.startswith("!") else line) for line in lines]
        text = ("\r\n" if chosen.random() < 0.2 else "\n").join(lines) + "\n"
        cases.append({"ignore": ("\ufeff" if chosen.random() < 0.1 else "") + text, "paths": PATHS})
    return cases


@pytest.fixture(scope="module")
def oracle(tmp_path_factory) -> Path:
    binary = tmp_path_factory.mktemp("oracle") / "dockerignore-oracle"
    done = subprocess.run(["go", "build", "-o", str(binary), "."], cwd=ORACLE, capture_output=True, text=True,
                          env={**os.environ, "GOFLAGS": "-mod=mod"})
    assert done.returncode == 0, f"cannot build {ORACLE} with the Go toolchain: {done.stderr}"
    return binary


def _docker_answers(oracle: Path, cases: list[dict]) -> list[dict]:
    done = subprocess.run([str(oracle)], input=json.dumps({"cases": cases}), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _disagreements(case: dict, docker: dict) -> list[str]:
    try:
        ours = Ignore(case["ignore"])
    except IgnoreFileError as exc:
        return [] if "refused" in docker else [f"{case['ignore']!r}: we refuse it ({exc}), docker reads it"]
    if "refused" in docker:
        return [f"{case['ignore']!r}: docker refuses it ({docker['refused']}), we read it"]
    return [f"{case['ignore']!r} {path!r}: docker {'excludes' if excluded else 'sends'} it"
            for path, excluded in zip(case["paths"], docker["excluded"]) if ours.excludes(path) != excluded]


def test_every_path_is_excluded_exactly_when_docker_excludes_it(oracle):
    """1,596 ignore files, 80 paths each; docker refuses about one file in four (on purpose: refusals
    must agree too), and judges the paths of the rest: some 93,000 answers."""
    cases = _cases(count=1500, seed=20261130)
    answers = _docker_answers(oracle, cases)
    disagreements = [line for case, docker in zip(cases, answers) for line in _disagreements(case, docker)]
    assert not disagreements, f"{len(disagreements)} disagreements, first ones:\n" + "\n".join(disagreements[:25])


def test_the_oracle_tells_sent_from_excluded_and_refuses(oracle):
    """The comparison above means something only if docker's answers vary with the patterns."""
    sent_and_excluded, refused = _docker_answers(oracle, [
        {"ignore": "*.md\n!README.md\n[!a]*.txt\n", "paths": ["README.md", "a.md", "docs/a.md", "x.txt", "ab.txt"]},
        {"ignore": "*.md\n!/\n", "paths": ["a.md"]},
    ])
    assert sent_and_excluded == {"excluded": [False, True, False, False, True]}
    assert refused == {"refused": 'illegal exclusion pattern: "!"'}
