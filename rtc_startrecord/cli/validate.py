"""``validate``, and the check every sending command makes of its body first (`check_body`)."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from .io import (
    EXIT_OK,
    EXIT_REJECTED,
    EXIT_USAGE,
    PROG,
    CliError,
    display_name,
    dump,
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

__all__ = ["check_body", "cmd_validate", "infer_action", "version_hint"]


def infer_action(body: Any, version: str) -> tuple[str | None, list[str]]:
    """Which action a body is for, told from its keys: ``(action, [])`` when one action fits,
    ``(None, candidates)`` when several do (give ``--action``).

    An action fits when its request takes every key of the body; of several, those whose
    required keys are all there; with no fit at all (a misspelt key), the action taking the most
    of the keys, so that the stray key is reported. A body that is not an object fits none:
    ``(None, [])``, and validating it as any action says so.
    """
    from .. import spec

    if not isinstance(body, dict):
        return None, []
    schemas = spec.bundle(version)["components"]["schemas"]
    shapes = {
        action: schemas[op.request] for action, op in sorted(spec.operations(version).items())
    }
    keys = set(body)

    def props(action: str) -> set[str]:
        return set(shapes[action].get("properties", {}))

    fits = [a for a in shapes if keys <= props(a)]
    if not fits:
        best = max(len(keys & props(a)) for a in shapes)
        fits = [a for a in shapes if len(keys & props(a)) == best]
    if len(fits) > 1:
        complete = [a for a in fits if set(shapes[a].get("required", [])) <= keys]
        fits = complete or fits
    return (fits[0], []) if len(fits) == 1 else (None, fits)


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
    actions: dict[str, str | None] = {}
    errors = warnings = unreadable = undecided = 0
    for path in args.files:
        name = display_name(path)
        try:
            body = load_json(path)
        except CliError as exc:
            err(f"{PROG}: error: {exc}")
            unreadable += 1
            continue
        action: str | None = args.action
        if action is None:
            action, candidates = infer_action(body, version)
            if action is None and candidates:
                err(f"{PROG}: error: {name}: cannot tell which action this body is for: its "
                    f"keys fit {', '.join(candidates)} (API version {version}); "
                    "give --action")  # fmt: skip
                undecided += 1
                continue
        actions[name] = action
        redactor.learn(body, version)
        # A body that is not an object is refused alike by every action: "must be an object".
        problems = [redactor.problem(p) for p in validate(body, action=action or "StartRecord",
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
        if action is not None and any(p.severity == "error" for p in problems):
            hint = version_hint(body, action, version)
            if hint:
                err(f"{name}: {hint}")
    named = sorted({a for a in actions.values() if a is not None})
    common = args.action or (named[0] if len(named) == 1 else None)
    if args.json:
        report = json.loads(problems_json(version, common or "", found))
        report["action"] = common
        report["actions"] = actions
        out(dump(report))
    files = len(args.files)
    unread = f", {unreadable} unreadable" if unreadable else ""
    unread += f", {undecided} of no telling action (give --action)" if undecided else ""
    told = "" if args.action else " (told from the keys)"
    as_what = f"as {', '.join(named)}{told} " if named else ""
    err(f"{PROG}: checked {plural(files, 'file')} {as_what}(API version {version}): "
        f"{plural(errors, 'error')}, {plural(warnings, 'warning')}{unread}")  # fmt: skip
    if unreadable or undecided:
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
