"""Content digests of build contexts: the image tag, so an unchanged action keeps its tag.

The digest covers exactly what `docker build` would send: every file of the context that its
ignore file (`Dockerfile.dockerignore`, else `.dockerignore`) does not exclude, plus the Dockerfile
and the ignore files themselves. It hashes relative paths, the executable bit and contents (special
files by their type); timestamps and owners do not count.
"""

from __future__ import annotations

import hashlib
import json
import marshal
import os
import stat
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from skillship.images.dockerignore import IGNORE_FILES, Ignore, IgnoreFileError, compiled, read_ignore_file
from skillship.source import door
from skillship.source.door import DIGEST_CACHE, ReadRefused
from skillship.source.jsontext import JsonRefused, parse_json

TAG_PREFIX = "ctx-"
TAG_HEX = 20
_ALWAYS_SENT = ("Dockerfile", *IGNORE_FILES)  # counted even when a pattern names them


class ContextError(Exception):
    """A build context docker could not send as it is: a file or folder that cannot be read, or an
    ignore file docker refuses. `path` is that file or folder."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


@contextmanager
def _reading(context: Path) -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        raise ContextError(str(exc.filename or context), exc.strerror or str(exc)) from None
    except ReadRefused as exc:  # the ignore file, read through the door
        raise ContextError(exc.path or str(context), exc.message) from None
    except IgnoreFileError as exc:  # docker refuses the file, or a pattern it reaches while matching
        name = next((n for n in IGNORE_FILES if os.path.exists(os.path.join(context, n))), IGNORE_FILES[-1])
        raise ContextError(os.path.join(context, name), f"docker refuses this ignore file, {exc}") from None


@dataclass(frozen=True)
class ContextDigest:
    sha256: str
    files: int
    bytes: int

    @property
    def tag(self) -> str:
        return f"{TAG_PREFIX}{self.sha256[:TAG_HEX]}"

    def combined(self, other: ContextDigest) -> ContextDigest:
        """The digest of a build that also reads `other` (a named build context)."""
        both = hashlib.sha256(f"{self.sha256}\n{other.sha256}".encode()).hexdigest()
        return ContextDigest(both, self.files + other.files, self.bytes + other.bytes)


def dockerignore(context: Path, top: list[os.DirEntry[str]] | None = None) -> Ignore:
    """The matcher of the ignore file docker uses for `context`. Raises IgnoreFileError (`_reading`
    names the file)."""
    present = None if top is None else {entry.name for entry in top}
    return compiled(read_ignore_file(context, present)[1])


# (relative path, size, mtime_ns, ctime_ns, inode, mode): tuples, as there are many of them.
_File = tuple[str, int, int, int, int, int]


def _listing(folder: str) -> list[os.DirEntry[str]]:
    with os.scandir(folder) as entries:
        listed = list(entries)
    for entry in listed:
        if not entry.name.isascii():
            try:
                entry.name.encode("utf-8")
            except UnicodeEncodeError:  # bytes Python kept apart (surrogateescape)
                raise ContextError(
                    os.fsencode(entry.path).decode("utf-8", errors="replace"),
                    "a file name that is not UTF-8 text: the image tag and the ignore file's patterns "
                    "are text, so rename it or move it out of the build context",
                ) from None
    return listed


def _walk(ignore: Ignore, top: list[os.DirEntry[str]]) -> list[_File]:
    """Every file below a context, from its own entries (`top`, which the caller has listed), with
    its `lstat`, in path order. A folder that the ignore file excludes is not entered, unless a `!`
    pattern could bring something inside it back. Files are not matched here: a cache hit needs no
    matching at all."""
    found: list[_File] = []
    folders: list[tuple[str, str]] = []
    entries, prefix = top, ""
    while True:
        for entry in entries:
            relative = prefix + entry.name
            if entry.is_dir(follow_symlinks=False):
                if ignore.has_negations or not ignore.excludes(relative):
                    folders.append((relative + "/", entry.path))
                continue
            info = entry.stat(follow_symlinks=False)
            found.append((relative, info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_mode))
        if not folders:
            break
        prefix, folder = folders.pop()
        entries = _listing(folder)
    found.sort()
    return found


def _sent(files: list[_File], ignore: Ignore) -> list[_File]:
    """The files docker sends: those the ignore file keeps, and always the Dockerfile and the ignore
    files themselves."""
    return [f for f in files if f[0] in _ALWAYS_SENT or not ignore.excludes(f[0])]


def _scan(context: Path) -> list[_File]:
    top = _listing(str(context))
    ignore = dockerignore(context, top)
    return _sent(_walk(ignore, top), ignore)


def context_files(context: Path) -> list[str]:
    """Relative POSIX paths of the files docker would send, sorted."""
    return [f[0] for f in _scan(context)]


_SMALL_FILE = 1024 * 1024


_NOTHING = hashlib.sha256(b"").hexdigest()
_NO_WAIT = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0)


def _content_hash(path: str, size: int, mode: int) -> tuple[str, str]:
    if stat.S_ISLNK(mode):
        return "l", hashlib.sha256(os.readlink(path).encode()).hexdigest()
    if not stat.S_ISREG(mode):
        # A named pipe, socket or device: docker sends what it is, never what it holds, and opening
        # a named pipe would wait for a writer forever. Its type ('p', 's', 'c', 'b') is its content.
        return stat.filemode(mode)[0], _NOTHING
    # Opened without blocking and looked at again: a file swapped for a named pipe since the walk
    # must not hang the hash.
    with open(os.open(path, _NO_WAIT), "rb", buffering=0) as handle:
        opened = os.fstat(handle.fileno()).st_mode
        if not stat.S_ISREG(opened):
            return stat.filemode(opened)[0], _NOTHING
        if size <= _SMALL_FILE:
            content = hashlib.sha256(handle.read()).hexdigest()
        else:
            content = hashlib.file_digest(handle, "sha256").hexdigest()
    return ("x" if mode & stat.S_IXUSR else "f"), content


def digest_context(context: Path) -> ContextDigest:
    """The digest of one build context. Raises ContextError."""
    with _reading(context):
        return _digest_files(context, _scan(context))


def _digest_files(context: Path, files: list[_File]) -> ContextDigest:
    total = hashlib.sha256()
    size = 0
    root = str(context) + os.sep
    for relative, file_size, _, _, _, mode in files:
        kind, content = _content_hash(root + relative, file_size, mode)
        if kind != "l":
            size += file_size
        total.update(f"{relative}\0{kind}\0{content}\n".encode())
    return ContextDigest(total.hexdigest(), len(files), size)


CACHE_VERSION = 3  # 3: older entries may be racily clean, or follow older ignore-file rules


def _signature(spec_text: str, files: list[_File]) -> str:
    """What must stay the same for a digest to stay valid: the ignore file and, for every file
    of the context (ignored ones too), its path, size, mtime, ctime, inode and mode. Editing a
    file changes its mtime and ctime (ctime cannot be set back by user tools), replacing it
    changes its inode: equal signatures mean unchanged contents. marshal's version 2 has no
    back-references, so equal values always give equal bytes; it is a quarter of `repr`'s cost."""
    return hashlib.sha256(marshal.dumps((spec_text, files), 2)).hexdigest()


# Timestamps are kept in granules: 2 s on FAT, 1 s on ext3 and HFS+, a clock tick (up to 10 ms) on
# ext4 and XFS with most kernels. Until a file's granule has ended, an edit of the same size leaves
# its size, mtime, ctime and inode as they were, so a signature taken then may match contents it
# does not describe (git calls such entries "racily clean"). SETTLE_NS covers the coarsest granule.
SETTLE_NS = 2_000_000_000


def _settled(files: list[_File], walk_started_ns: int) -> bool:
    """True when every file's last change is older than SETTLE_NS at the start of the walk. Either
    timestamp counts: on POSIX an edit moves both, on Windows `st_ctime` is the creation time."""
    horizon = walk_started_ns - SETTLE_NS
    return all(mtime < horizon and ctime < horizon for _, _, mtime, ctime, _, _ in files)


class DigestCache:
    """Build-context digests remembered between runs, in one JSON file.

    A context is hashed again only when the signature of its files (see `_signature`) changed;
    an unchanged context costs a directory walk and one `lstat` per file. A context with a file
    changed within SETTLE_NS of the walk is hashed but not remembered (see `_settled`). A missing,
    unreadable or foreign cache file is simply a cold cache. `clock` (nanoseconds, the clock file
    timestamps follow) is for tests.
    """

    def __init__(self, path: Path | None, clock: Callable[[], int] = time.time_ns) -> None:
        self.path = path
        self._clock = clock
        self.hits = self.misses = 0
        self._entries: dict[str, dict[str, Any]] = {}
        self._dirty = False
        if path is not None:
            try:
                data = parse_json(door.read_text(path, DIGEST_CACHE))
                if data.get("version") == CACHE_VERSION and isinstance(data.get("contexts"), dict):
                    self._entries = data["contexts"]
            except (ReadRefused, JsonRefused, AttributeError):
                pass  # missing, damaged, foreign or not a file: a cold cache

    def digest(self, context: Path) -> ContextDigest:
        """The digest of one build context, from the cache when its files are unchanged. Raises
        ContextError."""
        with _reading(context):
            return self._digest(context)

    def _digest(self, context: Path) -> ContextDigest:
        key = os.path.abspath(context)
        walk_started = self._clock()
        top = _listing(key)
        _, spec_text = read_ignore_file(key, {entry.name for entry in top})
        ignore = compiled(spec_text)
        everything = _walk(ignore, top)
        signature = _signature(spec_text, everything)
        entry = self._entries.get(key)
        if isinstance(entry, dict) and entry.get("signature") == signature:
            try:
                cached = ContextDigest(str(entry["sha256"]), int(entry["files"]), int(entry["bytes"]))
            except (KeyError, TypeError, ValueError):
                cached = None  # a damaged entry is a miss, never a wrong tag
            if cached is not None:
                self.hits += 1
                return cached
        self.misses += 1
        digest = _digest_files(context, _sent(everything, ignore))
        if _settled(everything, walk_started):
            self._entries[key] = {
                "signature": signature,
                "sha256": digest.sha256,
                "files": digest.files,
                "bytes": digest.bytes,
            }
        else:
            self._entries.pop(key, None)  # an edit may still hide in a file's granule: hash it next time
        self._dirty = True
        return digest

    def save(self) -> None:
        """Write the cache atomically; failing to write it only costs speed next time."""
        if self.path is None or not self._dirty:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            partial = self.path.with_suffix(f".{os.getpid()}.partial")
            partial.write_text(json.dumps({"version": CACHE_VERSION, "contexts": self._entries}), encoding="utf-8")
            partial.replace(self.path)
            self._dirty = False
        except OSError:
            pass


def default_cache_file(project: Path) -> Path | None:
    """Where a project's digest cache lives: $SKILLSHIP_CACHE_DIR (or ~/.cache/skillship), one file
    per project folder; SKILLSHIP_CACHE_DIR=off turns caching off."""
    base = os.environ.get("SKILLSHIP_CACHE_DIR") or str(
        Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "skillship"
    )
    if base == "off":
        return None
    return Path(base) / f"digests-{hashlib.sha256(str(project.resolve()).encode()).hexdigest()[:16]}.json"
