"""The one door every file Skillship reads from a user goes through.

A workspace is untrusted input: CI previews every pull request on a runner that holds credentials,
so a file in a pull request may be a link to the runner's secrets, a named pipe that never ends, or
a device that never stops giving. A read here therefore:

- takes regular files only, asked before the file is opened (opening some devices has effects) and
  again of what was opened (the name may have been swapped in between);
- opens without blocking, so a named pipe that appears in between cannot hang it;
- checks where the opened file really is, links and `..` after them as the kernel resolved them,
  against the folder it must lie in, before reading a byte of it;
- reads no more than its kind's limit;
- decodes UTF-8 naming the byte where it fails.

Every refusal is a ReadRefused with a diagnostic code and a message that names the file, never a
byte of what it holds.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from skillship.paths import display_path
from skillship_runtime.contract import MESSAGE_LIMIT

MiB = 1024 * 1024


@dataclass(frozen=True)
class FileKind:
    """What is read, for messages, and the most of it that is ever read."""

    label: str
    limit: int


SKILL_FILE = FileKind("skill file", MiB)
AGENT_FILE = FileKind("agent file", MiB)
ACTION_JSON = FileKind("action.json", MiB)
POD_SPEC = FileKind("pod spec", MiB)
STACK_FILE = FileKind("stack file", MiB)
PULUMI_YAML = FileKind("Pulumi.yaml", MiB)
MESSAGE = FileKind("message", MESSAGE_LIMIT)
IGNORE_FILE = FileKind("ignore file", MiB)
DOCKERFILE = FileKind("Dockerfile", MiB)
# Every build context's entry: about 200 bytes each, so room for a few hundred thousand contexts.
DIGEST_CACHE = FileKind("digest cache", 64 * MiB)

_SPECIAL = {
    stat.S_IFIFO: "a named pipe",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
    stat.S_IFDIR: "a folder",
}
_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0)
_FD_PATHS = "/proc/self/fd"


class ReadRefused(Exception):
    """A file was not read, or not decoded. `code` is the diagnostic's; `byte` locates a decoding
    error. The message names the file's kind and why, never its content."""

    def __init__(self, code: str, message: str, byte: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.byte = byte
        self.path: str | None = None  # the path that was asked for, as it was given


class FileMissing(ReadRefused):
    """There is no file at the path (a dangling link counts): often not an error for the caller."""


class Boundary:
    """A folder, and whether a path, links followed, leads out of it: a skill may not read, hash or
    build anything outside the workspace, nor a stack anything outside the project. Each folder's
    real path is found once (one lstat, and a realpath only for a link), not by a realpath of every
    path from the root: validation asks this of several paths of every skill."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.real = os.path.realpath(folder)
        self._prefix = self.real.rstrip(os.sep) + os.sep
        self._resolved: dict[str, str] = {}

    def holds(self, real: str) -> bool:
        """Whether a real path (links resolved) lies in the folder."""
        return real == self.real or real.startswith(self._prefix)

    def escapes(self, path: Path) -> bool:
        return not self.holds(self.real_path(path))

    def real_path(self, path: Path) -> str:
        absolute = os.path.join(os.getcwd(), path)
        if ".." in Path(absolute).parts:
            # `link/..` is the parent of the link's target, not the folder holding the link, as a
            # lexical clean-up would have it: the kernel's answer, uncached.
            return os.path.realpath(absolute)
        return self._real(os.path.normpath(absolute))

    def _real(self, path: str) -> str:
        known = self._resolved.get(path)
        if known is None:
            parent, name = os.path.split(path)
            if not name:
                known = path  # the filesystem's root
            elif os.path.islink(path):
                known = os.path.realpath(path)
            else:
                known = os.path.join(self._real(parent), name)
            self._resolved[path] = known
        return known


def read_bytes(path: Path, kind: FileKind, inside: Boundary | None = None) -> bytes:
    """The bytes of the regular file at `path`, at most `kind.limit` of them, after checking that
    it lies in `inside` (when given). Raises ReadRefused (FileMissing when there is no file)."""
    try:
        return _read_bytes(os.fspath(path), kind, inside)
    except ReadRefused as exc:
        exc.path = os.fspath(path)
        raise


def _read_bytes(name: str, kind: FileKind, inside: Boundary | None) -> bytes:
    try:
        before = os.stat(name)  # follows links: what a read would get
    except FileNotFoundError:
        raise FileMissing("file-missing", f"no such {kind.label}") from None
    except OSError as exc:
        raise ReadRefused("file-unreadable", exc.strerror or str(exc)) from None
    _regular_or_refuse(before.st_mode, kind)  # before the open: opening a device may act
    _size_or_refuse(before.st_size, kind)
    try:
        descriptor = os.open(name, _FLAGS)
    except FileNotFoundError:
        raise FileMissing("file-missing", f"no such {kind.label}") from None
    except OSError as exc:
        raise ReadRefused("file-unreadable", exc.strerror or str(exc)) from None
    try:
        opened = os.fstat(descriptor)
        _regular_or_refuse(opened.st_mode, kind)
        if inside is not None and not inside.holds(_real_path_of(descriptor, name)):
            raise _outside(name, inside)
        _size_or_refuse(opened.st_size, kind)
        return _read_at_most(descriptor, kind)
    except OSError as exc:
        raise ReadRefused("file-unreadable", exc.strerror or str(exc)) from None
    finally:
        os.close(descriptor)


def read_text(path: Path, kind: FileKind, inside: Boundary | None = None) -> str:
    """The file's text, UTF-8. Raises ReadRefused (code `file-encoding` with the byte offset of the
    first byte that is not UTF-8)."""
    data = read_bytes(path, kind, inside)
    try:
        return _decode(data)
    except ReadRefused as exc:
        exc.path = os.fspath(path)
        raise


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ReadRefused("file-encoding", f"not UTF-8 text ({exc.reason} at byte {exc.start})", exc.start) from None


def _regular_or_refuse(mode: int, kind: FileKind) -> None:
    if stat.S_ISREG(mode):
        return
    what = f"{_SPECIAL.get(stat.S_IFMT(mode), 'not a regular file')}, where a {kind.label} should be"
    if stat.S_ISDIR(mode):
        raise ReadRefused("file-unreadable", what)
    raise ReadRefused("file-special", f"{what}; only regular files are read")


def _size_or_refuse(size: int, kind: FileKind) -> None:
    if size > kind.limit:
        raise ReadRefused("file-too-large", f"{size} bytes; a {kind.label} is read up to {kind.limit} bytes")


def _read_at_most(descriptor: int, kind: FileKind) -> bytes:
    """Up to the limit, and one byte more to tell a file that grew past it since fstat."""
    chunks = []
    left = kind.limit + 1
    while left > 0:
        chunk = os.read(descriptor, min(left, MiB))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    data = b"".join(chunks)
    if len(data) > kind.limit:
        raise ReadRefused("file-too-large", f"more than {kind.limit} bytes; a {kind.label} is read up to that")
    return data


def _real_path_of(descriptor: int, name: str) -> str:
    """Where the opened file is, as the kernel found it; the path resolved again elsewhere."""
    try:
        return os.readlink(f"{_FD_PATHS}/{descriptor}")
    except OSError:
        return os.path.realpath(name)


def _outside(name: str, inside: Boundary) -> ReadRefused:
    return ReadRefused(
        "outside-workspace",
        f"leads outside {display_path(inside.folder)} (to {os.path.realpath(name)}); it is not read",
    )
