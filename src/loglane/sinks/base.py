"""The sink protocol: what the writer thread calls, and nothing else does.

Every sink method runs on loglane's writer thread, never on the application's, so a sink may
block, do I/O and raise without the application noticing. The writer:

* calls ``start()`` once before the first ``write`` (a failure is retried like a write);
* calls ``write(records, lines)`` with a batch: ``lines[i]`` is ``records[i]`` formatted by the
  sink's ``formatter`` (or the logger's), without a trailing newline (a traceback makes a line
  span several physical lines). Only records with ``level <= record.level < max_level`` come;
* calls ``flush()`` after each batch cycle, and ``close()`` once when the sink is removed or the
  logger closes (after a drain, everything accepted before has been written).

Accounting: a record given to ``write`` is the sink's once ``write`` returns or raises
``SinkBacklogged``; from then on it is written, or counted by ``pending_records()`` until it is, or
added to ``lost`` when the sink gives it up. ``stats()`` adds these up per sink.

Failures: if ``write`` raises, the writer counts the error, reports it on stderr at most once
per interval, and calls ``write`` again after a back-off with the same records (and any newer
ones) prepended, so a sink that fails before writing anything loses nothing. A sink that
wrote part of a batch before failing, and kept the rest itself, raises ``SinkBacklogged`` instead:
the writer then counts and backs off but does not hand the batch back. A sink that still holds
such a rest should write it first and, while that fails, refuse the new batch with a plain
exception: the writer keeps newer records (bounded, and counted as lost beyond the bound), so
what a sink keeps itself never grows with the length of an outage.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from loglane.record import Record, level_name, parse_level

Formatter = Callable[[Record], str]


class SinkBacklogged(Exception):
    """A write failed after part of the batch was written; the sink kept the rest."""


class Sink:
    """Base class with the defaults; subclasses override ``write`` and what else they need."""

    #: records below this level are not given to the sink
    level: int = 0
    #: records at or above this level are not given to the sink (None: no upper bound)
    max_level: int | None = None
    #: formats records for this sink; None means the logger's formatter
    formatter: Formatter | None = None
    #: False for sinks known never to log (loglane's file and console sinks); for any other
    #: sink the writer guards against records it logs about the records it writes feeding it
    #: for ever (see Writer.guard_sinks)
    may_log: bool = True
    #: records this sink took from the writer and then gave up itself (a line its target
    #: refused for good, a backlog still failing at close); the writer reports it in stats()
    lost: int = 0
    #: True: ``records`` may be plain tuples in ``Record``'s field order (index them; this saves
    #: the writer building a ``Record`` per line). False (default): real ``Record`` objects.
    raw_records: bool = False

    def __init__(
        self,
        level: int | str = 0,
        max_level: int | str | None = None,
        formatter: Formatter | None = None,
    ) -> None:
        self.level = parse_level(level)
        self.max_level = None if max_level is None else parse_level(max_level)
        self.formatter = formatter

    def accepts(self, level: int) -> bool:
        return self.level <= level and (self.max_level is None or level < self.max_level)

    def start(self) -> None:
        """Acquire resources; called on the writer thread before the first write."""

    def write(self, records: Sequence[Record], lines: Sequence[str]) -> None:
        raise NotImplementedError

    def flush(self) -> None:
        """Push buffered data out; called after every batch cycle."""

    def pending_records(self) -> int:
        """Records taken by ``write`` and not yet written (kept to retry, or gathered)."""
        return 0

    def close(self) -> None:
        """Release resources; called once, after the last write. What the sink still keeps
        unwritten is given up here: counted in ``lost``, no longer in ``pending_records()``."""

    def after_fork_in_child(self) -> None:
        """Called in a forked child before its first write: drop threads and connections
        inherited from the parent (they are not the child's), keep what is safe to share."""

    def describe(self) -> str:
        """How error messages and stats name this sink."""
        return f"{type(self).__name__}(level={level_name(self.level)})"

    def __repr__(self) -> str:
        return f"<{self.describe()}>"
