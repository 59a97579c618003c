"""The README's worked recipe example runs as written against a fresh Brigade and
prints what the README shows."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from conftest import BrigadeServer

README = Path(__file__).resolve().parents[1] / "README.md"
MARKER = "# README worked example: a three-node recipe"
_EXAMPLE = re.compile(r"^```python\n(" + re.escape(MARKER) + r"\n.*?)^```\n\nIt prints:\n\n```text\n(.*?)^```$", re.M | re.S)


def test_the_worked_recipe_example_runs_as_written(tmp_path: Path) -> None:
    found = _EXAMPLE.search(README.read_text(encoding="utf-8"))
    assert found, f"{README} lost the worked recipe example (a python block starting {MARKER!r}, then its output)"
    code, expected = found.group(1), found.group(2)
    server = BrigadeServer(tmp_path / "brigade")
    server.start()
    try:
        for documented, actual in (
            ("http://127.0.0.1:50051", server.grpc_url),
            ("http://127.0.0.1:50052", server.recipes_url),
        ):
            assert documented in code, documented
            code = code.replace(documented, actual)
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    finally:
        server.stop()
    assert run.returncode == 0, run.stderr
    assert run.stdout == expected, run.stdout
