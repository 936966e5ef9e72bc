"""Shared by the accumulate tests: random test logs, their truth, and wire-contract messages."""

from __future__ import annotations

import random
from collections import Counter

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
