"""Docker ignore files, read and matched the way docker does it.

BuildKit, and pulumi-docker-build's own context hash, use moby's patternmatcher. Its rules are
not .gitignore's, which is why this is not pathspec: a pattern is anchored at the context root; a
path is excluded when the last pattern that matches it, or matches one of its folders, is not a
`!` pattern; `*` and `?` stay within one path segment; `**` spans segments; `[...]` is a regular
expression class (so `[!a]` is the set of '!' and 'a'); `\\` escapes the next character. Some
patterns make docker refuse the whole file: a lone `!`, and anything Go's `filepath.Match` calls
malformed. `tests/test_dockerignore_conformance.py` holds this module to moby's own code
(tools/dockerignore-oracle) on thousands of ignore files.
"""

from __future__ import annotations

import functools
import os
import posixpath
import re
import warnings
from dataclasses import dataclass

# BuildKit, and pulumi-docker-build's own context hash, read the Dockerfile's own ignore file when
# there is one, else the context's `.dockerignore`.
IGNORE_FILES = ("Dockerfile.dockerignore", ".dockerignore")


class IgnoreFileError(ValueError):
    """Docker refuses the ignore file; `line` is 1-based."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


def read_ignore_file(context: str | os.PathLike[str]) -> tuple[str | None, str]:
    """(name, text) of the ignore file docker uses for `context`, or (None, "") when there is none.
    Bytes that are not UTF-8 are kept apart, not refused: docker reads the file as bytes. Raises
    OSError when the file exists but cannot be read."""
    for name in IGNORE_FILES:
        # A raw unbuffered read: the digest cache does this once per context on every run.
        try:
            with open(os.path.join(context, name), "rb", buffering=0) as handle:
                return name, handle.read().decode("utf-8", errors="surrogateescape")
        except FileNotFoundError:
            continue
    return None, ""


# What Go's strings.TrimSpace removes (unicode.IsSpace); Python's str.strip() also removes \x1c-\x1f.
_GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"


def read_patterns(text: str) -> list[tuple[int, str]]:
    """(line, pattern) of each pattern, as docker's reader takes them from the file: a byte-order
    mark is dropped, a line starting with '#' is a comment (only from the first column), space
    around a pattern and after '!' is dropped, paths are cleaned and a leading '/' removed."""
    patterns = []
    for number, raw in enumerate(text.removeprefix("\ufeff").split("\n"), start=1):
        if raw.startswith("#"):
            continue
        line = raw.strip(_GO_SPACE)
        if not line:
            continue
        negated = line.startswith("!")
        body = line[1:].strip(_GO_SPACE) if negated else line
        if body:
            body = _clean(body)
            if len(body) > 1 and body.startswith("/"):
                body = body[1:]
        patterns.append((number, ("!" if negated else "") + body))
    return patterns


def _clean(path: str) -> str:
    """Go's filepath.Clean: like normpath, but a leading '//' is one '/'."""
    cleaned = posixpath.normpath(path)
    return "/" + cleaned.lstrip("/") if cleaned.startswith("//") else cleaned


@dataclass(frozen=True)
class _Pattern:
    text: str
    exclusion: bool  # a `!` pattern: it brings paths back
    kind: str  # "exact", "prefix", "suffix" or "regex": how moby's matcher compares
    regex: re.Pattern[str] | None

    def matches(self, path: str) -> bool:
        if self.kind == "exact":
            return path == self.text
        if self.kind == "prefix":  # `abc**`: everything starting with abc
            return path.startswith(self.text[:-2])
        if self.kind == "suffix":  # `**/abc` or `**abc`: everything ending so, and `abc` itself
            suffix = self.text[2:]
            return path.endswith(suffix) or (suffix.startswith("/") and path == suffix[1:])
        assert self.regex is not None
        return self.regex.fullmatch(path) is not None


# Escapes that mean the same to Go's regexp (RE2) and Python's re; any other escaped letter or digit
# is refused here rather than guessed.
_SHARED_ESCAPES = {**{c: "\\" + c for c in "dDsSwWbBAntrfva"}, "z": r"\Z"}


def _compile(number: int, text: str, exclusion: bool) -> _Pattern:
    _check_glob_syntax(number, text)
    kind = "exact"
    regex: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if text.startswith("**", index):
            at_start = index == 0
            index += 2
            if text.startswith("/", index):
                index += 1  # `**/` is `**`
            if index == len(text):
                if kind == "exact":
                    kind = "prefix"
                else:
                    regex.append(".*")
                    kind = "regex"
            else:
                regex.append("(.*/)?")
                kind = "regex"
            if at_start:
                kind = "suffix"
            continue
        index += 1
        if char == "*":
            regex.append("[^/]*")
            kind = "regex"
        elif char == "?":
            regex.append("[^/]")
            kind = "regex"
        elif char in ".+()|{}$":
            regex.append("\\" + char)
        elif char == "\\":
            if index == len(text):
                regex.append(r"\\")
                continue
            escaped = text[index]
            index += 1
            if escaped.isalnum() and escaped.isascii():
                if escaped not in _SHARED_ESCAPES:
                    raise IgnoreFileError(number, f"pattern {text!r}: the escape \\{escaped} is not supported")
                regex.append(_SHARED_ESCAPES[escaped])
            else:
                regex.append(re.escape(escaped))
            kind = "regex"
        elif char in "[]":
            regex.append(char)  # a class, as docker's matcher hands it to its regular expressions
            kind = "regex"
        else:
            regex.append(char)  # as docker's matcher does: inside a class, '-' and '^' keep their meaning
    compiled = None
    if kind == "regex":
        try:
            with warnings.catch_warnings():  # "possible nested set": `[[` is a literal '[' in both engines
                warnings.simplefilter("ignore", FutureWarning)
                compiled = re.compile("".join(regex))
        except re.error as exc:
            raise IgnoreFileError(number, f"pattern {text!r}: {exc.msg}") from None
    return _Pattern(text, exclusion, kind, compiled)


def _check_glob_syntax(number: int, text: str) -> None:
    """Refuse what Go's filepath.Match calls malformed, as docker does before matching anything:
    an unclosed or empty `[...]`, a class item that starts with '-' or ']', a trailing `\\`."""
    index = 0
    while index < len(text):
        char = text[index]
        index += 1
        if char == "\\":
            if index == len(text):
                raise IgnoreFileError(number, f"pattern {text!r} ends in an unfinished escape")
            index += 1
        elif char == "[":
            if index < len(text) and text[index] == "^":
                index += 1
            items = 0
            while True:
                if index < len(text) and text[index] == "]" and items:
                    index += 1
                    break
                index = _class_char(number, text, index)
                if index < len(text) and text[index] == "-":
                    index = _class_char(number, text, index + 1)
                items += 1


def _class_char(number: int, text: str, index: int) -> int:
    """Where the class item at `index` ends; refuses what Go's filepath.Match refuses."""
    if index >= len(text):
        raise IgnoreFileError(number, f"pattern {text!r} has a '[' that is never closed")
    if text[index] in "-]":
        raise IgnoreFileError(number, f"pattern {text!r} has a malformed '[...]' class")
    if text[index] == "\\":
        if index + 1 >= len(text):
            raise IgnoreFileError(number, f"pattern {text!r} ends in an unfinished escape")
        return index + 2
    return index + 1


class Ignore:
    """An ignore file as a matcher. Raises IgnoreFileError when docker would refuse the file.
    Answers are remembered: build contexts share one ignore file and most file names."""

    _MAX_ANSWERS = 50_000

    def __init__(self, text: str) -> None:
        self._patterns: list[_Pattern] = []
        for number, pattern in read_patterns(text):
            pattern = _clean(pattern)  # docker cleans again, `!` and all: `!/` becomes a lone `!`
            exclusion = pattern.startswith("!")
            if exclusion and len(pattern) == 1:
                raise IgnoreFileError(number, "a lone '!' names nothing to bring back")
            self._patterns.append(_compile(number, pattern[1:] if exclusion else pattern, exclusion))
        # A `!` pattern can bring back a file inside an excluded folder, which then must be entered.
        self.has_negations = any(p.exclusion for p in self._patterns)
        self._answers: dict[str, bool] = {}

    def excludes(self, relative: str) -> bool:
        """True when docker would not send `relative` (a '/'-separated path from the context root):
        the last pattern that matches it or one of its folders decides."""
        answer = self._answers.get(relative)
        if answer is None:
            answer = self._judge(relative)
            if len(self._answers) < self._MAX_ANSWERS:
                self._answers[relative] = answer
        return answer

    def _judge(self, relative: str) -> bool:
        parts = relative.split("/")
        folders = ["/".join(parts[:end]) for end in range(1, len(parts))]
        excluded = False
        for pattern in self._patterns:
            if pattern.exclusion != excluded:
                continue  # only an exclusion can change an excluded path, only a pattern an included one
            if pattern.matches(relative) or any(pattern.matches(folder) for folder in folders):
                excluded = not pattern.exclusion
        return excluded


@functools.lru_cache(maxsize=256)
def compiled(text: str) -> Ignore:
    """The matcher of an ignore file's text, shared: compiling costs more than matching, and build
    contexts often share one ignore file. Raises IgnoreFileError."""
    return Ignore(text)
