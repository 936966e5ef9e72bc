"""Parsing: text in, outcomes out; garbage never raises."""

from __future__ import annotations

import random

from loglane.accumulate.parsers import RESULT, START, Status, parse_text

P, F, S = Status.PASS, Status.FAIL, Status.SKIP


def test_test_result_form_whole_file() -> None:
    text = "boot\nTest: alpha\nlog line\nResult: PASS\nTest: beta\nResult: FAIL\nbye\n"
    p = parse_text(text, whole=True, source="f.log")
    assert p.outcomes == [("alpha", P), ("beta", F)]
    assert p.lines == 7 and p.recognised == 4 and p.anomalies == 0


def test_test_lines_may_carry_a_prefix() -> None:
    text = "2026-11-23 12:00:00 INFO Test: gamma\n12:00:01 Result: fail (assert)\n"
    assert parse_text(text, whole=True).outcomes == [("gamma", F)]


def test_leading_result_is_named_after_the_file_and_trailing_test_is_open() -> None:
    p = parse_text("noise\nResult: PASS\nTest: late\n", whole=True, source="/ci/t_login.log")
    assert p.outcomes == [("/ci/t_login.log", P)]
    assert p.open_test and p.anomalies == 1


def test_double_result_and_double_start_are_anomalies() -> None:
    p = parse_text(
        "Test: a\nResult: PASS\nResult: FAIL\nTest: b\nTest: c\nResult: PASS\n", whole=True
    )
    assert p.outcomes == [("a", P), ("c", P)]
    assert p.anomalies == 2


def test_unknown_result_word_is_an_anomaly() -> None:
    p = parse_text("Test: a\nResult: MAYBE\n", whole=True)
    assert p.outcomes == [] and p.anomalies == 1


def test_lines_mode_returns_edges_with_offsets() -> None:
    text = "Result: FAIL\nTest: a\nResult: PASS\nTest: b\n"
    p = parse_text(text, whole=False, base_offset=1000)
    assert p.outcomes == [("a", P)]
    assert p.first is not None and p.last is not None
    assert (p.first.kind, p.first.value, p.first.offset) == (RESULT, "FAIL", 1000)
    assert (p.last.kind, p.last.value) == (START, "b")
    assert p.last.offset == 1000 + text.index("Test: b")


def test_pytest_verbose() -> None:
    text = (
        "============ test session starts ============\n"
        "tests/test_a.py::test_one PASSED                 [ 20%]\n"
        "tests/test_a.py::test_two FAILED                 [ 40%]\n"
        "tests/test_a.py::test_three[x-1] ERROR           [ 60%]\n"
        "tests/test_a.py::Cls::test_four SKIPPED (nope)   [ 80%]\n"
        "tests/test_a.py::test_five XFAIL                 [100%]\n"
        "FAILED tests/test_a.py::test_two - AssertionError: boom\n"
    )
    p = parse_text(text, whole=True)
    assert p.outcomes == [
        ("tests/test_a.py::test_one", P),
        ("tests/test_a.py::test_two", F),
        ("tests/test_a.py::test_three[x-1]", F),
        ("tests/test_a.py::Cls::test_four", S),
        ("tests/test_a.py::test_five", P),
    ]


def test_tap() -> None:
    text = (
        "TAP version 13\n1..6\nok 1 - first\nnot ok 2 - second\nok 3 # SKIP no db\n"
        "not ok 4 - fourth # TODO later\nok 5\nok, retrying the thing\n  ---\n"
    )
    p = parse_text(text, whole=True)
    assert p.outcomes == [("first", P), ("second", F), ("test 3", S), ("fourth", S), ("test 5", P)]


def test_go_test_with_subtests() -> None:
    text = (
        "=== RUN   TestA\n--- PASS: TestA (0.01s)\n=== RUN   TestB\n"
        "    --- FAIL: TestB/sub_1 (0.00s)\n    --- PASS: TestB/sub_2 (0.00s)\n"
        "--- FAIL: TestB (0.02s)\n--- SKIP: TestC (0.00s)\nFAIL\n"
    )
    p = parse_text(text, whole=True)
    assert p.outcomes == [
        ("TestA", P),
        ("TestB/sub_1", F),
        ("TestB/sub_2", P),
        ("TestB", F),
        ("TestC", S),
    ]


JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="s" tests="4">
  <testcase classname="pkg.Mod" name="t_ok" time="0.1"/>
  <testcase classname="pkg.Mod" name="t_fail"><failure message="x">trace</failure></testcase>
  <testcase classname="pkg.Mod" name="t_err"><error message="y"/></testcase>
  <testcase name="t_skip"><skipped/></testcase>
</testsuite></testsuites>
"""


def test_junit_xml() -> None:
    p = parse_text(JUNIT, whole=True)
    assert p.outcomes == [
        ("pkg.Mod.t_ok", P),
        ("pkg.Mod.t_fail", F),
        ("pkg.Mod.t_err", F),
        ("t_skip", S),
    ]


def test_truncated_junit_is_an_anomaly_not_an_error() -> None:
    assert parse_text(JUNIT[:10], whole=True).outcomes == []
    for cut in (60, 200, len(JUNIT) - 20):
        p = parse_text(JUNIT[:cut], whole=True)
        assert p.outcomes == [] and p.anomalies == 1


def test_junit_in_lines_mode_is_just_unparsed() -> None:
    p = parse_text(JUNIT, whole=False)
    assert p.outcomes == [] and p.recognised == 0


def test_garbage_never_raises() -> None:
    rng = random.Random(7)
    for _ in range(300):
        raw = bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 400)))
        text = raw.decode("utf-8", "replace")
        for whole in (True, False):
            p = parse_text(text, whole=whole, source="x")
            assert p.lines >= 0 and p.recognised <= p.lines


def test_marker_soup_never_raises() -> None:
    rng = random.Random(11)
    atoms = [
        "Test: ",
        "Result: ",
        "--- ",
        "PASS",
        ": ",
        "::",
        "ok ",
        "not ok ",
        "# SKIP",
        "\n",
        "x",
        " ",
        "<testsuite>",
        "<testcase name='a'>",
        "\r",
        "FAILED",
        "1",
    ]
    for _ in range(2000):
        text = "".join(rng.choice(atoms) for _ in range(rng.randrange(0, 40)))
        for whole in (True, False):
            p = parse_text(text, whole=whole)
            assert p.recognised <= p.lines


def test_huge_line_is_cheap_and_names_are_capped() -> None:
    huge = "Test: " + "n" * 5_000_000 + "\nResult: PASS\n" + "z" * 3_000_000
    p = parse_text(huge, whole=True)
    assert len(p.outcomes) == 1 and len(p.outcomes[0][0]) == 500
    assert p.lines == 3


def _reference(text: str, source: str, alone: bool = True) -> tuple[list[tuple[str, Status]], int]:
    """The documented rules, line by line and slowly: (outcomes, anomalies) of a whole file
    (``alone``: of a file made of ``text`` only, which may then be not understood at all)."""
    words = {"PASS": P, "PASSED": P, "OK": P, "FAIL": F, "FAILED": F, "ERROR": F}
    words |= {"SKIP": S, "SKIPPED": S}
    events: list[tuple[str, str]] = []
    for line in text.split("\n"):
        t, r = line.find("Test: "), line.find("Result: ")
        if t >= 0 and (r < 0 or t < r):
            name = line[t + 6 :].strip()[:500]
            if name:
                events.append(("S", name))
        elif r >= 0:
            rest = line[r + 8 :].split()
            word = rest[0].upper().rstrip(".,;:!") if rest else ""
            events.append(("R", words[word].value if word in words else "?"))
    outcomes, anomalies = [], 0
    for i, (kind, value) in enumerate(events):
        prev = events[i - 1] if i else None
        if kind == "R":
            if prev is None:
                if value == "?":
                    anomalies += 1
                else:
                    outcomes.append((source, Status(value)))
            elif prev[0] == "S" and value != "?":
                outcomes.append((prev[1], Status(value)))
            else:
                anomalies += 1
        elif prev is not None and prev[0] == "S":
            anomalies += 1
    if events and events[-1][0] == "S":
        anomalies += 1
    if alone and not events and not text.isspace():
        anomalies += 1  # a file in which nothing is recognised is said
    return outcomes, anomalies


def test_fast_event_scan_follows_the_documented_rules() -> None:
    rng = random.Random(5)
    atoms = [
        "Test: ",
        "Result: ",
        "t: ",
        "Count: ",
        "Tes",
        "Resul",
        "PASS",
        "fail",
        "ok.",
        " ",
        "\n",
        "\n",
        "name",
        "é",
        "MAYBE",
        "\r\n",
    ]
    for _ in range(3000):
        text = "".join(rng.choice(atoms) for _ in range(rng.randrange(1, 30)))
        p = parse_text(text, whole=True, source="src")
        assert (p.outcomes, p.anomalies) == _reference(text, "src"), repr(text)
        # a go/TAP/pytest line takes the slower, line-aware path: same events
        p = parse_text("a.py::t PASSED\n" + text, whole=True, source="src")
        want, anomalies = _reference(text, "src", alone=False)
        assert (p.outcomes, p.anomalies) == ([("a.py::t", P), *want], anomalies), repr(text)
        q = parse_text(text, whole=False, base_offset=100)
        if q.first is not None and q.last is not None:
            assert 100 <= q.first.offset <= q.last.offset < 100 + len(text)
            assert (q.first.offset == q.last.offset) == (q.first is q.last)
