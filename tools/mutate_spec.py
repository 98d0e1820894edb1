"""Mutate one limit of the spec (or one line of a rule) in a copy of the repo; see what notices.

    .venv/bin/python tools/mutate_spec.py                  # every mutation below
    .venv/bin/python tools/mutate_spec.py --list           # their names
    .venv/bin/python tools/mutate_spec.py bitrate-max fps-max r16-tolerance
    .venv/bin/python tools/mutate_spec.py --baseline       # first check the copy passes as is
    .venv/bin/python tools/mutate_spec.py --file spec/v2023_11_01/openapi.yaml \\
        --anchor '^\\s+MaxSilenceSeconds:' --old 'maximum: 3600' --new 'maximum: 7200'

No mutation tool changes a YAML spec, and mutmut leaves module-level constants alone, so this
does it by hand: for each mutation, copy the repo to a temporary directory (never touching this
one), change one line there, run `tools/regen.py` in the copy when a spec file changed, then run
a test subset (default contract_tests/test_limits.py) with the copy first on PYTHONPATH (the
package is installed editable, pointing at the original checkout). A mutation is caught when at
least one test fails; the failing tests are listed. Exit status 1 if one survives. docs/mutation.md
says more, and how to run mutmut over rtc_startrecord/rules/.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# What a copy needs to regenerate and to run the tests (not .venv, .git, caches, fuzz corpora).
COPY = (
    "rtc_startrecord", "generated", "spec", "tools", "contract_tests", "tests", "docs",
    "pyproject.toml", "setup.py", "README.md",
)  # fmt: skip
DEFAULT_TESTS = ("contract_tests/test_limits.py",)


@dataclass(frozen=True)
class Mutation:
    name: str
    file: str  # relative to the repo
    old: str  # exact text, on one line
    new: str
    what: str
    anchor: str | None = None  # regex of the line opening the YAML block `old` must be in

    @property
    def regen(self) -> bool:
        return self.file.startswith("spec/")


MUTATIONS = (
    Mutation(
        "bitrate-max", "spec/v2020_12_01/openapi.yaml", "maximum: 10000", "maximum: 20000",
        "2020-12-01 Encode.VideoBitrate maximum 10000 -> 20000, then regenerate",
        anchor=r"^\s+VideoBitrate:\s*$",
    ),
    Mutation(
        "r16-tolerance", "rtc_startrecord/rules/layout.py",
        "if x + w > limits[0] + EPSILON:", "if x + w > limits[0] * 1.01 + EPSILON:",
        "R16: a region may pass the canvas' right edge by 1% (ratio and pixel regions)",
    ),
    Mutation(
        "fps-max", "spec/v2020_12_01/openapi.yaml", "maximum: 60", "maximum: 120",
        "2020-12-01 Encode.VideoFps maximum 60 -> 120, then regenerate",
        anchor=r"^\s+VideoFps:\s*$",
    ),
    # Beyond the three above: limits a rule module keeps in constants, which mutmut skips.
    Mutation(
        "prefix-max", "rtc_startrecord/rules/storage.py", "PREFIX_MAX = 128", "PREFIX_MAX = 129",
        "R35: the joined FileNameConfig.Prefix path may be 129 characters",
    ),
    Mutation(
        "epsilon", "rtc_startrecord/rules/_base.py", "EPSILON = 1e-9", "EPSILON = 1e-5",
        "the float tolerance of the rules grows from 1e-9 to 1e-5",
    ),
    Mutation(
        "default-canvas", "rtc_startrecord/rules/layout.py", "DEFAULT_CANVAS = (640, 480)",
        "DEFAULT_CANVAS = (1280, 720)", "R16: pixel regions without a Canvas measured on 1280x720",
    ),
    Mutation(
        "silence-max", "spec/v2023_11_01/openapi.yaml", "maximum: 3600", "maximum: 7200",
        "2023-11-01 Control.MaxSilenceSeconds maximum 3600 -> 7200, then regenerate",
        anchor=r"^\s+MaxSilenceSeconds:\s*$",
    ),
)  # fmt: skip


def log(message: str) -> None:
    print(f"mutate: {message}", flush=True)


def apply(mutation: Mutation, repo: Path) -> str:
    """Change the one line in `repo`; return it as it was and as it is now."""
    path = repo / mutation.file
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    if mutation.anchor is None:
        hits = [i for i, line in enumerate(lines) if mutation.old in line]
    else:
        start = next((i for i, ln in enumerate(lines) if re.search(mutation.anchor, ln)), None)
        if start is None:
            raise SystemExit(f"mutate: {mutation.name}: no line of {mutation.file} matches "
                             f"{mutation.anchor!r}")  # fmt: skip
        indent = len(lines[start]) - len(lines[start].lstrip())
        hits = []
        for i in range(start + 1, len(lines)):
            line = lines[i]
            if line.strip() and len(line) - len(line.lstrip()) <= indent:
                break  # the block ended
            if mutation.old in line:
                hits.append(i)
                break
    if len(hits) != 1:
        raise SystemExit(
            f"mutate: {mutation.name}: {mutation.old!r} is on {len(hits)} lines of "
            f"{mutation.file} (within the anchor's block); it must be on one"
        )
    i = hits[0]
    before = lines[i]
    lines[i] = before.replace(mutation.old, mutation.new, 1)
    path.write_text("".join(lines), encoding="utf-8")
    return f"{mutation.file}:{i + 1}: {before.strip()!r} -> {lines[i].strip()!r}"


def copy_repo(into: Path) -> Path:
    repo = into / "repo"
    repo.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", ".mypy_cache")
    for name in COPY:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, repo / name, ignore=ignore)
        elif src.exists():
            shutil.copy2(src, repo / name)
    return repo


def environment(repo: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(repo), str(repo / "generated")])
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def run(args: list[str], repo: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=repo, env=environment(repo), capture_output=True, text=True, check=False
    )


def check_imports(repo: Path) -> None:
    """The copy, not the editable install, must be what the tests import."""
    probe = run(
        [sys.executable, "-c",
         "import rtc_startrecord, rtc_startrecord_models; "
         "print(rtc_startrecord.__file__); print(rtc_startrecord_models.__file__)"],
        repo,
    )  # fmt: skip
    found = probe.stdout.split()
    if probe.returncode != 0 or len(found) != 2 or not all(f.startswith(str(repo)) for f in found):
        raise SystemExit(f"mutate: the copy does not import its own package: {probe.stdout}"
                         f"{probe.stderr}")  # fmt: skip


def failing_tests(output: str) -> list[str]:
    out = []
    for line in output.splitlines():
        if line.startswith("FAILED "):
            out.append(line[len("FAILED ") :].split(" - ", 1)[0])
    return out


def trial(mutation: Mutation | None, tests: list[str], select: str | None, keep: bool) -> bool:
    """Run the tests on a mutated copy (None: unmutated); True when the outcome is the wanted
    one (a mutation caught, a baseline green)."""
    name = mutation.name if mutation else "baseline"
    tmp = Path(tempfile.mkdtemp(prefix=f"mutate-{name}-"))
    try:
        repo = copy_repo(tmp)
        if mutation is not None:
            log(f"{name}: {mutation.what}")
            log(f"{name}: {apply(mutation, repo)}")
            if mutation.regen:
                regen = run([sys.executable, "tools/regen.py"], repo)
                if regen.returncode != 0:
                    log(f"{name}: regen failed:\n{regen.stdout}{regen.stderr}")
                    return False
        check_imports(repo)
        args = [sys.executable, "-m", "pytest", *tests, "-q", "--no-header", "-rfE",
                "-p", "no:cacheprovider", "-o", "addopts="]  # fmt: skip
        if select:
            args += ["-k", select]
        result = run(args, repo)
        summary = result.stdout.strip().splitlines()[-1:] or ["(no output)"]
        failed = failing_tests(result.stdout)
        if mutation is None:
            log(f"baseline: {summary[0]}")
            if result.returncode != 0:
                log("baseline: the unmutated copy fails:\n" + "\n".join(failed or [result.stdout]))
            return result.returncode == 0
        if result.returncode == 0:
            log(f"{name}: SURVIVED ({summary[0]})")
            return False
        if not failed:
            log(f"{name}: the test run broke without failing tests:\n{result.stdout}"
                f"{result.stderr}")  # fmt: skip
            return False
        log(f"{name}: CAUGHT by {len(failed)} test(s) ({summary[0]}):")
        for test in failed:
            print(f"    {test}", flush=True)
        return True
    finally:
        if keep:
            log(f"{name}: the copy is kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="mutations to apply (default: every one)")
    parser.add_argument("--list", action="store_true", help="list the mutations and stop")
    parser.add_argument("--baseline", action="store_true", help="run the unmutated copy first")
    parser.add_argument(
        "--tests",
        nargs="+",
        default=list(DEFAULT_TESTS),
        metavar="PATH",
        help="test files or node ids to run (default: %(default)s)",
    )
    parser.add_argument("-k", dest="select", help="pytest -k expression narrowing the tests")
    parser.add_argument("--keep", action="store_true", help="keep each temporary copy")
    parser.add_argument("--file", help="an ad-hoc mutation: the file (relative to the repo)")
    parser.add_argument("--anchor", help="ad-hoc: regex of the line opening the YAML block")
    parser.add_argument("--old", help="ad-hoc: the exact text to change, on one line")
    parser.add_argument("--new", help="ad-hoc: what it becomes")
    args = parser.parse_args(argv)
    if args.list:
        for m in MUTATIONS:
            print(f"{m.name:16} {m.what}")
        return 0
    if args.file:
        if not (args.old and args.new is not None):
            parser.error("--file needs --old and --new")
        what = f"{args.file}: {args.old!r} -> {args.new!r}"
        chosen = [Mutation("ad-hoc", args.file, args.old, args.new, what, anchor=args.anchor)]
    else:
        by_name = {m.name: m for m in MUTATIONS}
        unknown = [n for n in args.names if n not in by_name]
        if unknown:
            parser.error(f"unknown mutation(s) {unknown}; known: {sorted(by_name)}")
        chosen = [by_name[n] for n in args.names] if args.names else list(MUTATIONS)
    ok = True
    if args.baseline:
        ok = trial(None, args.tests, args.select, args.keep)
    survivors = [m.name for m in chosen if not trial(m, args.tests, args.select, args.keep)]
    if survivors:
        log(f"not caught: {', '.join(survivors)}")
    return 0 if ok and not survivors else 1


if __name__ == "__main__":
    sys.exit(main())
