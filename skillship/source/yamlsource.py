"""YAML documents that remember where every value came from.

The workspace format is loose and users need errors that point at a line, so we compose the YAML
into nodes (libyaml's C parser when present) and keep the line of each key and value while turning
the nodes into plain Python data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

try:  # libyaml is much faster; fall back to the pure-Python parser where it is missing
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]


class _Loader(_BaseLoader):
    """libyaml parses, but PyYAML still decides each scalar's type in Python, one regex at a time;
    skill files repeat the same keys and values, so the decisions are remembered."""

    _resolved: dict[tuple[Any, ...], str] = {}

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: Any) -> str:
        if kind is not yaml.ScalarNode:
            return str(super().resolve(kind, value, implicit))  # type: ignore[no-untyped-call]
        key = (value, implicit)
        tag = self._resolved.get(key)
        if tag is None:
            if len(self._resolved) > 100_000:
                self._resolved.clear()
            tag = self._resolved[key] = super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
        return tag


FieldPath = tuple[str | int, ...]

_SCALARS = SafeConstructor()
_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"


class YamlSyntaxError(Exception):
    """The text is not YAML; `line` is 1-based (None when the parser could not tell)."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass(frozen=True)
class DuplicateKey:
    path: FieldPath
    line: int
    first_line: int


@dataclass
class YamlDocument:
    """Plain data plus the 1-based line of every field path in it."""

    data: Any
    lines: dict[FieldPath, int] = field(default_factory=dict)
    duplicate_keys: list[DuplicateKey] = field(default_factory=list)

    def line(self, path: FieldPath) -> int | None:
        """Line of `path`, or of its nearest ancestor that exists (errors often name a missing key)."""
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), None)


# Bounds that keep a hostile or broken file from costing unbounded time, memory or stack: aliases
# may repeat a value (anchors in real files do), never multiply it a billionfold, and no real
# skill or agent nests anywhere near this deep.
MAX_DEPTH = 100
MAX_ALIAS_EXPANSION = 100_000  # values produced again through aliases, in one document


def parse_yaml(text: str) -> YamlDocument:
    """Parse one YAML document, keeping line numbers. Raises YamlSyntaxError."""
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "not valid YAML"
        raise YamlSyntaxError(problem, line) from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(str(exc).splitlines()[0] if str(exc) else "not valid YAML", None) from None
    except RecursionError:  # the pure-Python parser, where libyaml is missing, recurses per level
        raise YamlSyntaxError(f"nested more than {MAX_DEPTH} levels deep", None) from None
    document = YamlDocument(data=None)
    if node is None:
        return document
    document.data = _Converter(document).convert(node, ())
    return document


def _scalar(node: yaml.ScalarNode) -> Any:
    """A key's or value's plain value. Raises YamlSyntaxError for one YAML cannot construct (a
    timestamp that does not exist, an unknown `!tag`)."""
    if node.tag == _STR:
        return node.value  # most scalars: no need for the generic constructor
    try:
        return _SCALARS.construct_object(node, deep=True)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise YamlSyntaxError(f"bad scalar value: {problem}", node.start_mark.line + 1) from None
    except (ValueError, OverflowError) as exc:  # a date that does not exist: February 30th
        value = node.value if len(node.value) <= 40 else f"{node.value[:20]}...({len(node.value)} characters)"
        reason = str(exc).split(";")[0]  # Python's advice on its digit limit is not the user's
        raise YamlSyntaxError(f"bad scalar value {value!r}: {reason}", node.start_mark.line + 1) from None


class _Converter:
    """Nodes to plain data, within the bounds above. The composer shares one node object between
    an anchor and each of its aliases, so a node met again was reached through an alias."""

    def __init__(self, document: YamlDocument) -> None:
        self.document = document
        self.met: set[int] = set()
        self.open: set[int] = set()  # nodes on the path from the root: an alias to one is a loop
        self.repeated = 0
        self.within_alias = 0  # > 0 while converting a value reached through an alias
        self.alias_line: int | None = None  # where the outermost such value is used
        self.merged: dict[int, list[tuple[yaml.Node, yaml.Node]]] = {}

    def convert(self, node: yaml.Node, path: FieldPath) -> Any:
        line = node.start_mark.line + 1
        self.document.lines.setdefault(path, line)
        if len(path) > MAX_DEPTH:
            raise YamlSyntaxError(f"nested more than {MAX_DEPTH} levels deep", line)
        identity = id(node)
        if identity in self.open:
            raise YamlSyntaxError(
                f"an alias at line {self.document.line(path)} refers to a value that contains it "
                f"(anchored at line {line}); the value would never end",
                self.document.line(path),
            )
        repeat = identity in self.met
        if repeat:
            self.repeated += 1
            if not self.within_alias:
                self.alias_line = self.document.line(path[:-1]) if path else line
            if self.repeated > MAX_ALIAS_EXPANSION:
                raise YamlSyntaxError(
                    f"aliases expand to more than {MAX_ALIAS_EXPANSION:,} values (the alias used at line "
                    f"{self.alias_line} repeats the anchor of line {line}, through aliases of "
                    "aliases); write the values out instead",
                    self.alias_line,
                )
        else:
            self.met.add(identity)
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
            self.open.add(identity)
            self.within_alias += repeat
            try:
                if isinstance(node, yaml.MappingNode):
                    return self._mapping(node, path)
                return [self.convert(item, (*path, index)) for index, item in enumerate(node.value)]
            finally:
                self.open.discard(identity)
                self.within_alias -= repeat
        assert isinstance(node, yaml.ScalarNode)  # YAML has no fourth kind of node
        return _scalar(node)

    def _mapping(self, node: yaml.MappingNode, path: FieldPath) -> dict[str, Any]:
        document = self.document
        result: dict[Any, Any] = {}
        for key_node, value_node in self.merged_pairs(node, frozenset()):
            if not isinstance(key_node, yaml.ScalarNode):
                raise YamlSyntaxError(
                    "a mapping key must be a plain value (is a '{{ placeholder }}' left unrendered?)",
                    key_node.start_mark.line + 1,
                )
            key = _scalar(key_node)
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                key = str(key)
            child = (*path, key)
            key_line = key_node.start_mark.line + 1
            if key in result:
                document.duplicate_keys.append(DuplicateKey(child, key_line, document.lines.get(child, key_line)))
            document.lines[child] = key_line
            result[key] = self.convert(value_node, child)
            document.lines[child] = key_line  # the key's line, which is where a reader looks
        return result

    def merged_pairs(self, node: yaml.MappingNode, merging: frozenset[int]) -> list[tuple[yaml.Node, yaml.Node]]:
        """Resolve YAML merge keys (`<<: *anchor`) so anchors in real files load as written.
        `merging` holds the mappings being merged into this one: a mapping that merges itself is a loop."""
        if not any(key.tag == _MERGE for key, _ in node.value):
            return list(node.value)  # nearly every mapping: nothing to resolve or remember
        if id(node) in self.merged:  # a mapping merged many times is resolved once
            return self.merged[id(node)]
        if id(node) in merging or len(merging) > MAX_DEPTH:
            raise YamlSyntaxError(
                "merge keys ('<<') merge a mapping into itself, or nest too deep", node.start_mark.line + 1
            )
        merging = merging | {id(node)}
        pairs: list[tuple[yaml.Node, yaml.Node]] = []
        merged: list[tuple[yaml.Node, yaml.Node]] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                for source in sources:
                    if isinstance(source, yaml.MappingNode):
                        merged.extend(self.merged_pairs(source, merging))
                        if len(merged) > MAX_ALIAS_EXPANSION:
                            raise YamlSyntaxError(
                                f"merge keys ('<<') expand to more than {MAX_ALIAS_EXPANSION:,} keys",
                                key_node.start_mark.line + 1,
                            )
            else:
                pairs.append((key_node, value_node))
        explicit = {k.value for k, _ in pairs if isinstance(k, yaml.ScalarNode)}
        resolved = [(k, v) for k, v in merged if not (isinstance(k, yaml.ScalarNode) and k.value in explicit)] + pairs
        self.merged[id(node)] = resolved
        return resolved
