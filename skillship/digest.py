"""Content digests of build contexts: the image tag, so an unchanged action keeps its tag.

The digest covers exactly what `docker build` would send: every file of the context that
`.dockerignore` does not exclude, plus the Dockerfile and `.dockerignore` themselves. It hashes
relative paths, the executable bit and contents; timestamps and owners do not count.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import pathspec

TAG_PREFIX = "ctx-"
TAG_HEX = 20
_ALWAYS_SENT = ("Dockerfile", ".dockerignore")


@dataclass(frozen=True)
class ContextDigest:
    sha256: str
    files: int
    bytes: int

    @property
    def tag(self) -> str:
        return f"{TAG_PREFIX}{self.sha256[:TAG_HEX]}"


def dockerignore_spec(context: Path) -> pathspec.PathSpec:
    """`.dockerignore` as a matcher. Docker anchors every pattern at the context root (`foo`
    excludes `./foo`, not `a/foo`, unlike .gitignore), so patterns are anchored before matching."""
    ignore = context / ".dockerignore"
    lines = ignore.read_text(encoding="utf-8").splitlines() if ignore.is_file() else []
    anchored = []
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line[1:].strip() if negate else line
        pattern = os.path.normpath(pattern.lstrip("/")).replace(os.sep, "/")
        if not pattern.startswith("**"):
            pattern = "/" + pattern
        anchored.append(("!" if negate else "") + pattern)
    return pathspec.PathSpec.from_lines("gitignore", anchored)


def context_files(context: Path) -> list[str]:
    """Relative POSIX paths of the files docker would send, sorted."""
    spec = dockerignore_spec(context)
    found = []
    for current, dirs, files in os.walk(context):
        dirs.sort()
        relative_dir = os.path.relpath(current, context)
        for name in files:
            relative = name if relative_dir == "." else f"{relative_dir}/{name}".replace(os.sep, "/")
            if relative in _ALWAYS_SENT or not spec.match_file(relative):
                found.append(relative)
    return sorted(found)


def digest_context(context: Path) -> ContextDigest:
    """The digest of one build context."""
    total = hashlib.sha256()
    size = 0
    files = context_files(context)
    for relative in files:
        path = context / relative
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode):
            content = hashlib.sha256(os.readlink(path).encode()).hexdigest()
            kind = "l"
        else:
            with path.open("rb") as handle:
                content = hashlib.file_digest(handle, "sha256").hexdigest()
            kind = "x" if info.st_mode & stat.S_IXUSR else "f"
            size += info.st_size
        total.update(f"{relative}\0{kind}\0{content}\n".encode())
    return ContextDigest(total.hexdigest(), len(files), size)
