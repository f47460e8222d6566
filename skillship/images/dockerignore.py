"""Docker ignore files, read and matched the way docker does it.

BuildKit, and pulumi-docker-build's own context hash, use moby's patternmatcher. Its rules are
not .gitignore's, which is why this is not pathspec: a pattern is anchored at the context root; a
path is excluded when the last pattern that matches it, or matches one of its folders, is not a
`!` pattern; `*` and `?` stay within one path segment; `**` spans segments; the rest becomes a
regular expression as written (`[!a]` is the set of '!' and 'a', `|` is alternation, `{2}`
repetition). Docker refuses the whole file for a lone `!` or a pattern Go's `filepath.Match` calls
malformed (skillship.images.gomatch), and fails the build when it reaches a pattern whose expression does
not compile. `tests/test_dockerignore_conformance.py` holds this module to moby's own code
(tools/dockerignore-oracle) on thousands of ignore files.
"""

from __future__ import annotations

import functools
import os
import posixpath
import re
import warnings
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, cast

from skillship.images.gomatch import is_malformed
from skillship.source import door
from skillship.source.door import IGNORE_FILE, Boundary, FileMissing

# BuildKit, and pulumi-docker-build's own context hash, read the Dockerfile's own ignore file when
# there is one, else the context's `.dockerignore`.
IGNORE_FILES = ("Dockerfile.dockerignore", ".dockerignore")


class IgnoreFileError(ValueError):
    """Docker refuses the ignore file; `line` is 1-based."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


def read_ignore_file(context: str | os.PathLike[str], present: Collection[str] | None = None) -> tuple[str | None, str]:
    """(name, text) of the ignore file docker uses for `context`, or (None, "") when there is none.
    `present`, the names in the context's folder when the caller has listed it, spares looking for
    files that are not there. Bytes that are not UTF-8 are kept apart, not refused: docker reads the
    file as bytes. The file is read through the door, and only from inside its build context.
    Raises ReadRefused when the file exists but is not read."""
    for name in IGNORE_FILES if present is None else [n for n in IGNORE_FILES if n in present]:
        path = Path(context, name)
        # A file that is no link lies in the context by its very path; only a link needs the
        # context's real path (a realpath per context, on every digest, otherwise).
        inside = Boundary(Path(context)) if os.path.islink(path) else None
        try:
            data = door.read_bytes(path, IGNORE_FILE, inside)
        except FileMissing:
            continue
        return name, data.decode("utf-8", errors="surrogateescape")
    return None, ""


# What Go's strings.TrimSpace removes (unicode.IsSpace); Python's str.strip() also removes \x1c-\x1f.
_GO_SPACE = (
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029"
    "\u202f\u205f\u3000"
)


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
    line: int
    text: str
    exclusion: bool  # a `!` pattern: it brings paths back
    kind: str  # "exact", "prefix", "suffix" or "regex": how moby's matcher compares
    regex: _Matcher | None
    broken: str | None  # why docker cannot compile it: it fails the build once it reaches it

    def matches(self, path: str) -> bool:
        if self.kind == "exact":
            return path == self.text
        if self.kind == "prefix":  # `abc**`: everything starting with abc
            return path.startswith(self.text[:-2])
        if self.kind == "suffix":  # `**/abc` or `**abc`: everything ending so, and `abc` itself
            suffix = self.text[2:]
            return path.endswith(suffix) or (suffix.startswith("/") and path == suffix[1:])
        if self.broken is not None:
            raise IgnoreFileError(self.line, self.broken)
        assert self.regex is not None
        return self.regex.search(path) is not None  # as Go's MatchString: only `^` and `$` anchor


# Escapes that mean the same to Go's regexp (RE2) and Python's re, compiled with re.ASCII as RE2's
# classes are ASCII (one difference left: Python's \s also takes \v). Another escaped letter or
# digit means something else, or nothing, to one of them: such a pattern is not guessed at.
_SHARED_ESCAPES = {**{c: "\\" + c for c in "dDsSwWbBAntrfva"}, "z": r"\Z"}
# moby escapes `.+()|{}$` through a bit table that overflows past '?': only `.+()$` are escaped,
# so `|` is alternation and `{n}` repetition in its regular expressions.
_ESCAPED = ".+()$"
_RE2_REPEAT = re.compile(r"\{(0|[1-9]\d*)(?:,(0|[1-9]\d*)?)?\}")  # RE2 reads `{00}` as text
_ASSERTIONS = ("^", r"\b", r"\B", r"\A", r"\Z")  # as emitted: they match no character


def _compile(line: int, text: str, exclusion: bool) -> _Pattern:
    """The pattern as moby's matcher compiles it: exact, prefix and suffix forms where it uses
    them (they differ from the regular expression at the edges: `**tmp` matches `xtmp`), else the
    same regular expression, in Python's syntax."""
    kind = "exact"
    regex = ["^"]
    broken = None
    end_anchor = r"\Z"
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
        elif char in _ESCAPED:
            regex.append("\\" + char)
        elif char == "\\":
            if index == len(text):
                end_anchor = r"\$"  # moby appends its '$' after this lone backslash: a literal '$'
                continue
            escaped = text[index]
            index += 1
            kind = "regex"
            if escaped in "01234567":
                index, char_or_problem = _octal(text, index, escaped)
                if len(char_or_problem) == 1:
                    regex.append(re.escape(char_or_problem))
                else:
                    broken = char_or_problem
            elif not escaped.isascii():
                broken = f"pattern {text!r} is not a valid expression: RE2 escapes only ASCII punctuation"
            elif escaped.isalnum():
                if escaped in _SHARED_ESCAPES:
                    regex.append(_SHARED_ESCAPES[escaped])
                else:
                    broken = f"pattern {text!r}: skillship does not read the escape \\{escaped} as docker would"
            else:
                regex.append(re.escape(escaped))
        elif char in "[]":
            regex.append(char)  # a class, handed to the regular expression as it is written
            kind = "regex"
        elif char == "{":
            repeat = _RE2_REPEAT.match(text, index - 1)
            if repeat is None:
                regex.append(r"\{")  # not a repetition to Go: a plain '{' (Python would read `{,2}`)
            elif any(int(n) > 1000 for n in repeat.groups() if n):
                broken = f"pattern {text!r} repeats more than 1000 times"
            elif regex[-1] in _ASSERTIONS:
                # RE2 repeats an assertion, which Python refuses: `^{2}` is `^`, `^{0}` is nothing.
                index = repeat.end()
                if int(repeat.group(1)) == 0:
                    regex.pop()
            else:
                regex.append(char)
        else:
            regex.append(char)
    compiled: _Matcher | None = None
    if kind == "regex" and broken is None:
        source = "".join(regex) + end_anchor
        if re.search(r"(?<!\\)\[:", source):  # RE2 reads `[[:alpha:]]` as a POSIX class, Python does not
            broken = f"pattern {text!r}: skillship does not read '[:' classes as docker would"
        elif _assertion_in_class(source):
            broken = f"pattern {text!r} is not a valid expression: RE2 takes no \\b, \\B, \\A or \\z in a class"
        else:
            try:
                with warnings.catch_warnings():  # "possible nested set": `[[` is a literal '[' in both
                    warnings.simplefilter("ignore", FutureWarning)
                    checked = re.compile(source, re.ASCII)
            except re.error as exc:
                broken = f"pattern {text!r} is not a valid expression: {exc.msg}"
            else:
                compiled = (_linear(source) if _repeats(source) > 1 else None) or checked
    # Only an expression can fail: exact, prefix and suffix forms never compile one.
    return _Pattern(line, text, exclusion, kind, compiled, broken if kind == "regex" else None)


class _Matcher(Protocol):
    def search(self, text: str) -> object: ...


def _linear(source: str) -> _Matcher | None:
    """The expression for RE2, which matches in time linear in the path (Python's engine
    backtracks: six `**/` in one pattern took 0.37 s on a path 31 folders deep, eight 8.4 s). The source is written
    to mean the same to both engines (Go's regexp, which docker uses, is RE2's syntax); Python's
    end of text `\\Z` is RE2's `\\z`. None when RE2 is missing or refuses it: Python's engine
    then matches, as before."""
    try:
        import re2  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover - google-re2 is a dependency; a source checkout may lack it
        return None
    try:
        return cast(_Matcher, re2.compile(_re2_source(source)))
    except re2.error:
        return None


def _repeats(source: str) -> int:
    """How many repetitions (`*`, `+`, `{n,m}`) the expression holds outside classes. With one,
    Python's engine is linear on an anchored expression, and its calls cost a tenth of RE2's; with
    more, it may backtrack exponentially, and RE2 matches."""
    count = 0
    in_class = False
    index = 0
    while index < len(source):
        char = source[index]
        if char == "\\":
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            index += 2 if source.startswith("[^", index) else 1
            index += 1 if source.startswith("]", index) else 0
            continue
        elif char in "*+{":
            count += 1
        index += 1
    return count


def _re2_source(source: str) -> str:
    out = []
    index = 0
    while index < len(source):
        if source[index] == "\\" and index + 1 < len(source):
            pair = source[index : index + 2]
            out.append("\\z" if pair == "\\Z" else pair)
            index += 2
            continue
        out.append(source[index])
        index += 1
    return "".join(out)


def _assertion_in_class(source: str) -> bool:
    """Whether an assertion escape sits inside a `[...]` class of `source` (RE2 refuses it; to Python
    `[\\b]` is a backspace). A `]` right after `[` or `[^` is a literal, as in both engines."""
    in_class = False
    index = 0
    while index < len(source):
        char = source[index]
        if char == "\\":
            if in_class and source[index + 1 : index + 2] in ("b", "B", "A", "Z"):
                return True
            index += 2
            continue
        if not in_class and char == "[":
            in_class = True
            index += 2 if source.startswith("[^", index) else 1
            if source.startswith("]", index):
                index += 1
            continue
        if in_class and char == "]":
            in_class = False
        index += 1
    return False


def _octal(text: str, index: int, first: str) -> tuple[int, str]:
    """RE2's octal escape that starts with `first` at `index`: `\\0` and up to two more octal
    digits, or a non-zero digit followed by at least one (a lone `\\1` would be a back-reference,
    which RE2 refuses). (where the escape ends, the character) or (index, why it is refused)."""
    if first != "0" and not (index < len(text) and text[index] in "01234567"):
        return index, f"pattern {text!r}: \\{first} is a back-reference, which docker's expressions refuse"
    digits = first
    while len(digits) < 3 and index < len(text) and text[index] in "01234567":
        digits += text[index]
        index += 1
    return index, chr(int(digits, 8))


class Ignore:
    """An ignore file as a matcher. Raises IgnoreFileError when docker would refuse the file.
    Answers are remembered: build contexts share one ignore file and most file names."""

    _MAX_ANSWERS = 50_000

    def __init__(self, text: str) -> None:
        self._patterns: list[_Pattern] = []
        for number, pattern in read_patterns(text):
            # docker trims and cleans again, `!` and all: `!/` becomes a lone `!`, `/ x` becomes `x`
            pattern = pattern.strip(_GO_SPACE)
            if not pattern:
                continue
            pattern = _clean(pattern)
            exclusion = pattern.startswith("!")
            if exclusion and len(pattern) == 1:
                raise IgnoreFileError(number, "a lone '!' names nothing to bring back")
            body = pattern[1:] if exclusion else pattern
            if is_malformed(body):
                raise IgnoreFileError(
                    number, f"pattern {body!r} is malformed (Go's filepath.Match: syntax error in pattern)"
                )
            self._patterns.append(_compile(number, body, exclusion))
        # A `!` pattern can bring back a file inside an excluded folder, which then must be entered.
        self.has_negations = any(p.exclusion for p in self._patterns)
        self._answers: dict[str, bool] = {}

    def problems(self) -> list[IgnoreFileError]:
        """Patterns docker cannot compile: it fails the build as soon as a path reaches one."""
        return [IgnoreFileError(p.line, p.broken) for p in self._patterns if p.broken is not None]

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
