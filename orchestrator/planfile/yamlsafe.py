"""YAML that may be hostile, read into a small tree of located nodes.

``yaml.safe_load`` never runs code, but it still expands alias bombs, recurses
once per nesting level, keeps the last of two duplicate keys without a word,
and forgets where anything was. Here the parser's event stream is folded into
:class:`Scalar`, :class:`Seq` and :class:`Map` nodes in one iterative pass,
with budgets on depth, node count (aliases counted as expanded) and scalar
length, so every input ends quickly in either a tree or located problems.

Aliases are allowed (an anchored ``set:`` block or org list is handy) but they
are shared, never copied, and each one adds the size of what it points at to
the node budget: a "billion laughs" file trips the budget after a few events.
Merge keys (``<<``) and explicit tags (``!!python/object`` and friends) are
refused.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import yaml

from orchestrator.logs import is_secret_key
from orchestrator.planfile.scalars import ScalarValue, resolve_plain

try:  # libyaml's parser is an order of magnitude faster; PyYAML may lack it
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

MAX_DEPTH = 64
MAX_NODES = 500_000  # with aliases expanded; a 100,000-item plan has about that many
MAX_SCALAR_CHARS = 1024 * 1024

Report = Callable[[int | None, str, str, str | None], None]
"""Receives (line, key path, message, hint) for every problem found."""


@dataclass(slots=True, eq=False)
class Node:
    """A YAML node and the 1-based line it starts on."""

    line: int
    reported: bool = field(default=False, kw_only=True)  # a problem already names it


@dataclass(slots=True, eq=False)
class Scalar(Node):
    """A scalar: ``value`` as YAML 1.1 safe-loading reads it, ``text`` as written."""

    value: ScalarValue
    text: str
    plain: bool  # unquoted, so YAML resolved its type


@dataclass(slots=True, eq=False)
class Seq(Node):
    """A sequence."""

    items: list[Node]


@dataclass(slots=True, eq=False)
class Map(Node):
    """A mapping with string keys: key -> (line of the key, value node)."""

    entries: dict[str, tuple[int, Node]]


class TooHostile(Exception):
    """The document cannot be read to the end safely; carries one problem."""

    def __init__(self, line: int | None, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.line = line
        self.message = message
        self.hint = hint


def join_key(path: str, key: str) -> str:
    """``path.key``; keys that are not plain words are quoted in brackets."""
    if _PLAIN_KEY.fullmatch(key):
        return f"{path}.{key}" if path else key
    return f"{path}[{_quote(key)}]"


def join_index(path: str, index: int) -> str:
    """``path[index]``."""
    return f"{path}[{index}]"


def to_python(node: Node) -> object:
    """The plain Python value of ``node`` (dicts, lists, scalars); aliases copied."""
    if isinstance(node, Scalar):
        return node.value
    if isinstance(node, Seq):
        return [to_python(item) for item in node.items]
    assert isinstance(node, Map)
    return {key: to_python(value) for key, (_, value) in node.entries.items()}


def read_yaml(text: str, report: Report) -> Node | None:
    """The root node of the single YAML document in ``text``, or None.

    Problems that leave the tree usable (duplicate keys, tags, ambiguous YAML
    1.1 scalars, non-string keys) are reported and reading goes on; the node
    involved is marked ``reported``. Problems that stop reading (syntax, depth,
    budget, a second document) are reported and None is returned.
    """
    builder = _Builder(report)
    loader = _Loader(text)
    try:
        builder.feed(_events(loader))
    except TooHostile as exc:
        report(exc.line, _shortened(builder.path()), exc.message, exc.hint)
        return None
    except yaml.reader.ReaderError as exc:
        at = text.count("\n", 0, exc.position) + 1
        report(at, "", f"not valid YAML: character #x{exc.character:04x}: {exc.reason}", None)
        return None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        what = " ".join(part for part in (exc.context, exc.problem) if part)
        report(line, "", f"not valid YAML: {what}", None)  # a key path would be a guess
        return None
    except yaml.YAMLError as exc:
        report(None, "", f"not valid YAML: {exc}", None)
        return None
    finally:
        loader.dispose()
    if builder.root is None:
        report(1, "", "the file holds no YAML document (it is empty)", None)
    return builder.root


def _shortened(path: str) -> str:
    return path if len(path) <= 80 else f"{path[:40]}...{path[-30:]}"


def _events(loader: _Loader) -> Iterator[yaml.Event]:
    while loader.check_event():
        event = loader.get_event()
        assert event is not None
        yield event


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]+")
_STANDARD_TAGS = "tag:yaml.org,2002:"


def _quote(key: str) -> str:
    return '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(slots=True, eq=False)
class _Frame:
    node: Seq | Map
    anchor: str | None
    start_count: int
    key: str | None = None  # a mapping's pending key, once read
    key_line: int = 0
    skip_value: bool = False  # the pending key was refused: drop its value


class _Builder:
    """Folds events into nodes; see :func:`read_yaml`."""

    def __init__(self, report: Report) -> None:
        self.report = report
        self.root: Node | None = None
        self.stack: list[_Frame] = []
        self.anchors: dict[str, tuple[Node, int]] = {}  # name -> (node, expanded size)
        self.count = 0
        self.documents = 0

    def feed(self, events: Iterator[yaml.Event]) -> None:
        for event in events:
            if isinstance(event, yaml.ScalarEvent):
                self._attach(self._scalar(event), event.anchor, 1)
            elif isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
                self._start(event)
            elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
                frame = self.stack.pop()
                self._attach(frame.node, frame.anchor, self.count - frame.start_count + 1)
            elif isinstance(event, yaml.AliasEvent):
                self._alias(event)
            elif isinstance(event, yaml.DocumentStartEvent):
                self.documents += 1
                if self.documents > 1:
                    raise TooHostile(
                        _line(event),
                        "more than one YAML document in the file",
                        "a plan or environment is one document: remove the second `---`",
                    )

    def path(self) -> str:
        """The key path of the position being read."""
        path = ""
        for frame in self.stack:
            if isinstance(frame.node, Seq):
                path = join_index(path, len(frame.node.items))
            elif frame.key is not None:
                path = join_key(path, frame.key)
        return path

    def _count(self, nodes: int, line: int) -> None:
        self.count += nodes
        if self.count > MAX_NODES:
            raise TooHostile(
                line,
                f"the document has more than {MAX_NODES:,} nodes with aliases expanded",
                "a plan never needs this many; an alias bomb looks like this",
            )

    def _start(self, event: yaml.CollectionStartEvent) -> None:
        line = _line(event)
        if len(self.stack) >= MAX_DEPTH:
            raise TooHostile(line, f"nesting deeper than {MAX_DEPTH} levels")
        self._count(1, line)
        node: Seq | Map = (
            Map(line, {}) if isinstance(event, yaml.MappingStartEvent) else Seq(line, [])
        )
        self._check_tag(event.tag, node)
        self.stack.append(_Frame(node, event.anchor, self.count))

    def _alias(self, event: yaml.AliasEvent) -> None:
        line = _line(event)
        anchor = event.anchor or ""
        if anchor not in self.anchors:
            raise TooHostile(line, f"alias *{anchor} refers to no complete anchor before it")
        node, size = self.anchors[anchor]
        self._count(size, line)
        self._attach(node, None, 0, fresh=False)

    def _scalar(self, event: yaml.ScalarEvent) -> Scalar:
        line = _line(event)
        self._count(1, line)
        text = event.value
        if len(text) > MAX_SCALAR_CHARS:
            node = Scalar(line, "", "", False, reported=True)
            self._report(line, f"a scalar of {len(text):,} characters", "at most 1 MiB is read")
            return node
        plain = bool(event.implicit[0]) and event.tag is None
        node = Scalar(line, text, text, plain)
        if plain:
            node.value, why = resolve_plain(text)
            if why is not None:
                node.reported = True
                if self._under_secret_key():  # the message would quote the value
                    why = (
                        "YAML 1.1 reads this value as something other than text"
                        " (not shown: it is a secret)",
                        "quote it",
                    )
                self._report(line, *why)
        self._check_tag(event.tag, node)
        return node

    def _under_secret_key(self) -> bool:
        """Whether the scalar being read is the value of a secret-sounding key."""
        frame = self.stack[-1] if self.stack else None
        return (
            frame is not None
            and isinstance(frame.node, Map)
            and frame.key is not None
            and is_secret_key(frame.key)
        )

    def _check_tag(self, tag: str | None, node: Node) -> None:
        if tag is not None:
            node.reported = True
            shown = (
                "!!" + tag.removeprefix(_STANDARD_TAGS) if tag.startswith(_STANDARD_TAGS) else tag
            )
            self._report(node.line, f"YAML tags are not allowed (found `{shown}`)", "remove it")

    def _report(self, line: int, message: str, hint: str | None) -> None:
        self.report(line, self.path(), message, hint)

    def _attach(self, node: Node, anchor: str | None, size: int, *, fresh: bool = True) -> None:
        """Place a finished node in its parent; ``fresh`` is False for an alias."""
        if anchor is not None:
            self.anchors[anchor] = (node, size)
        if not self.stack:
            self.root = node
            return
        frame = self.stack[-1]
        parent = frame.node
        if isinstance(parent, Seq):
            parent.items.append(node)
        elif frame.key is None and not frame.skip_value:
            self._take_key(frame, node)
        else:
            self._take_value(frame, parent, node, fresh)

    def _take_key(self, frame: _Frame, node: Node) -> None:
        if isinstance(node, Scalar) and isinstance(node.value, str) and not node.reported:
            frame.key, frame.key_line = node.value, node.line
            return
        frame.skip_value = True
        if not node.reported:
            shown = (
                "a collection"
                if not isinstance(node, Scalar)
                else f"`{node.text}`"
                if node.text
                else "an empty key"
            )
            self._report(node.line, f"keys must be strings, got {shown}", "quote the key")

    def _take_value(self, frame: _Frame, parent: Map, node: Node, fresh: bool) -> None:
        key = frame.key
        if fresh and isinstance(node, Map | Seq) and node.line > frame.key_line:
            # A block collection starts on the line after its key; problems with
            # the whole collection read better at `key:` itself.
            node.line = frame.key_line
        if key is not None and not frame.skip_value:
            if key in parent.entries:
                first = parent.entries[key][0]
                self.report(
                    frame.key_line,
                    self.path(),
                    f"duplicate key (first at line {first})",
                    "YAML would silently keep only the last one",
                )
            else:
                parent.entries[key] = (frame.key_line, node)
        frame.key, frame.skip_value = None, False


def _line(event: yaml.Event) -> int:
    mark = event.start_mark
    return int(mark.line) + 1 if mark is not None else 0
