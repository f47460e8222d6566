"""Build-context digests: what docker would send, and nothing else, decides the image tag."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from skillship.digest import context_files, digest_context


@pytest.fixture
def context(tmp_path: Path) -> Path:
    root = tmp_path / "ctx"
    (root / "pkg").mkdir(parents=True)
    (root / "Dockerfile").write_text("FROM scratch\n")
    (root / "main.py").write_text("print(1)\n")
    (root / "pkg" / "lib.py").write_text("X = 1\n")
    return root


@pytest.mark.parametrize(
    ("ignore", "files", "expected"),
    [
        ("*.pyc\n", ["a.pyc", "pkg/b.pyc"], ["pkg/b.pyc"]),  # docker anchors patterns at the root
        ("**/*.pyc\n", ["a.pyc", "pkg/b.pyc"], []),
        ("data/\n", ["data/x.csv", "data/sub/y.csv"], []),
        ("data\n!data/keep.csv\n", ["data/x.csv", "data/keep.csv"], ["data/keep.csv"]),
        ("# comment\n\n/secret.txt\n", ["secret.txt"], []),
        ("Dockerfile\n.dockerignore\n", [], []),  # always sent, so always counted
    ],
    ids=["root-anchored", "double-star", "directory", "negation", "comments-and-slash", "never-the-dockerfile"],
)
def test_dockerignore_rules(context, ignore, files, expected):
    (context / ".dockerignore").write_text(ignore)
    for name in files:
        (context / name).parent.mkdir(parents=True, exist_ok=True)
        (context / name).write_text(name)
    base = {".dockerignore", "Dockerfile", "main.py", "pkg/lib.py"}
    assert set(context_files(context)) == base | set(expected)


def test_digest_ignores_timestamps_but_not_content_or_mode(context):
    first = digest_context(context)
    os.utime(context / "main.py", (1, 1))
    assert digest_context(context) == first
    (context / "main.py").chmod(0o755)
    executable = digest_context(context)
    assert executable.sha256 != first.sha256
    (context / "main.py").write_text("print(2)\n")
    assert digest_context(context).sha256 not in (first.sha256, executable.sha256)


def test_ignored_files_do_not_change_the_tag(context):
    (context / ".dockerignore").write_text("notes.txt\n")
    first = digest_context(context).tag
    (context / "notes.txt").write_text("scratch")
    assert digest_context(context).tag == first


def test_renaming_a_file_changes_the_tag(context):
    first = digest_context(context).tag
    (context / "main.py").rename(context / "app.py")
    assert digest_context(context).tag != first


def test_tag_is_a_valid_docker_tag(context):
    tag = digest_context(context).tag
    assert tag.startswith("ctx-") and len(tag) == 24 and tag[4:].isalnum()
