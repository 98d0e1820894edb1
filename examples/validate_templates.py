"""CI check of a folder of request templates: every *.json must be a valid request.

    python examples/validate_templates.py examples/templates --api-version 2023-11-01

A template's action is the start of its file name (`StopRecord.nightly.json`). Prints every
problem and exits 1 when any template has errors (warnings pass), so a CI step fails on a broken
template before anything is deployed.
The one-line alternative: `rtc-startrecord validate --api-version V templates/*.json`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import rtc_startrecord as rs
from rtc_startrecord import spec


def check(path: Path, version: str) -> int:
    """Print the problems of one template; the number of errors."""
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"{path}: cannot read: {exc}")
        return 1
    action = path.name.split(".")[0]
    if action not in spec.operations(version):
        known = ", ".join(sorted(spec.operations(version)))
        print(f"{path}: name the file <Action>.<name>.json, the action one of {known}")
        return 1
    problems = rs.validate(body, action=action, version=version)
    for p in problems:
        print(f"{path}: {p}")
    return sum(p.severity == "error" for p in problems)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--api-version", default="2023-11-01", choices=rs.API_VERSIONS)
    args = parser.parse_args()
    templates = sorted(args.folder.glob("*.json"))
    if not templates:
        print(f"{args.folder}: no *.json templates")
        return 2
    errors = sum(check(path, args.api_version) for path in templates)
    print(f"{len(templates)} template(s), {errors} error(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
