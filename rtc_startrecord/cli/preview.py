"""``preview``: draw a body's custom layout as SVG (and, with ``--names``, its file names)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from .io import (
    EXIT_OK,
    EXIT_REJECTED,
    PROG,
    CliError,
    display_name,
    err,
    load_object,
    out,
    problem_line,
)
from .validate import version_hint

if TYPE_CHECKING:
    from ..redaction import Redactor

__all__ = ["cmd_preview"]


def cmd_preview(args: argparse.Namespace) -> int:
    from ..preview import PreviewError, preview_file_names, region_units, render_layout_svg
    from ..validation import validate

    redactor: Redactor = args.redactor
    version: str = args.api_version
    name = display_name(args.file)
    body = load_object(args.file)
    redactor.learn(body, version)
    problems = [redactor.problem(p) for p in validate(body, action=args.action, version=version)]
    for p in problems:
        err(problem_line(name, p))
    errors = sum(p.severity == "error" for p in problems)
    if errors:
        hint = version_hint(body, args.action, version)
        if hint:
            err(f"{name}: {hint}")
    try:
        svg, warnings = render_layout_svg(body, version=version)
    except PreviewError as exc:
        raise CliError(
            f"{name}: cannot preview: {redactor.text(str(exc))}", EXIT_REJECTED
        ) from None
    for w in warnings:
        err(f"{name}: preview warning: {redactor.text(w)}")
    if args.output == "-":
        sys.stdout.write(svg)
        sys.stdout.flush()
    else:
        try:
            Path(args.output).write_text(svg, encoding="utf-8")
        except OSError as exc:
            raise CliError(f"{args.output}: cannot write: {exc.strerror or exc}; choose another "
                           "-o path, or - for stdout") from None  # fmt: skip
        err(f"{PROG}: wrote {args.output} (API version {version}, regions in "
            f"{region_units(version)})")  # fmt: skip
    if args.names:
        now_ms = int(time.time() * 1000)
        try:
            names = preview_file_names(body, start_time_ms=now_ms, version=version)
        except (PreviewError, ValueError) as exc:
            raise CliError(f"{name}: cannot preview file names: {redactor.text(str(exc))}",
                           EXIT_REJECTED) from None  # fmt: skip
        for file_name in names:
            (err if args.output == "-" else out)(redactor.text(file_name))
    if errors:
        err(f"{PROG}: {name}: {errors} validation error{'s' if errors != 1 else ''} "
            f"(API version {version}; the preview shows what was asked, not what the service "
            "would do)")  # fmt: skip
        return EXIT_REJECTED
    return EXIT_OK
