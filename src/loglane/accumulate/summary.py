"""The condensed answer: stored counts plus the `Test:`/`Result:` pairs that span messages.

Pairing rule across messages (the same as inside one text): events of a source in offset
order; a result pairs with the event right before it when that is a start. Only message
edges are stored, and two neighbouring stored edges from different messages are neighbours in
the source too, because every event between them would be an edge of some message between.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from loglane.accumulate.parsers import RESULT, START, Status
from loglane.accumulate.store import BUCKET, FIRST, Store


@dataclass
class TestRow:
    name: str
    runs: int = 0
    passes: int = 0
    failures: int = 0
    skips: int = 0
    first_seen: float = 0.0
    last_seen: float = 0.0
    sources: set[str] = field(default_factory=set)  # the sources it ran (or skipped) in

    @property
    def flaky(self) -> bool:
        return self.passes > 0 and self.failures > 0


@dataclass
class SourceRow:
    source: str
    messages: int = 0
    lines: int = 0
    recognised: int = 0
    anomalies: int = 0
    passes: int = 0
    failures: int = 0
    skips: int = 0
    first_seen: float = 0.0
    last_seen: float = 0.0


@dataclass
class Summary:
    tests: dict[str, TestRow] = field(default_factory=dict)
    sources: dict[str, SourceRow] = field(default_factory=dict)
    timeline: dict[int, list[int]] = field(default_factory=dict)  # bucket -> [passes, failures]
    messages: int = 0
    open_tests: int = 0  # a `Test:` whose `Result:` has not arrived (yet)
    #: messages (or files) set aside instead of counted, per kind: malformed, refused by the
    #: store, unparsable; the messages themselves wait in the dead-letter queue
    dead: dict[str, int] = field(default_factory=dict)

    @property
    def dead_letters(self) -> int:
        return sum(self.dead.values())

    def not_understood(self) -> list[SourceRow]:
        """Sources with lines in which nothing at all was recognised."""
        return sorted(
            (r for r in self.sources.values() if r.lines and not r.recognised),
            key=lambda r: r.source,
        )

    @property
    def runs(self) -> int:
        return sum(t.runs for t in self.tests.values())

    @property
    def passes(self) -> int:
        return sum(t.passes for t in self.tests.values())

    @property
    def failures(self) -> int:
        return sum(t.failures for t in self.tests.values())

    @property
    def skips(self) -> int:
        return sum(t.skips for t in self.tests.values())

    def failing(self) -> list[TestRow]:
        """Tests with failures, most failures first."""
        rows = [t for t in self.tests.values() if t.failures]
        return sorted(rows, key=lambda t: (-t.failures, -t.runs, t.name))

    def flaky(self) -> list[TestRow]:
        rows = [t for t in self.tests.values() if t.flaky]
        return sorted(rows, key=lambda t: (-min(t.passes, t.failures), t.name))

    def ordered(self) -> list[TestRow]:
        """All tests, failing ones first (most failures first), then by name."""
        return sorted(self.tests.values(), key=lambda t: (-t.failures, t.name))

    def counts(self) -> dict[str, tuple[int, int, int]]:
        """name -> (runs, passes, failures): what tests compare with a computed truth."""
        return {n: (t.runs, t.passes, t.failures) for n, t in self.tests.items() if t.runs}

    def to_json(self) -> dict[str, Any]:
        src = self.sources.values()
        return {
            "totals": {
                "tests": len(self.tests),
                "runs": self.runs,
                "passes": self.passes,
                "failures": self.failures,
                "skips": self.skips,
                "flaky": len(self.flaky()),
                "messages": self.messages,
                "sources": len(self.sources),
                "lines": sum(s.lines for s in src),
                "unparsed_lines": sum(s.lines - s.recognised for s in src),
                "anomalies": sum(s.anomalies for s in src),
                "open_tests": self.open_tests,
                "sources_not_understood": len(self.not_understood()),
                "dead_letters": self.dead_letters,
                "dead_letters_by_kind": dict(sorted(self.dead.items())),
            },
            "tests": [
                {**asdict(t), "sources": sorted(t.sources), "flaky": t.flaky}
                for t in self.ordered()
            ],
            "flaky": [t.name for t in self.flaky()],
            "sources": [asdict(s) for s in sorted(src, key=lambda s: s.source)],
            "timeline": [
                {"bucket": b, "passes": p, "failures": f}
                for b, (p, f) in sorted(self.timeline.items())
            ],
        }


def load(store: Store) -> Summary:
    data = store.read()
    s = Summary(messages=int(data["messages"][0][0]))
    s.dead = {str(kind): int(n) for kind, n in data["dead"]}
    for name, runs, passes, failures, skips, first, last in data["tests"]:
        s.tests[name] = TestRow(name, runs, passes, failures, skips, first, last)
    for name, source in data["test_sources"]:
        if name in s.tests:
            s.tests[name].sources.add(source)
    for row in data["sources"]:
        s.sources[row[0]] = SourceRow(*row)
    for bucket, passes, failures in data["timeline"]:
        s.timeline[int(bucket)] = [passes, failures]
    _pair_edges(s, data["events"])
    return s


def _pair_edges(s: Summary, events: list[tuple[Any, ...]]) -> None:
    prev: tuple[Any, ...] | None = None
    for row in events:
        key, _pos, source, label, edge, kind, value, seen = row
        before = prev if prev is not None and prev[0] == key else None
        if before is None and prev is not None and prev[5] == START:
            s.open_tests += 1  # the previous source ended inside a test
        prev = row
        if not edge & FIRST:
            continue
        if before is None:
            if kind == RESULT:  # a source's first event is a result: the source names it
                _add(s, label, source, value, seen)
            continue
        b_kind, b_value = before[5], before[6]
        if kind == RESULT and b_kind == START:
            _add(s, b_value, source, value, seen)
        elif kind == b_kind:  # result after result, or start after an unfinished start
            _anomaly(s, source)
    if prev is not None and prev[5] == START:
        s.open_tests += 1


def _add(s: Summary, name: str, source: str, value: str, seen: float) -> None:
    if value not in (Status.PASS.value, Status.FAIL.value, Status.SKIP.value):
        _anomaly(s, source)
        return
    status = Status(value)
    t = s.tests.get(name)
    if t is None:
        t = s.tests[name] = TestRow(name, first_seen=seen, last_seen=seen)
    t.first_seen, t.last_seen = min(t.first_seen, seen), max(t.last_seen, seen)
    src = s.sources.setdefault(source, SourceRow(source, first_seen=seen, last_seen=seen))
    if status is Status.SKIP:
        t.skips += 1
        src.skips += 1
        return
    t.runs += 1
    t.sources.add(source)
    passed = status is Status.PASS
    t.passes += passed
    t.failures += not passed
    src.passes += passed
    src.failures += not passed
    tl = s.timeline.setdefault(int(seen // BUCKET * BUCKET), [0, 0])
    tl[0 if passed else 1] += 1


def _anomaly(s: Summary, source: str) -> None:
    if source in s.sources:
        s.sources[source].anomalies += 1
