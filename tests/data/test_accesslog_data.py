"""The access-log test data is what SOURCES.md says it is: every file listed with its md5, and
the project-written files exactly what their generator writes."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from generate_accesslog import GENERATED, main

FOLDER = Path(__file__).resolve().parent / "accesslog"
NOTES = {"SOURCES.md", "LICENSES.md", "LICENSE.Apache-2.0"}
ROW = re.compile(r"^\| `(?P<name>[^`]+)` \|.*\| `(?P<md5>[0-9a-f]{32})` \|$", re.MULTILINE)


def listed() -> dict[str, str]:
    return {m["name"]: m["md5"] for m in ROW.finditer((FOLDER / "SOURCES.md").read_text())}


def test_every_file_is_listed_with_its_md5() -> None:
    files = {p.name for p in FOLDER.iterdir()} - NOTES
    table = listed()
    assert files == set(table)
    for name, md5 in table.items():
        assert hashlib.md5((FOLDER / name).read_bytes()).hexdigest() == md5, name


def test_every_file_has_a_licence_note() -> None:
    notes = (FOLDER / "LICENSES.md").read_text()
    for name in listed():
        assert f"| `{name}` |" in notes, name


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_generated_files_are_what_the_generator_writes(name: str, tmp_path: Path) -> None:
    assert main([str(tmp_path)]) == 0
    assert (tmp_path / name).read_bytes() == (FOLDER / name).read_bytes()


def test_generated_files_keep_their_edge_cases() -> None:
    clf = (FOLDER / "generated_common_crlf.log").read_bytes()
    lines = clf.split(b"\n")[:-1]
    assert all(line.endswith(b"\r") for line in lines)
    assert b'"OPTIONS * HTTP/1.0" 200 -\r' in clf and b'"-" 408 -\r' in clf
    csv = (FOLDER / "generated_csv_traffic.txt").read_bytes().splitlines()
    stamps = [int(line.split(b",")[3]) for line in csv[1:]]
    behind, seen = [], stamps[0]
    for t in stamps:
        seen = max(seen, t)
        behind.append(seen - t)
    assert max(behind) == 2 and sum(1 for b in behind if b) > len(stamps) // 3
