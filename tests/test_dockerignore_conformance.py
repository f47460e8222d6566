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

from skillship.images import gomatch
from skillship.images.digest import ContextError, context_files
from skillship.images.dockerignore import Ignore, IgnoreFileError
from tests.conftest import REPO

ORACLE = REPO / "tools" / "dockerignore-oracle"

# Patterns from docker's documentation and from real ignore files, with the corners where shell
# globs, gitignore and Go's filepath.Match part ways.
PATTERNS = [
    "*.md",
    "!README.md",
    "README-secret.md",
    "!README*.md",
    "**/*.pyc",
    "*.pyc",
    "data",
    "data/",
    "/data/raw",
    "!data/raw/keep.csv",
    "docs/**",
    "**/tmp",
    "a/*/c",
    "?.txt",
    "[a-c].txt",
    "[!a]*.txt",
    "[^a]*.txt",
    "\\#literal",
    "temp?",
    "*/temp*",
    "*/*/temp*",
    "build/**/*.o",
    "!build/keep.o",
    ".git",
    "**",
    "*",
    "!*.py",
    "Dockerfile",
    "./x",
    "x/../y",
    "  spaced  ",
    "!  negspaced",
    "node_modules",
    "**/node_modules/**",
    "logs/*.log",
    "!logs/important.log",
    "*.tar.gz",
    "a/**/b",
    "**/b/**",
    "**/",
    "/",
    "!",
    "#comment",
    " #not-a-comment",
    "**/*.md",
    "!docs/**/keep.md",
    "src/**",
    "!src/main.py",
    "caf\u00e9.txt",
    "*~",
    ".*",
    "!.dockerignore",
    "dir/sub/",
    "dir/*",
    "!dir/sub/file",
    "a\\*b",
    "[]",
    "[a-",
    "x/**/**/y",
    "\\d.txt",
    "a\\ b",
    "[a-c]?/x",
    "**/*.md~",
    "a**",
    "**tmp",
    "x/**",
    "?",
    "[^/]",
    "a[/]b",
    "[[]",
    "[\\]]",
    "**/**",
    "a^b",
    ".[a-z]*",
    "/**/x",
    "!**/keep*",
    "build/",
    "*.[oa]",
    "[a-c-e]",
    "[]]",
    "\\",
    "a\\",
    "[\\",
    "[^]",
    "[^a",
    "[*]",
    "[?]",
    "[.]",
    "a{1,2}",
    "(x)",
    "x|y",
    "$HOME",
    "a+",
    "\\w*",
    "\x1fodd",
    "\u00a0nb\u00a0",
]

PATHS = [
    "README.md",
    "README-secret.md",
    "docs/guide.md",
    "docs/deep/keep.md",
    "a.pyc",
    "pkg/b.pyc",
    "data",
    "data/raw/x.csv",
    "data/raw/keep.csv",
    "data/clean.csv",
    "x.txt",
    "b.txt",
    "ab.txt",
    "tempa",
    "somedir/temporary.txt",
    "somedir/subdir/temporary.txt",
    "build/x/y.o",
    "build/keep.o",
    "#literal",
    "node_modules/p/index.js",
    "src/node_modules/q.js",
    "logs/a.log",
    "logs/important.log",
    "y",
    "x",
    "a/b",
    "a/x/b",
    "a/x/y/b",
    "a/x/c",
    "main.py",
    "src/main.py",
    "src/lib/util.py",
    "Dockerfile",
    ".dockerignore",
    ".git/HEAD",
    ".env",
    "a.tar.gz",
    "spaced",
    "negspaced",
    "caf\u00e9.txt",
    "notes.txt~",
    "dir/sub/file",
    "dir/sub/other",
    "dir/top",
    "a*b",
    "axb",
    "tmp/cache.bin",
    "deep/tmp/cache.bin",
    "x/y",
    "x/p/q/y",
    "#comment",
    "#not-a-comment",
    "1.txt",
    "a b",
    "x/a b/c",
    "a^b",
    "[",
    "]",
    "a/b/c/d/e.md",
    ".hidden/x",
    "x.o",
    "x.a",
    "-",
    "*",
    "?",
    ".",
    "a1",
    "aa",
    "a{1,2}",
    "(x)",
    "x|y",
    "$HOME",
    "a+",
    "xtmp",
    "a/xtmp",
    "b/keepme",
    "README.md~",
    "\x1fodd",
    "odd",
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


# Characters that mean something to globs, to docker's reader or to regular expressions (moby hands
# `|`, `{` and `}` to its expressions unescaped), for patterns nobody would write but docker reads.
# Left out on purpose: escaped letters that RE2 and Python read differently (\x, \p, \Q...), which
# we refuse rather than guess, and '[:' classes.
_ODD = list("ab/*?[]!^-\\.{}$()|+ 0123789,ésdwBAz") + ["**", "**/", "a/", "/"]
_ODD_PATHS = [
    "a",
    "b",
    "ab",
    "a/b",
    "b/a",
    "a/b/a",
    "aa/bb",
    "a.b",
    "a-b",
    "a^b",
    "!a",
    "[a]",
    "a*",
    "a?",
    "\\a",
    "{a}",
    "(a)",
    "a|b",
    "a+",
    "$a",
    "a b",
    "-",
    "^",
    ".",
    "a/.b",
    "a/b/c/d",
    "aa",
    "a1",
    "a{1}",
    "a$",
    "ab$",
    "a\n",
    "é",
    "aéb",
]


def _odd_cases(count: int, seed: int) -> list[dict]:
    chosen = random.Random(seed)
    return [
        {
            "ignore": "\n".join(
                "".join(chosen.choice(_ODD) for _ in range(chosen.randint(1, 6))) for _ in range(chosen.randint(1, 3))
            )
            + "\n",
            "paths": _ODD_PATHS,
        }
        for _ in range(count)
    ]


@pytest.fixture(scope="module")
def oracle(tmp_path_factory) -> Path:
    binary = tmp_path_factory.mktemp("oracle") / "dockerignore-oracle"
    done = subprocess.run(
        ["go", "build", "-o", str(binary), "."],
        cwd=ORACLE,
        capture_output=True,
        text=True,
        env={**os.environ, "GOFLAGS": "-mod=mod"},
    )
    assert done.returncode == 0, f"cannot build {ORACLE} with the Go toolchain: {done.stderr}"
    return binary


def _docker(oracle: Path, cases: list[dict] = (), globs: list[tuple[str, str]] = (), walks: list[dict] = ()) -> dict:
    done = subprocess.run(
        [str(oracle)],
        input=json.dumps({"cases": list(cases), "globs": list(globs), "walks": list(walks)}),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _ours(case: dict) -> list[bool] | IgnoreFileError:
    """Our answer for every path, or why we refuse the file (as docker, possibly only once a path
    reaches the pattern it cannot compile)."""
    try:
        ignore = Ignore(case["ignore"])
        return [ignore.excludes(path) for path in case["paths"]]
    except IgnoreFileError as exc:
        return exc


def _disagreements(cases: list[dict], answers: list[dict]) -> list[str]:
    found = []
    for case, docker in zip(cases, answers, strict=True):
        ours = _ours(case)
        if isinstance(ours, IgnoreFileError) or "refused" in docker:
            if isinstance(ours, IgnoreFileError) != ("refused" in docker):
                found.append(
                    f"{case['ignore']!r}: docker {docker.get('refused', 'reads it')}; "
                    f"we {ours if isinstance(ours, IgnoreFileError) else 'read it'}"
                )
            continue
        found += [
            f"{case['ignore']!r} {path!r}: docker {'excludes' if excluded else 'sends'} it"
            for path, mine, excluded in zip(case["paths"], ours, docker["excluded"], strict=True)
            if mine != excluded
        ]
    return found


def test_every_path_is_excluded_exactly_when_docker_excludes_it(oracle):
    """Ignore files made of real patterns and of odd characters (1,600 and 6,000 files, 80 and 32
    paths each); docker refuses about one in four, on purpose: refusals must agree too."""
    cases = _cases(count=1500, seed=20261130) + _odd_cases(count=6000, seed=20261130)
    disagreements = _disagreements(cases, _docker(oracle, cases)["cases"])
    assert not disagreements, f"{len(disagreements)} disagreements, first ones:\n" + "\n".join(disagreements[:25])


def _tree(root: Path, chosen: random.Random) -> None:
    """A context made of some of PATHS (a name is a file or a folder, never both), symlinks to a
    file and to a folder (sent as links, never followed), an empty folder and the Dockerfile."""
    files: set[str] = set()
    for path in chosen.sample(PATHS, k=len(PATHS) * 2 // 3) + ["Dockerfile"]:
        parents = {"/".join(path.split("/")[:end]) for end in range(1, path.count("/") + 1)}
        if path in (".", "*", "?") or "\x1f" in path or parents & files or any(f.startswith(path + "/") for f in files):
            continue
        files.add(path)
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(path)
    (root / "empty" / "folder").mkdir(parents=True, exist_ok=True)
    (root / "linked" / "inner.txt").parent.mkdir(exist_ok=True)
    (root / "linked" / "inner.txt").write_text("reached through a link")
    (root / "link").symlink_to("Dockerfile")
    (root / "folder-link").symlink_to("linked", target_is_directory=True)


def test_the_files_we_digest_are_the_files_buildkit_sends(oracle, tmp_path):
    """The whole walk, not path by path: 400 contexts on disk, each walked by fsutil (what BuildKit's
    client sends a context with, at the version tools/builder links) and by our digest. We also
    count the Dockerfile and the ignore file when a pattern excludes them: they shape the build."""
    chosen = random.Random(20261201)
    cases = _cases(count=400 - len(PATTERNS), seed=20261201)
    walks = []
    for index, case in enumerate(cases):
        root = tmp_path / f"context-{index}"
        root.mkdir()
        _tree(root, chosen)
        (root / ".dockerignore").write_text(case["ignore"], newline="")
        walks.append({"root": str(root), "ignore": case["ignore"]})
    differing, refused = [], 0
    for walk, docker in zip(walks, _docker(oracle, walks=walks)["walks"], strict=True):
        root = Path(walk["root"])
        try:
            ours = set(context_files(root))
        except (ContextError, IgnoreFileError) as exc:
            refused += "refused" in docker
            if "refused" not in docker:
                differing.append(f"{walk['ignore']!r}: docker sends {len(docker['sent'])} files; we refuse: {exc}")
            continue
        if "refused" in docker:
            differing.append(f"{walk['ignore']!r}: docker refuses ({docker['refused']}); we send {len(ours)} files")
            continue
        theirs = set(docker["sent"]) | {"Dockerfile", ".dockerignore"}
        if ours != theirs:
            differing.append(
                f"{walk['ignore']!r}: only we send {sorted(ours - theirs)}, only docker {sorted(theirs - ours)}"
            )
    assert not differing, f"{len(differing)} of {len(walks)} contexts differ, first ones:\n" + "\n".join(differing[:10])
    assert 0 < refused < len(walks) // 2  # both kinds of answer were compared


def test_malformed_patterns_are_the_ones_gos_filepath_match_refuses(oracle):
    """Docker's syntax check is Go's filepath.Match against ".", which reads a pattern only as far
    as it matches; skillship.images.gomatch walks it the same way (matches compared too)."""
    chosen = random.Random(7)
    alphabet = list("ab/*?[]^-\\.")
    names = [".", "a", "ab", "a/b", "", "b", "-", "]", "[", "a.b"]
    globs = [
        ("".join(chosen.choice(alphabet) for _ in range(chosen.randint(1, 8))), chosen.choice(names))
        for _ in range(20000)
    ]
    differing = []
    for (pattern, name), (matched, malformed) in zip(globs, _docker(oracle, globs=globs)["globs"], strict=True):
        try:
            ours = (gomatch.match(pattern, name), False)
        except gomatch.BadPattern:
            ours = (False, True)
        if ours != (matched, malformed):
            differing.append(f"{pattern!r} on {name!r}: Go {matched, malformed}, ours {ours}")
    assert not differing, "\n".join(differing[:25])


def test_the_oracle_tells_sent_from_excluded_and_refuses(oracle):
    """The comparisons above mean something only if docker's answers vary."""
    answers = _docker(
        oracle,
        [
            {"ignore": "*.md\n!README.md\n[!a]*.txt\n", "paths": ["README.md", "a.md", "docs/a.md", "x.txt", "ab.txt"]},
            {"ignore": "*.md\n!/\n", "paths": ["a.md"]},
        ],
        globs=[("a\\", "."), ("a*\\", ".")],
    )
    assert answers["cases"] == [
        {"excluded": [False, True, False, False, True]},
        {"refused": 'illegal exclusion pattern: "!"'},
    ]
    assert answers["globs"] == [[False, True], [False, False]]


@pytest.mark.parametrize(
    ("pattern", "matching"),
    [
        ("**/" * 12 + "x", "a/b/x"),
        ("*a" * 12 + "b", "a" * 12 + "b"),
        ("**/a*/" * 8 + "z", "/".join(["ab"] * 8) + "/z"),
        ("a/**/**/**/**/**/**/**/**/b/*/*/*/*/*/c", "a/q/b/1/2/3/4/5/c"),
    ],
    ids=["repeated-globstars", "stars-in-a-segment", "globstar-segments", "mixed"],
)
def test_patterns_that_would_backtrack_are_matched_in_linear_time(pattern, matching):
    """Python's engine took 8.4 s for eight `**/` on a path 31 folders deep, and grows about
    twentyfold per `**/`; such patterns are matched by RE2. The bound is loose: it guards against
    a hang, it does not time the matcher."""
    import time

    ignore = Ignore(pattern)
    paths = ["/".join(["a"] * depth) + "/y" for depth in (10, 30, 60)] + ["a" * 200 + "c", "a/" * 40 + "b"]
    started = time.monotonic()
    answers = [ignore.excludes(path) for path in paths]
    assert time.monotonic() - started < 2, answers
    assert answers == [False] * len(paths)  # none of these paths ends as the pattern wants
    assert ignore.excludes(matching)
