"""Whether Go's `filepath.Match` calls a pattern malformed (non-Windows rules).

Docker checks every ignore-file pattern by matching it against "." and refuses the file on
`ErrBadPattern`. Go does not parse the whole pattern first: it matches chunk by chunk (a chunk
runs up to the next star) and stops at the first chunk that cannot match, so only the chunks it
reaches are checked, each to its end. `a*\\` passes (the chunk `a` fails on "." and the chunk
`\\` is never read) while `a\\` does not. Mirroring that walk, not a grammar, gives docker's
answer (Go 1.26's path/filepath/match.go, which tests/test_dockerignore_conformance.py runs).
"""

from __future__ import annotations


class BadPattern(Exception):
    pass


def is_malformed(pattern: str, name: str = ".") -> bool:
    try:
        match(pattern, name)
    except BadPattern:
        return True
    return False


def match(pattern: str, name: str) -> bool:
    """What Go's filepath.Match(pattern, name) answers; raises BadPattern where it returns ErrBadPattern."""
    while pattern:
        star, chunk, pattern = _scan_chunk(pattern)
        if star and not chunk:
            return "/" not in name  # a trailing star matches the rest of the segment
        rest, ok = _match_chunk(chunk, name)
        if ok and (not rest or pattern):
            name = rest
            continue
        if star and (later := _match_after_star(chunk, name, last=not pattern)) is not None:
            name = later
            continue
        return False  # the chunks after this one are never read, so never found malformed
    return not name


def _match_after_star(chunk: str, name: str, last: bool) -> str | None:
    """The rest of `name` once the star has eaten 1, 2, ... characters of this segment and the
    chunk matches after them (a last chunk must end the name), or None."""
    for skip in range(len(name)):
        if name[skip] == "/":
            return None
        rest, ok = _match_chunk(chunk, name[skip + 1 :])
        if ok and not (last and rest):
            return rest
    return None


def _scan_chunk(pattern: str) -> tuple[bool, str, str]:
    """(a star came first, the chunk up to the next star outside a class, the rest)."""
    star = False
    while pattern.startswith("*"):
        pattern = pattern[1:]
        star = True
    in_class = False
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            if index + 1 < len(pattern):
                index += 1
        elif char == "[":
            in_class = True
        elif char == "]":
            in_class = False
        elif char == "*" and not in_class:
            break
        index += 1
    return star, pattern[:index], pattern[index:]


def _match_chunk(chunk: str, name: str) -> tuple[str, bool]:
    """(the rest of `name`, whether the chunk matched its start); raises BadPattern. After a
    mismatch the chunk is still read to its end, for its syntax."""
    failed = False
    while chunk:
        if not failed and not name:
            failed = True
        char = chunk[0]
        if char == "[":
            current = ""
            if not failed:
                current, name = name[0], name[1:]
            chunk = chunk[1:]
            negated = chunk.startswith("^")
            if negated:
                chunk = chunk[1:]
            matched = False
            ranges = 0
            while True:
                if chunk.startswith("]") and ranges:
                    chunk = chunk[1:]
                    break
                low, chunk = _class_char(chunk)
                high = low
                if chunk[0] == "-":
                    high, chunk = _class_char(chunk[1:])
                if low <= current <= high and current:
                    matched = True
                ranges += 1
            if matched == negated:
                failed = True
        elif char == "?":
            if not failed:
                if name[0] == "/":
                    failed = True
                name = name[1:]
            chunk = chunk[1:]
        else:
            if char == "\\":
                chunk = chunk[1:]
                if not chunk:
                    raise BadPattern
            if not failed:
                if chunk[0] != name[0]:
                    failed = True
                name = name[1:]
            chunk = chunk[1:]
    if failed:
        return "", False
    return name, True


def _class_char(chunk: str) -> tuple[str, str]:
    """One character of a class (maybe escaped) and what follows; something must follow."""
    if not chunk or chunk[0] in "-]":
        raise BadPattern
    if chunk[0] == "\\":
        chunk = chunk[1:]
        if not chunk:
            raise BadPattern
    char, rest = chunk[0], chunk[1:]
    if not rest:
        raise BadPattern
    return char, rest
