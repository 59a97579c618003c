"""Writes each ```python block of a Markdown file to its own module, for mypy.

Usage: readme_examples.py README.md OUT_DIR. Fails if the file has none, so a
README rewrite cannot silently stop the examples from being checked.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

_BLOCK = re.compile(r"^```python\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def main(readme: Path, out_dir: Path) -> int:
    blocks = _BLOCK.findall(readme.read_text(encoding="utf-8"))
    if not blocks:
        print(f"readme_examples: no python blocks in {readme}", file=sys.stderr)
        return 1
    out_dir.mkdir(parents=True, exist_ok=True)
    for i, code in enumerate(blocks, start=1):
        (out_dir / f"readme_example_{i}.py").write_text(code, encoding="utf-8")
    print(f"readme_examples: {len(blocks)} examples from {readme.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
