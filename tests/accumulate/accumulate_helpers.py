"""Shared by the accumulate tests: random test logs, their truth, and wire-contract messages."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

NAMES = [f"test_{w}" for w in ("login", "logout", "upload", "search", "cart", "pay", "api", "db")]


def make_log(rng: random.Random, tests: int, noise: int = 3) -> str:
    """A log in the `Test: name` ... `Result: PASS|FAIL` style, with noise lines between."""
    out = []
    for _ in range(tests):
        out.append(f"12:00:{rng.randrange(60):02d} INFO Test: {rng.choice(NAMES)}")
        for _ in range(rng.randrange(noise + 1)):
            out.append(f"12:00:00 DEBUG step {rng.randrange(10**6)} élan ok")
        out.append(f"Result: {rng.choice(['PASS', 'PASS', 'FAIL'])}")
    return "\n".join(out) + "\n"


def truth(texts: list[str]) -> dict[str, tuple[int, int, int]]:
    """name -> (runs, passes, failures), computed directly from complete logs."""
    passes: Counter[str] = Counter()
    fails: Counter[str] = Counter()
    for text in texts:
        current = None
        for line in text.splitlines():
            if "Test: " in line:
                current = line.split("Test: ", 1)[1].strip()
            elif "Result: " in line and current:
                (passes if "PASS" in line else fails)[current] += 1
                current = None
    return {n: (passes[n] + fails[n], passes[n], fails[n]) for n in set(passes) | set(fails)}


def workload(
    seed: int, files: int, tests: int, max_lines: int
) -> tuple[list[str], list[tuple[bytes, dict[str, Any], str]]]:
    """Logs split into `lines` messages (body, headers, id), shuffled as if many shippers
    interleaved; and the logs, for their truth."""
    from loglane.wire import HEADER_KIND, HEADER_OFFSET, HEADER_SOURCE, message_id

    rng = random.Random(seed)
    texts = [make_log(rng, tests) for _ in range(files)]
    msgs: list[tuple[bytes, dict[str, Any], str]] = []
    for i, text in enumerate(texts):
        src = f"/ci/host{i % 3}/run{i}.log"
        for offset, chunk in split_lines(rng, text, max_lines):
            headers = {HEADER_SOURCE: src, HEADER_OFFSET: offset, HEADER_KIND: "lines"}
            msgs.append((chunk, headers, message_id(f"{src}:{i}", offset)))
    rng.shuffle(msgs)  # as if many shippers interleaved
    return texts, msgs


def split_lines(rng: random.Random, text: str, max_lines: int) -> list[tuple[int, bytes]]:
    """Cut ``text`` at line boundaries into (byte offset, chunk) pieces of 1..max_lines lines."""
    lines = text.encode().splitlines(keepends=True)
    pieces, offset, i = [], 0, 0
    while i < len(lines):
        n = rng.randint(1, max_lines)
        chunk = b"".join(lines[i : i + n])
        pieces.append((offset, chunk))
        offset += len(chunk)
        i += n
    return pieces


# --- hostile messages, for the property tests of the consumer's decoding ---------------------

INT64 = 2**63
BOUNDARY_INTS = [0, 1, INT64 - 2, INT64 - 1, INT64, INT64 + 1, -1, -INT64, -INT64 - 1, 2**64 - 1]


def hostile_messages(wire: bool = False) -> Any:
    """A strategy of (body, headers, message_id, timestamp): arbitrary text (NUL, and unpaired
    surrogates unless ``wire``: pika cannot send those), ints at and past the signed 64-bit
    bounds, digits as text, missing headers, garbage bodies. ``wire`` keeps to what pika can
    publish: ints within 64 bits, ids of at most 255 bytes."""
    from hypothesis import strategies as st

    from loglane.wire import HEADER_HOST, HEADER_KIND, HEADER_OFFSET, HEADER_SOURCE

    chars = st.characters(codec="utf-8") if wire else st.characters()
    text = st.text(chars, max_size=40)
    nul_text = st.builds(lambda a, b: f"{a}\x00{b}", text, text)
    ints = st.integers(-(2**70), 2**70) | st.sampled_from(BOUNDARY_INTS)
    if wire:
        ints = ints.filter(lambda i: -INT64 <= i < INT64)
    int_text = st.sampled_from(BOUNDARY_INTS).map(str) | st.sampled_from(
        [" 12", "1_0", "+5", "0x10", "١٢", "", "-0", "9" * 30]
    )
    value = st.none() | text | nul_text | st.binary(max_size=20) | ints | int_text | st.booleans()
    near = st.integers(0, 64).map(lambda k: INT64 - 1 - k)  # positions overflow here
    offsets = st.integers(0, 10**6) | near | near.map(str)
    good = {
        HEADER_SOURCE: st.sampled_from(["/ci/a.log", "host:1:app", "/ci/é.log"]),
        HEADER_OFFSET: offsets,
        HEADER_KIND: st.sampled_from(["lines", "file"]),
    }
    # mostly well-formed with one or two hostile values (so the body gets parsed), or anything
    one_bad = st.fixed_dictionaries(good, optional={HEADER_HOST: st.sampled_from(["ci1"])}).flatmap(
        lambda h: st.dictionaries(st.sampled_from([*good, HEADER_HOST]), value, max_size=2).map(
            lambda bad: {**h, **bad}
        )
    )
    anything = st.fixed_dictionaries(
        {}, optional={k: v | value for k, v in {**good, HEADER_HOST: value}.items()}
    )
    headers = st.fixed_dictionaries(good) | one_bad | anything
    names = st.sampled_from(["test_a", "test_b"]) | text | nul_text
    log_line = st.builds(lambda n: f"Test: {n}\n", names) | st.sampled_from(
        ["Result: PASS\n", "Result: FAIL\n", "noise\n", "t.py::t PASSED\n", "ok 1 - x\n"]
    )
    body = st.lists(log_line, max_size=6).map(
        lambda ls: "".join(ls).encode("utf-8", "surrogatepass")
    ) | st.binary(max_size=60)
    ids = st.sampled_from(["src:1@0", "src:1@5"]) | st.sampled_from(["src:1@0"]) | text
    ids = ids | nul_text | st.binary(max_size=20)
    if wire:
        ids = ids.filter(lambda i: len(i if isinstance(i, bytes) else i.encode()) <= 200)
    timestamp = st.none() | st.integers(0, 2**64 - 1) | st.sampled_from([1.7e9, 2**63, 2**64 - 1])
    return st.tuples(body, headers, st.none() | ids, timestamp)
