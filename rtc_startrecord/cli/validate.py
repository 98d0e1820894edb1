"""``validate``, and the check every sending command makes of its body first (`check_body`)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from .io import (
    EXIT_OK,
    EXIT_REJECTED,
    EXIT_USAGE,
    PROG,
    CliError,
    display_name,
    err,
    load_json,
    out,
    plural,
    problem_json,
    problem_line,
    problems_json,
)

if TYPE_CHECKING:
    from ..redaction import Redactor
    from .logs import CliLogFilter

__all__ = ["check_body", "cmd_validate", "version_hint"]


def version_hint(body: Any, action: str, version: str) -> str | None:
    """When `body` has errors as `version` but none as other versions: which to use instead."""
    from .. import spec
    from ..validation import has_errors, validate

    fits = [
        other
        for other in spec.API_VERSIONS
        if other != version and not has_errors(validate(body, action=action, version=other))
    ]
    if not fits:
        return None
    return (
        f"the body is valid {action} for API version {', '.join(fits)}, not for {version}: "
        f"did you mean --api-version {fits[-1]}?"
    )


def cmd_validate(args: argparse.Namespace) -> int:
    from ..validation import validate

    redactor: Redactor = args.redactor
    version: str = args.api_version
    found: list[dict[str, str]] = []
    errors = warnings = unreadable = 0
    for path in args.files:
        name = display_name(path)
        try:
            body = load_json(path)
        except CliError as exc:
            err(f"{PROG}: error: {exc}")
            unreadable += 1
            continue
        redactor.learn(body, version)
        problems = [redactor.problem(p) for p in validate(body, action=args.action,
                                                          version=version)]  # fmt: skip
        for p in problems:
            if p.severity == "error":
                errors += 1
            else:
                warnings += 1
            if args.json:
                found.append(problem_json(name, p))
            else:
                out(problem_line(name, p))
        if any(p.severity == "error" for p in problems):
            hint = version_hint(body, args.action, version)
            if hint:
                err(f"{name}: {hint}")
    if args.json:
        out(problems_json(version, args.action, found))
    files = len(args.files)
    unread = f", {unreadable} unreadable" if unreadable else ""
    err(f"{PROG}: checked {files} file{'s' if files != 1 else ''} as {args.action} "
        f"(API version {version}): "
        f"{plural(errors, 'error')}, {plural(warnings, 'warning')}{unread}")  # fmt: skip
    if unreadable:
        return EXIT_USAGE
    return EXIT_REJECTED if errors else EXIT_OK


def check_body(args: argparse.Namespace, name: str, body: dict[str, Any], action: str) -> None:
    """Validate before anything is built or sent: errors -> exit 1, warnings -> stderr."""
    from ..validation import validate

    redactor: Redactor = args.redactor
    log_filter: CliLogFilter = args.log_filter
    version: str = args.api_version
    found = validate(body, action=action, version=version)
    problems = [redactor.problem(p) for p in found]
    if any(p.severity == "error" for p in problems):
        if args.json:
            out(problems_json(version, action, [problem_json(name, p) for p in problems]))
        else:
            for p in problems:
                err(problem_line(name, p))
        hint = version_hint(body, action, version)
        if hint:
            err(f"{name}: {hint}")
        n = sum(p.severity == "error" for p in problems)
        raise CliError(f"{name}: {n} validation error{'s' if n != 1 else ''} for {action} "
                       f"(API version {version}); nothing sent; fix the body and run again",
                       EXIT_REJECTED)  # fmt: skip
    for p in problems:
        err(problem_line(name, p))
    log_filter.printed(action, found)  # the client warns of these too when it sends the body
