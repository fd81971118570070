from __future__ import annotations

import pytest

from core.lab.job import safe_name, stage_files


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("invoice_01.png", "invoice_01.png"),
        ("../../etc/passwd", "passwd"),  # no folder part survives
        ("Счёт №7.PDF", "Счёт__7.pdf"),  # letters of any script stay; other marks become underscores
        ("...", "document"),
        ("a b&c.jpg", "a_b_c.jpg"),
        ("C:\\scans\\x.png", "x.png"),  # a Windows path from the browser
    ],
)
def test_safe_name(name, expected):
    assert safe_name(name) == expected


def test_stage_files_keeps_repeated_names_apart(tmp_path):
    folder = stage_files([("a.png", b"1"), ("dir/a.png", b"2")], tmp_path / "docs")
    assert sorted(p.name for p in folder.iterdir()) == ["a.png", "a_2.png"]
    assert (folder / "a_2.png").read_bytes() == b"2"
