"""The README's Python snippets, in order, so they can be type-checked (and tested) as programs.

    python tools/readme_snippets.py --out DIR            # DIR/snippet_01.py, ...; prints the count
    python tools/readme_snippets.py --out DIR --readme F # another Markdown file

A snippet is a fenced code block whose info string starts with ``python`` (```` ```python ````
or ``~~~python``). The closing fence is the same character, at least as long, with nothing
after it (CommonMark). A block indented inside a list item is dedented by its fence's indent.
Other blocks (``sh``, plain) are not Python and are skipped.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_OPEN = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`]*)$")


def _is_python(info: str) -> bool:
    words = info.split()
    return bool(words) and words[0].lower() == "python"


def snippets(text: str) -> list[str]:
    """Each ```python fenced block of the Markdown `text`, in order, as source ending in a newline.

    An unclosed block runs to the end of the text, as CommonMark says.
    """
    found: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        opened = _OPEN.match(lines[i])
        i += 1
        if opened is None:
            continue
        fence, indent = opened["fence"], len(opened["indent"])
        close = re.compile(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}\s*$")
        body: list[str] = []
        while i < len(lines) and not close.match(lines[i]):
            line = lines[i]
            strip = len(line) - len(line.lstrip(" "))
            body.append(line[min(indent, strip) :])
            i += 1
        i += 1  # the closing fence
        if _is_python(opened["info"]):
            found.append("\n".join(body) + "\n")
    return found


def write(blocks: list[str], out: Path) -> list[Path]:
    """Write `blocks` as out/snippet_01.py, out/snippet_02.py, ...; return the paths."""
    out.mkdir(parents=True, exist_ok=True)
    width = max(2, len(str(len(blocks))))
    paths: list[Path] = []
    for number, block in enumerate(blocks, start=1):
        path = out / f"snippet_{number:0{width}d}.py"
        path.write_text(block, encoding="utf-8")
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="directory for snippet_NN.py")
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md", help="Markdown file")
    args = parser.parse_args(argv)
    blocks = snippets(args.readme.read_text(encoding="utf-8"))
    write(blocks, args.out)
    print(len(blocks))
    return 0


if __name__ == "__main__":
    sys.exit(main())
