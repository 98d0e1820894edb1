"""``migrate`` (a body rewritten for another API version) and ``diff-versions`` (the change
report between two versions); `add_parsers` adds both to the command line."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .io import (
    EXIT_OK,
    EXIT_REJECTED,
    PROG,
    CliError,
    display_name,
    dump,
    err,
    load_object,
    out,
    plural,
)

if TYPE_CHECKING:
    from ..redaction import Redactor

__all__ = ["add_parsers", "cmd_diff_versions", "cmd_migrate"]


def add_parsers(sub: Any) -> None:
    """Add ``migrate`` and ``diff-versions`` to the subparsers `sub` of the main parser."""
    from ..spec import API_VERSIONS, operations

    actions = sorted(operations())
    p = sub.add_parser(
        "migrate",
        help="rewrite request bodies for another API version",
        description="Rewrite request bodies of one API version (--from) for another (--to): "
        "documented renames (Vod -> StorageConfig, RecordFileNamePattern -> "
        "FileNameConfig.Pattern, MainVideoStreamIndex -> MainVideoStream), regions converted "
        "between canvas ratios and pixels, fields without a counterpart dropped. Prints the "
        "migrated body on stdout (or writes it), one note per field that was not copied "
        "unchanged and the target version's validation problems on stderr. Storage is never "
        "invented. Without --from the version is told from the body's fields when only one "
        "fits (stderr says which).",
        epilog="Exit codes: 0 every migrated body is valid in the target version (warnings "
        "allowed), 1 problems remain, 2 usage or I/O error (or --from needed).",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="a JSON request body; - for stdin")
    p.add_argument(
        "--to",
        required=True,
        choices=API_VERSIONS,
        metavar="V",
        dest="to_version",
        help=f"the target API version: {', '.join(API_VERSIONS)}",
    )
    p.add_argument(
        "--from",
        choices=API_VERSIONS,
        metavar="V",
        dest="from_version",
        help="the bodies' API version (default: told from their fields)",
    )
    p.add_argument(
        "--action",
        choices=actions,
        default="StartRecord",
        help="the action the bodies are for (default: StartRecord)",
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        help="write the migrated body to OUT (one FILE only); - for stdout",
    )
    where.add_argument(
        "--in-place", action="store_true", help="overwrite each FILE with its migrated body"
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="print {action, source, target, file, body, notes, problems} per FILE "
        "instead of the bare body (a list when several)",
    )
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser(
        "diff-versions",
        help="what changed between two API versions",
        description="The change report between API versions A and B, from their specs, one "
        "action at a time: fields added, removed, renamed (where documented), type, range, "
        "enum and required changes of requests and responses, each rated breaking or not for "
        "an existing caller.",
        epilog="Exit codes: 0 reported (with --breaking-only: nothing breaking), 1 "
        "--breaking-only found breaking changes, 2 usage error.",
    )
    p.add_argument("a", choices=API_VERSIONS, metavar="A", help="the version moved from")
    p.add_argument("b", choices=API_VERSIONS, metavar="B", help="the version moved to")
    p.add_argument("--action", choices=actions, help="only this action (default: every one)")
    p.add_argument("--json", action="store_true", help="print the changes as a JSON list")
    p.add_argument(
        "--breaking-only",
        action="store_true",
        help="only breaking changes; exit 1 when there are any",
    )
    p.set_defaults(func=cmd_diff_versions)


def _source(args: argparse.Namespace, name: str, body: dict[str, Any]) -> str:
    from ..migration import candidate_versions, migrate

    if args.from_version:
        return str(args.from_version)
    found = candidate_versions(body, args.action)
    if len(found) > 1:
        results = {
            json.dumps(
                migrate(body, action=args.action, source=v, target=args.to_version).body,
                sort_keys=True,
            )
            for v in found
        }
        if len(results) == 1:
            err(
                f"{name}: fits API versions {', '.join(found)}, which migrate alike; "
                f"taking --from {found[0]}"
            )
            return found[0]
        raise CliError(
            f"{name}: the fields fit API versions {', '.join(found)}; say which with --from"
        )
    if not found:
        raise CliError(
            f"{name}: no API version has all of the body's fields; say which it is with --from"
        )
    err(f"{name}: detected --from {found[0]} from the body's fields")
    return found[0]


def cmd_migrate(args: argparse.Namespace) -> int:
    from ..migration import migrate

    redactor: Redactor = args.redactor
    if args.output and len(args.files) > 1:
        raise CliError("-o/--output takes one FILE; use --in-place for several")
    if args.in_place and "-" in args.files:
        raise CliError("--in-place cannot rewrite stdin")
    reports: list[dict[str, Any]] = []
    remaining = 0
    for path in args.files:
        name = display_name(path)
        body = load_object(path)
        source = _source(args, name, body)
        redactor.learn(body, source)
        result = migrate(body, action=args.action, source=source, target=args.to_version)
        redactor.learn(result.body, args.to_version)
        for note in result.notes:
            err(f"{name}: note: {redactor.text(str(note))}")
        for p in result.problems:
            err(f"{name}: {redactor.problem(p)}")
        if not result.ok:
            remaining += 1
        errors = sum(p.severity == "error" for p in result.problems)
        err(
            f"{PROG}: {name}: {args.action} {source} -> {args.to_version}: "
            f"{plural(len(result.notes), 'note')}, {plural(errors, 'error')} left"
        )
        if args.json:
            report = {**result.to_json(), "file": name}
            report["notes"] = [
                {**n, "message": redactor.text(n["message"])} for n in report["notes"]
            ]
            report["problems"] = [
                {**q, "message": redactor.text(q["message"])} for q in report["problems"]
            ]
            reports.append(redactor.data(report))
        if args.in_place or (args.output and args.output != "-"):
            # A written file keeps its secrets: it is the user's own body, like the input.
            target = Path(path if args.in_place else args.output)
            try:
                target.write_text(dump(result.body) + "\n", encoding="utf-8")
            except OSError as exc:
                raise CliError(f"{target}: cannot write: {exc.strerror or exc}") from None
        elif not args.json:
            out(redactor.json(result.body))
    if args.json:
        out(redactor.json(reports[0] if len(reports) == 1 else reports))
    return EXIT_REJECTED if remaining else EXIT_OK


def cmd_diff_versions(args: argparse.Namespace) -> int:
    from ..migration import diff_versions

    changes = diff_versions(args.a, args.b, action=args.action, breaking_only=args.breaking_only)
    if args.json:
        out(dump([c.to_json() for c in changes]))
    else:
        for c in changes:
            out(str(c))
    breaking = sum(c.breaking for c in changes)
    err(f"{PROG}: {args.a} -> {args.b}: {plural(len(changes), 'change')}, {breaking} breaking")
    return EXIT_REJECTED if args.breaking_only and breaking else EXIT_OK
