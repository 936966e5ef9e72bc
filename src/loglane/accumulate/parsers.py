"""Test-log text in, outcomes out. No I/O, no clock, never raises on bad input.

Forms recognised, line by line (a line is classified by the first form that matches):

* ``go test -v``: ``--- PASS: TestX (0.01s)`` / ``--- FAIL:`` / ``--- SKIP:``, subtests
  (indented, ``TestX/sub``) counted as tests of their own;
* TAP: ``ok 3 - name``, ``not ok 4 - name``; a ``# SKIP`` or ``# TODO`` directive makes it a
  skip (TAP says a TODO test's failure is not a failure);
* pytest verbose: ``path::test PASSED [ 10%]``; PASSED/XPASS/XFAIL pass (pytest itself does
  not fail a run on them), FAILED/ERROR fail, SKIPPED skips. Summary lines that put the status
  first (``FAILED path::test - msg``) repeat an earlier line and are not counted;
* ``Test: <name>`` ... ``Result: PASS|FAIL``: a line containing ``Test: `` starts a test and
  the next line containing ``Result: `` ends it. These two lines can arrive in different
  messages, so they come out as *events* (start/result at a byte offset) and are paired here
  when both are in the same text, or later by the store when they are not.

A whole file (``whole=True``) whose root element is a JUnit one is parsed as XML instead
(:mod:`.junit`). Everything else is an unrecognised line; odd cases (a result with no test, a
test with no result, a result that is neither pass nor fail, broken or refused XML, a whole
file in which nothing at all is recognised) are counted as anomalies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from loglane.accumulate.junit import is_junit, parse_junit


class Status(StrEnum):
    PASS = "PASS"
    FAIL = "FAIL"
    SKIP = "SKIP"


START = "S"  # a `Test: ` line
RESULT = "R"  # a `Result: ` line


@dataclass(frozen=True)
class Event:
    """A `Test:` or `Result:` line that could not be paired inside its own text."""

    offset: int  # position in the source; orders events across messages
    kind: str  # START or RESULT
    value: str  # the test's name, or a Status value (or "?" for an unreadable result)


@dataclass
class Parsed:
    lines: int = 0
    recognised: int = 0  # lines that were (part of) an outcome or event
    outcomes: list[tuple[str, Status]] = field(default_factory=list)
    anomalies: int = 0
    #: lines mode only: the first and last event of the text, which may pair with events of
    #: neighbouring messages (both are the same event when there is only one)
    first: Event | None = None
    last: Event | None = None
    open_test: bool = False  # whole mode: the text ended inside a test


_GO_STATUS = {"PASS:": Status.PASS, "FAIL:": Status.FAIL, "SKIP:": Status.SKIP}
# TAP's test number is optional in the spec but always written in practice; requiring it keeps
# prose such as "ok, retrying" from counting as a passed test.
_TAP = re.compile(r"(not )?ok (\d+)\b\s*(?:-\s*)?([^#]*?)\s*(?:#\s*(\S+)(.*))?$")
_PYTEST_STATUS = {
    "PASSED": Status.PASS,
    "XPASS": Status.PASS,
    "XFAIL": Status.PASS,
    "FAILED": Status.FAIL,
    "ERROR": Status.FAIL,
    "SKIPPED": Status.SKIP,
}
_RESULT_WORDS = {
    "PASS": Status.PASS,
    "PASSED": Status.PASS,
    "OK": Status.PASS,
    "FAIL": Status.FAIL,
    "FAILED": Status.FAIL,
    "ERROR": Status.FAIL,
    "SKIP": Status.SKIP,
    "SKIPPED": Status.SKIP,
}
# Markers of the self-contained forms; found with str.find (C speed) so that the many ordinary
# log lines between them cost nothing per line.
_FORM_MARKERS = ("--- ", "::", "\nok ", "\nnot ok ")
# `Test:`/`Result:` lines are the bulk of the seed's logs. Both markers end in "t: ", and a
# pattern that is a plain literal is searched for at C speed (an alternation is tried at every
# character), so one pass finds both; the few other words ending in "t" are skipped.
_T_COLON = re.compile("t: ")
# ... and the same in one findall: the literal comes first (fast search), a lookbehind then
# checks which marker it ends; group 1 is "t" for a result
_EVENTS = re.compile(r"t: (?:(?<=Test: )|(?<=Resul(t): ))([^\n]*)")
_EXACT = {"PASS": "PASS", "FAIL": "FAIL"}  # the common case, without splitting the line
_STATUS = {s.value: s for s in Status}
MAX_NAME = 500  # names longer than this are cut: a runaway line must not bloat the store


def parse_text(text: str, *, whole: bool, source: str = "", base_offset: int = 0) -> Parsed:
    """Classify every line of ``text``.

    ``whole`` says the text is a complete source (a whole file): then every `Test:`/`Result:`
    pair is resolved here, a leading result with no test is named after ``source``, and
    JUnit XML is recognised. Otherwise the first and last events are returned for the store.
    ``base_offset`` is the source offset of ``text``; event offsets are ``base_offset`` plus
    the character index, which keeps them ordered and inside the message's byte range.
    """
    parsed = Parsed()
    if not text:
        return parsed
    parsed.lines = text.count("\n") + (0 if text.endswith("\n") else 1)
    if whole:
        if text.startswith(("<", "\ufeff", " ", "\t", "\r", "\n")) and is_junit(text):
            _junit(text, parsed)
        else:
            _lines(text, parsed, whole, source, base_offset)
        if not parsed.recognised and not parsed.anomalies and not text.isspace():
            parsed.anomalies += 1  # a file not understood at all is said, not silently empty
        return parsed
    _lines(text, parsed, whole, source, base_offset)
    return parsed


def _lines(text: str, parsed: Parsed, whole: bool, source: str, base_offset: int) -> None:
    """The line forms: go, TAP, pytest, `Test:`/`Result:`."""
    taken = set()  # starts of lines that were go/TAP/pytest outcomes
    has_forms = text.startswith(("ok ", "not ok ")) or any(m in text for m in _FORM_MARKERS)
    if has_forms and _EVENTS.search(text) is None:
        # no `Test:`/`Result:` line to keep apart from them: no positions needed, and a
        # pytest or go log (nearly every line an outcome) is classified line by line in bulk
        for line in text.split("\n"):
            if "::" in line or "--- " in line or line.startswith(("ok ", "not ok ")):
                _classify(line.rstrip("\r"), parsed)
        return
    for start in _candidate_lines(text) if has_forms else ():
        end = text.find("\n", start)
        if _classify(text[start : end if end >= 0 else len(text)].rstrip("\r"), parsed):
            taken.add(start)
    if taken:
        events, head, tail = _events_by_line(text, taken)
    else:
        events, head, tail = _events(text)
    parsed.recognised += len(events)
    if events:
        _pair(events, parsed, whole, source, base_offset + head, base_offset + tail)


def _events(text: str) -> tuple[list[tuple[str, str]], int, int]:
    """Every `Test:`/`Result:` event as (kind, value), and the positions of the first and last.

    One C-speed ``findall``; positions are found only for the two edges, which is all the
    store needs (any positions inside the message that keep first < last would do)."""
    found = _EVENTS.findall(text)
    if not found:
        return [], 0, 0
    events = [
        (RESULT, _EXACT.get(rest) or _word(rest)) if is_result else (START, rest.strip()[:MAX_NAME])
        for is_result, rest in found
        if is_result or rest.strip()
    ]
    if not events:
        return [], 0, 0
    m = _EVENTS.search(text)
    head = m.start() - (5 if m.group(1) else 3) if m else 0
    tail = head
    if len(events) > 1:
        is_result, rest = found[-1]
        tail = text.rfind(("Result: " if is_result else "Test: ") + rest)
        if tail <= head:  # cannot happen; keeps first < last whatever the text
            tail = head + 1
    return events, head, tail


def _events_by_line(text: str, taken: set[int]) -> tuple[list[tuple[str, str]], int, int]:
    """As :func:`_events`, skipping lines already counted as go/TAP/pytest outcomes."""
    events: list[tuple[str, str]] = []
    head = tail = 0
    line_end = -1  # end of the line of the last event: the first marker on a line wins
    for m in _T_COLON.finditer(text):
        at = m.start()
        if at < line_end:
            continue
        if text.startswith("Tes", at - 3):
            pos, kind = at - 3, START
        elif text.startswith("Resul", at - 5):
            pos, kind = at - 5, RESULT
        else:
            continue
        line_end = text.find("\n", at)
        if line_end < 0:
            line_end = len(text)
        if text.rfind("\n", 0, pos) + 1 in taken:
            continue
        rest = text[at + 3 : line_end]
        if kind == START:
            rest = rest.strip()[:MAX_NAME]
            if not rest:
                continue
        if not events:
            head = pos
        tail = pos
        events.append((kind, rest if kind == START else _word(rest)))
    return events, head, tail


def _word(rest: str) -> str:
    """The status value of the text after `Result: ` (its first word), or "?"."""
    words = rest.split(None, 1)
    status = _RESULT_WORDS.get(words[0].upper().rstrip(".,;:!")) if words else None
    return status.value if status is not None else "?"


def _candidate_lines(text: str) -> list[int]:
    """Start indices of the lines holding a form marker, sorted and unique."""
    starts: set[int] = set()
    if text.startswith(("ok ", "not ok ")):
        starts.add(0)
    for marker in _FORM_MARKERS:
        newline = marker[0] == "\n"
        pos = text.find(marker)
        while pos >= 0:
            starts.add(pos + 1 if newline else text.rfind("\n", 0, pos) + 1)
            nxt = text.find("\n", pos + len(marker))
            if nxt < 0:
                break
            pos = text.find(marker, nxt if newline else nxt + 1)
    return sorted(starts)


def _classify(line: str, parsed: Parsed) -> bool:
    """A go/TAP/pytest outcome line? Adds the outcome and says so. str.split rather than
    regexes where it will do: every line of a pytest log comes through here."""
    words = line.split(None, 3)
    if len(words) >= 2:
        first, second = words[0], words[1]
        if "::" in first:
            status = _PYTEST_STATUS.get(second)
            if status is not None:
                _outcome(parsed, first, status)
                return True
        elif first == "---" and len(words) >= 3 and second in _GO_STATUS:
            _outcome(parsed, words[2], _GO_STATUS[second])
            return True
    m = _TAP.match(line) if line.startswith(("ok ", "not ok ")) else None
    if m:
        number, name, directive = m.group(2), m.group(3), (m.group(4) or "").upper()
        name = name or f"test {number}"
        if directive.startswith(("SKIP", "TODO")):
            _outcome(parsed, name, Status.SKIP)
        else:
            _outcome(parsed, name, Status.FAIL if m.group(1) else Status.PASS)
        return True
    return False


def _outcome(parsed: Parsed, name: str, status: Status) -> None:
    parsed.recognised += 1
    parsed.outcomes.append((name[:MAX_NAME], status))


def _pair(
    events: list[tuple[str, str]], parsed: Parsed, whole: bool, source: str, head: int, tail: int
) -> None:
    """Pair each result with the start right before it (no other event in between)."""
    out = parsed.outcomes
    prev_kind, prev_value = events[0]
    for kind, value in events[1:]:
        if kind == RESULT:
            if prev_kind == START and value != "?":
                out.append((prev_value, _STATUS[value]))
            else:  # an unreadable result, or a second result for the same test
                parsed.anomalies += 1
        elif prev_kind == START:
            parsed.anomalies += 1  # a test that never got its result
        prev_kind, prev_value = kind, value
    first = Event(head, *events[0])
    last = Event(tail, *events[-1]) if len(events) > 1 else first
    if not whole:
        parsed.first, parsed.last = first, last
        return
    if first.kind == RESULT:
        # "the first line of a shipped file names it": a file that is one test's log may
        # carry only the result; the file's name is then the test's name
        if first.value == "?":
            parsed.anomalies += 1
        else:
            out.append((source or "(unnamed)", _STATUS[first.value]))
    if last.kind == START:
        parsed.open_test = True
        parsed.anomalies += 1


def _junit(text: str, parsed: Parsed) -> None:
    cases = parse_junit(text)
    if cases is None:
        parsed.anomalies += 1  # broken, truncated or refused XML: its lines stay unrecognised
        return
    for name, word in cases:
        if word:
            _outcome(parsed, name, _STATUS[word])
        else:
            parsed.anomalies += 1  # a testcase without a name
