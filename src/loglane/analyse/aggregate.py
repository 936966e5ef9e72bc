"""Chunk → aggregate: per-second hits and per-interval details for a run of whole lines.

This is the hot path. A chunk of complete lines goes through one `findall` of the format's
regex (one tuple per line, built in C), then through Counters over zipped columns, so Python
code runs once per *distinct* (interval, key) pair rather than once per line. Timestamps,
sections and statuses are converted once per distinct raw value through small caches.
A chunk where some line does not match falls back to a line-by-line pass that finds exactly
which lines are unparsed; both passes feed the same column code.

Blocks are plain data (picklable) so worker processes can aggregate byte ranges of a file
and the parent merges them in file order.
"""

from __future__ import annotations

import collections
import gc
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import islice, repeat
from operator import add, floordiv, itemgetter, le
from typing import Any, Generic, TypeVar

from .accesslog import LogFormat, decode, parse_time, section_of

__all__ = ["Block", "Detail", "aggregate"]

K = TypeVar("K")
V = TypeVar("V")

# The C helper behind Counter.update (CPython, present since 3.2; Counter uses it itself).
_count_elements: Callable[[dict[Any, int], Iterable[Any]], None] = collections._count_elements  # type: ignore[attr-defined]
_SECONDS = {b"%02d" % i: i for i in range(60)}
_COLON_SECONDS = {b":%02d" % i: i for i in range(60)}
# CLF time `10/Oct/2000:13:55:36 -0700`: date-hour-minute, `:seconds`, zone, cut in C.
_MINUTE, _COLON_SS, _ZONE = (
    itemgetter(slice(17)),
    itemgetter(slice(17, 20)),
    itemgetter(slice(20, None)),
)
MAX_UNPARSED_KEPT = 1000  # per block, for --show-unparsed; the count is always exact


def _counter(items: list[K]) -> Counter[K]:
    """Counter(items) without Counter.__init__'s Python-level checks: an interval holds a
    handful of lines and there can be one interval per few lines, so this is hot."""
    counter: Counter[K] = Counter.__new__(Counter)
    dict.__init__(counter)
    _count_elements(counter, items)
    return counter


class _Cache(dict[K, V], Generic[K, V]):
    """dict whose misses are computed once; `map(cache.__getitem__, column)` stays in C."""

    def __init__(self, compute: Callable[[K], V]) -> None:
        super().__init__()
        self._compute = compute

    def __missing__(self, key: K) -> V:
        value = self._compute(key)
        if len(self) > 200_000:  # bounded: a long replay sees many distinct timestamps
            self.clear()
        self[key] = value
        return value


class Detail:
    """What one report interval saw.

    The three tallies are dicts of counts: Counters where the aggregator builds them, plain
    dicts once they have crossed from a worker process. Rebuilding Counters there would cost
    the parent more than the workers saved it (a sparse log has an interval every few lines),
    so what reads a Detail goes through `merge`, `add_counts` and `render.top`, which take both.
    """

    __slots__ = ("bytes", "hits", "hosts", "sections", "statuses")

    def __init__(
        self,
        hits: int = 0,
        bytes: int = 0,
        statuses: dict[int, int] | None = None,
        sections: dict[str, int] | None = None,
        hosts: dict[str, int] | None = None,
    ) -> None:
        self.hits = hits
        self.bytes = bytes
        self.statuses: dict[int, int] = Counter() if statuses is None else statuses
        self.sections: dict[str, int] = Counter() if sections is None else sections
        self.hosts: dict[str, int] = Counter() if hosts is None else hosts

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            Detail,
            (self.hits, self.bytes, dict(self.statuses), dict(self.sections), dict(self.hosts)),
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Detail):
            return NotImplemented
        return self.__reduce__() == other.__reduce__()

    __hash__ = None  # type: ignore[assignment]  # mutable, like the dataclass it replaced

    def __repr__(self) -> str:
        return (
            f"Detail(hits={self.hits}, bytes={self.bytes}, statuses={self.statuses!r}, "
            f"sections={self.sections!r}, hosts={self.hosts!r})"
        )

    def merge(self, other: Detail) -> None:
        self.hits += other.hits
        self.bytes += other.bytes
        add_counts(self.statuses, other.statuses)
        add_counts(self.sections, other.sections)
        add_counts(self.hosts, other.hosts)


def add_counts(into: dict[K, int], other: dict[K, int]) -> None:
    """`Counter.update` for any dict of counts (a plain dict's `update` would replace)."""
    if not into:
        into.update(other)
        return
    get = into.get
    for key, n in other.items():
        into[key] = get(key, 0) + n


@dataclass
class Block:
    """The aggregate of a run of lines."""

    lines: int = 0
    requests: int = 0
    unparsed: int = 0
    unparsed_lines: list[bytes] = field(default_factory=list)
    per_second: dict[int, int] = field(default_factory=dict)
    details: dict[int, Detail] = field(default_factory=dict)  # interval index -> detail
    totals: Detail = field(default_factory=Detail)  # the sum of all details
    paths: Counter[str] = field(default_factory=Counter)


class Aggregator:
    """Per-format, per-interval state kept across chunks (the caches)."""

    def __init__(self, fmt: LogFormat, interval: int, keep_unparsed: bool = False) -> None:
        self.fmt = fmt
        self.interval = interval
        self.keep_unparsed = keep_unparsed
        self._times: _Cache[bytes, int] = _Cache(self._time)
        self._minutes: dict[bytes, int] = {}
        self._bases: _Cache[bytes, int] = _Cache(self._base)
        self._sections: _Cache[bytes, str] = _Cache(lambda p: section_of(decode(p)))
        self._statuses: _Cache[bytes, int] = _Cache(int)
        self._sizes: _Cache[bytes, int] = _Cache(lambda b: 0 if b == b"-" else int(b))
        self._text: _Cache[bytes, str] = _Cache(decode)

    def _time(self, raw: bytes) -> int:
        """parse_time, with CLF times split into a cached date-hour-minute-zone and seconds
        (a sparse log has nearly as many distinct seconds as lines)."""
        if len(raw) == 26 and raw[17:18] == b":":
            ss = _SECONDS.get(raw[18:20])
            if ss is not None:
                key = raw[:17] + raw[20:]
                base = self._minutes.get(key)
                if base is None:
                    base = parse_time(raw[:17] + b":00" + raw[20:])
                    if len(self._minutes) > 100_000:
                        self._minutes.clear()
                    self._minutes[key] = base
                return base + ss
        return parse_time(raw)

    def _base(self, key: bytes) -> int:
        """The Unix time of second 00 of a CLF minute, from its date-hour-minute + zone."""
        return parse_time(key[:17] + b":00" + key[17:])

    def _seconds(self, times: Sequence[bytes]) -> list[int]:
        """Unix seconds of a column of raw times; `map(self._times...)` in effect, but when
        every time has the common CLF shape (26 bytes, `:ss` at 17) only the distinct
        date-hour-minute-zone keys reach Python: the rest is slicing and lookups in C."""
        if set(map(len, times)) == {26}:
            try:
                ss = list(map(_COLON_SECONDS.__getitem__, map(_COLON_SS, times)))
            except KeyError:
                pass
            else:
                keys = map(add, map(_MINUTE, times), map(_ZONE, times))
                return list(map(add, map(self._bases.__getitem__, keys), ss))
        return list(map(self._times.__getitem__, times))

    def aggregate(self, chunk: bytes) -> Block:
        """Aggregate a chunk of whole lines (the last one may lack its newline)."""
        if chunk and not chunk.endswith(b"\n"):
            chunk += b"\n"
        enabled = gc.isenabled()
        gc.disable()  # millions of short-lived tuples would otherwise trigger many collections
        try:
            bulk = self.fmt.bulk
            if bulk is not None:
                rows = bulk.findall(chunk)
                if len(rows) == chunk.count(b"\n"):
                    try:
                        return self._columns(rows, Block(lines=len(rows)))
                    except ValueError:
                        pass  # a bad timestamp somewhere: find it line by line
            return self._slow(chunk)
        finally:
            if enabled:
                gc.enable()

    def _slow(self, chunk: bytes) -> Block:
        block = Block()
        rows: list[tuple[bytes, bytes, bytes, bytes, bytes]] = []
        header = self.fmt.header
        for raw in chunk.split(b"\n")[:-1]:
            line = raw[:-1] if raw.endswith(b"\r") else raw
            if not line.strip() or (header is not None and line.startswith(header)):
                continue  # blank lines and the CSV header are not lines of traffic
            block.lines += 1
            fields = self.fmt.fields(line)
            if fields is not None:
                try:
                    self._times[fields[1]]
                    self._statuses[fields[3]]
                    self._sizes[fields[4]]
                except ValueError:
                    fields = None
            if fields is None:
                block.unparsed += 1
                if self.keep_unparsed and len(block.unparsed_lines) < MAX_UNPARSED_KEPT:
                    block.unparsed_lines.append(line)
            else:
                rows.append(fields)
        return self._columns(rows, block)

    def _columns(self, rows: Sequence[tuple[bytes, ...]], block: Block) -> Block:
        if not rows:
            return block
        n = len(rows)
        columns: list[tuple[bytes, ...]] = list(zip(*rows, strict=True))
        hosts, times, paths, statuses, sizes = columns
        secs = self._seconds(times)
        ivs = list(map(floordiv, secs, repeat(self.interval, n)))
        codes = list(map(self._statuses.__getitem__, statuses))
        sections = list(map(self._sections.__getitem__, paths))
        names = list(map(self._text.__getitem__, hosts))
        byte_counts = list(map(self._sizes.__getitem__, sizes))
        block.requests = n
        block.per_second = dict(Counter(secs))
        # Block totals straight from the columns; the summary adds these up.
        block.totals = Detail(
            n, sum(byte_counts), Counter(codes), Counter(sections), Counter(names)
        )
        block.paths = Counter({self._text[p]: k for p, k in Counter(paths).items()})
        # Per-interval details: order the lines by interval (usually they already are), then
        # each interval is one slice of every column, counted in C.
        if not all(map(le, ivs, islice(ivs, 1, None))):
            order = sorted(range(n), key=ivs.__getitem__)
            ivs, codes, sections, names, byte_counts = (
                list(map(col.__getitem__, order))
                for col in (ivs, codes, sections, names, byte_counts)
            )
        counts = Counter(ivs)
        details: dict[int, Detail] = {}
        pos = 0
        for iv in sorted(counts):
            end = pos + counts[iv]
            details[iv] = Detail(
                end - pos,
                sum(byte_counts[pos:end]),
                _counter(codes[pos:end]),
                _counter(sections[pos:end]),
                _counter(names[pos:end]),
            )
            pos = end
        block.details = details
        return block


def aggregate(fmt: LogFormat, chunks: Iterable[bytes], interval: int = 10) -> Block:
    """Convenience for tests and small inputs: one Block for all chunks."""
    agg = Aggregator(fmt, interval, keep_unparsed=True)
    total = Block()
    for chunk in chunks:
        merge_block(total, agg.aggregate(chunk))
    return total


def merge_block(into: Block, other: Block) -> None:
    into.lines += other.lines
    into.requests += other.requests
    into.unparsed += other.unparsed
    into.unparsed_lines.extend(other.unparsed_lines)
    for sec, n in other.per_second.items():
        into.per_second[sec] = into.per_second.get(sec, 0) + n
    for iv, detail in other.details.items():
        mine = into.details.get(iv)
        if mine is None:
            into.details[iv] = detail
        else:
            mine.merge(detail)
    into.paths.update(other.paths)
    into.totals.merge(other.totals)
