"""YAML documents with source positions, bounded against hostile input.

We build the value tree straight from libyaml's event stream instead of using PyYAML's
composer: the composer recurses once per nesting level (a deeply nested document crashes
the interpreter) and forgets where each value came from. Building from events gives us,
in one pass,

* a position for every mapping, sequence, key and value (:class:`YMap`, :class:`YSeq`);
* duplicate keys reported instead of silently overwritten;
* limits on file size, nesting depth and alias expansion (billion laughs), checked while
  reading so a hostile document costs at most the limit.

Values are plain ``dict``/``list`` subclasses and Python scalars, so the rest of the parser
handles them like ordinary data and asks for a position only when it reports a problem.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, NamedTuple

import yaml

MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_DEPTH = 200
MAX_ALIASED = 1_000_000

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_resolver = yaml.resolver.Resolver()
_constructor = yaml.constructor.SafeConstructor()

_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
# Plain scalars that can only be strings: the common case, skip the resolver for them.
_SURELY_STR = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-/ ]*\Z")
_NOT_STR_WORDS = frozenset(
    {"yes", "no", "true", "false", "on", "off", "null", "y", "n", "nan", "inf"}
)


class Mark(NamedTuple):
    """A 1-based position in a file (a named tuple: one is made per YAML value, cheaply)."""

    file: str
    line: int
    col: int


class YMap(dict[Any, Any]):
    """A YAML mapping that remembers where it, its keys and its values are."""

    __slots__ = ("key_marks", "mark", "value_marks")

    def __init__(self, mark: Mark) -> None:
        super().__init__()
        self.mark = mark
        self.key_marks: dict[Any, Mark] = {}
        self.value_marks: dict[Any, Mark] = {}


class YSeq(list[Any]):
    """A YAML sequence that remembers where it and its items are."""

    __slots__ = ("item_marks", "mark")

    def __init__(self, mark: Mark) -> None:
        super().__init__()
        self.mark = mark
        self.item_marks: list[Mark] = []


class YamlProblem(Exception):
    """A located problem found while reading YAML."""

    def __init__(self, mark: Mark, code: str, message: str) -> None:
        super().__init__(message)
        self.mark = mark
        self.code = code
        self.message = message


def mark_of(value: Any, default: Mark) -> Mark:
    """The position of a mapping or sequence, or ``default`` for a scalar."""
    return getattr(value, "mark", default)


def key_mark(container: Any, key: Any, default: Mark) -> Mark:
    marks = getattr(container, "key_marks", None)
    if marks is not None and key in marks:
        return marks[key]  # type: ignore[no-any-return]
    return mark_of(container, default)


def value_mark(container: Any, key: Any, default: Mark) -> Mark:
    """Where ``container[key]`` (or item ``key`` of a sequence) is written."""
    if isinstance(container, YSeq) and isinstance(key, int) and key < len(container.item_marks):
        return container.item_marks[key]
    marks = getattr(container, "value_marks", None)
    if marks is not None and key in marks:
        return marks[key]  # type: ignore[no-any-return]
    return mark_of(container, default)


def decode(data: bytes, *, file: str) -> str:
    """UTF-8 text of a file, or a located problem at the first bad byte."""
    if len(data) > MAX_FILE_BYTES:
        raise YamlProblem(
            Mark(file, 1, 1),
            "too-large",
            f"file is {len(data)} bytes, the limit is {MAX_FILE_BYTES}",
        )
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = before.count(b"\n") + 1
        col = exc.start - (before.rfind(b"\n") + 1) + 1
        raise YamlProblem(Mark(file, line, col), "encoding", "file is not valid UTF-8") from exc


def load(text: str, *, file: str) -> Any:
    """The single document in ``text`` as YMap/YSeq/scalars (None when empty)."""
    if _Loader is not yaml.SafeLoader:
        try:
            return _Builder(file).build(_events(_Loader(text)))
        except yaml.YAMLError:
            # libyaml is stricter than PyYAML's own scanner, which Cloudify uses: it refuses
            # flow mappings such as ``{concat:[a, b]}`` that real blueprints contain. Read
            # those again with the pure-Python parser: slower, but it accepts what Cloudify does.
            pass
    return _load_pure(text, file=file)


def _events(parser: Any) -> Iterator[Any]:
    # yaml.parse() asks check_event() then get_event() per event; libyaml's get_event()
    # alone answers None at the end, which halves the calls into the C parser.
    try:
        get = parser.get_event
        event = get()
        while event is not None:
            yield event
            event = get()
    finally:
        parser.dispose()


def _load_pure(text: str, *, file: str) -> Any:
    """Read ``text`` with the pure-Python parser, turning its errors into YamlProblem."""
    try:
        return _Builder(file).build(yaml.parse(text, Loader=yaml.SafeLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        col = mark.column + 1 if mark else 1
        message = " ".join(str(exc.problem or exc.context or "invalid YAML").split())
        raise YamlProblem(Mark(file, line, col), "yaml", message) from exc
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        col = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        message = f"character {exc.character!r} is not allowed in YAML"
        raise YamlProblem(Mark(file, line, col), "yaml", message) from exc
    except yaml.YAMLError as exc:
        raise YamlProblem(Mark(file, 1, 1), "yaml", " ".join(str(exc).split())) from exc


class _Builder:
    """Turns an event stream into values, iteratively (no recursion per level)."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.count = 0

    def mark(self, event: Any) -> Mark:
        return Mark(self.file, event.start_mark.line + 1, event.start_mark.column + 1)

    def build(self, events: Iterator[Any]) -> Any:  # noqa: C901
        # The hot loop of blueprint parsing: one pass per event, locals only.
        # Frames: [container, anchor, pending_key, pending_key_mark, merges, size].
        file, anchors = self.file, self.anchors
        stack: list[list[Any]] = []
        result: Any = None
        documents = 0
        scalar_event, mapping_start, sequence_start = (
            yaml.ScalarEvent,
            yaml.MappingStartEvent,
            yaml.SequenceStartEvent,
        )
        collection_end = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
        for event in events:
            kind = type(event)
            start = event.start_mark
            if kind is scalar_event:
                mark = Mark(file, start.line + 1, start.column + 1)
                if event.tag is None and (event.style or not event.implicit[0]):
                    value = event.value
                else:
                    value = self._scalar(event)
                if event.anchor is not None:
                    anchors[event.anchor] = (value, 1)
                size = 1
            elif kind is mapping_start or kind is sequence_start:
                if len(stack) >= MAX_DEPTH:
                    raise YamlProblem(
                        self.mark(event), "too-deep", f"nesting is deeper than {MAX_DEPTH} levels"
                    )
                mark = Mark(file, start.line + 1, start.column + 1)
                container: Any = YMap(mark) if kind is mapping_start else YSeq(mark)
                stack.append([container, event.anchor, _NO_KEY, None, None, 1])
                continue
            elif kind in collection_end:
                frame = stack.pop()
                value, size = frame[0], frame[5]
                if frame[4]:
                    self._apply_merges(value, frame[4])
                if frame[1] is not None:
                    anchors[frame[1]] = (value, size)
                mark = value.mark
            elif kind is yaml.AliasEvent:
                value, size, mark = self._alias(event)
                # Written values are bounded by the file size; aliases are what can expand
                # a small file into a huge document (billion laughs), so they are counted.
                self.count += size
                if self.count > MAX_ALIASED:
                    raise YamlProblem(
                        mark,
                        "too-large",
                        f"aliases expand to more than {MAX_ALIASED} values (alias bomb?)",
                    )
            elif kind is yaml.DocumentStartEvent:
                documents += 1
                if documents > 1:
                    raise YamlProblem(
                        self.mark(event), "yaml", "a blueprint file holds one YAML document"
                    )
                continue
            else:
                continue
            if not stack:
                result = value
                continue
            frame = stack[-1]
            container = frame[0]
            frame[5] += size
            if type(container) is YSeq:
                container.append(value)
                container.item_marks.append(mark)
            elif frame[2] is _NO_KEY:
                self._take_key(frame, value, mark, event)
            else:
                self._put(frame, container, value, mark)
        return result

    @staticmethod
    def _take_key(frame: list[Any], value: Any, mark: Mark, event: Any) -> None:
        merge = _is_merge_key(event)
        if isinstance(value, (dict, list)) and not merge:
            raise YamlProblem(mark, "yaml", "a mapping key must be a scalar")
        frame[2] = _MERGE if merge else value
        frame[3] = mark

    @staticmethod
    def _put(frame: list[Any], container: YMap, value: Any, mark: Mark) -> None:
        key, key_at = frame[2], frame[3]
        frame[2] = _NO_KEY
        if key is _MERGE:
            frame[4] = (frame[4] or []) + [(value, mark)]
            return
        if key in container:
            raise YamlProblem(key_at, "duplicate-key", f"duplicate key {key!r}")
        container[key] = value
        container.key_marks[key] = key_at
        container.value_marks[key] = mark

    def _alias(self, event: Any) -> tuple[Any, int, Mark]:
        mark = self.mark(event)
        found = self.anchors.get(event.anchor)
        if found is None:
            raise YamlProblem(mark, "yaml", f"unknown alias *{event.anchor}")
        value, size = found
        return (copy(value, mark) if size > 1 else value), size, mark

    @staticmethod
    def _apply_merges(target: YMap, merges: list[tuple[Any, Mark]]) -> None:
        # YAML merge keys: explicit keys win, earlier merged maps win over later ones.
        for source, mark in merges:
            sources = source if isinstance(source, list) else [source]
            for item in sources:
                if not isinstance(item, dict):
                    raise YamlProblem(
                        mark, "yaml", "a merge key (<<) takes a mapping or a list of them"
                    )
                for key, val in item.items():
                    if key not in target:
                        target[key] = val
                        target.key_marks[key] = key_mark(item, key, mark)
                        target.value_marks[key] = value_mark(item, key, mark)

    def _scalar(self, event: Any) -> Any:
        value: str = event.value
        tag = event.tag
        if tag is None and (event.style or not event.implicit[0]):
            return value  # quoted or block scalar: always a string
        if tag == "!":
            return value
        if tag is None:
            if _SURELY_STR.match(value) and value.lower() not in _NOT_STR_WORDS:
                return value
            tag = _resolve_tag(value, event.implicit)
        if tag in (_STR_TAG, _MERGE_TAG):
            return value
        node = yaml.ScalarNode(tag, value, event.start_mark, event.end_mark, event.style)
        try:
            return _constructor.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as exc:
            raise YamlProblem(self.mark(event), "yaml", f"cannot read {value!r} as {tag}") from exc


def _resolve_tag(value: str, implicit: tuple[bool, bool]) -> str:
    resolved: str = _resolver.resolve(yaml.ScalarNode, value, implicit)  # type: ignore[no-untyped-call]
    return resolved


class _Sentinel:
    def __repr__(self) -> str:
        return "<sentinel>"


_NO_KEY = _Sentinel()
_MERGE = _Sentinel()


def _is_merge_key(event: Any) -> bool:
    return (
        type(event) is yaml.ScalarEvent
        and event.value == "<<"
        and not event.style
        and event.tag in (None, _MERGE_TAG)
    )


def copy(value: Any, mark: Mark | None = None) -> Any:
    """A deep copy with positions, so later edits never touch the original."""
    if isinstance(value, YMap):
        new_map = YMap(value.mark)
        for key, item in value.items():
            new_map[key] = copy(item, mark)
        new_map.key_marks.update(value.key_marks)
        new_map.value_marks.update(value.value_marks)
        return new_map
    if isinstance(value, YSeq):
        new_seq = YSeq(value.mark)
        new_seq.extend(copy(item, mark) for item in value)
        new_seq.item_marks.extend(value.item_marks)
        return new_seq
    return value
