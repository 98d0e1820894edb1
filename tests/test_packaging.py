"""Packaging: one build of the sdist and the wheel (python -m build, as .ci/package runs it) from a
copy of every file git knows, shared by the tests of this module. The build prints no warning,
the wheel ships every API version and the contract suite's data, the metadata says what PyPI
shows, and the sdist is enough to regenerate generated/ and collect the whole test suite."""

from __future__ import annotations

import importlib.util
import io
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from email.parser import Parser
from pathlib import Path

import pytest
from rtc_startrecord_models import VERSIONS

from rtc_startrecord import spec

ROOT = Path(__file__).resolve().parents[1]
URL = "https://github.com/rtc-startrecord/rtc-startrecord"
# Left behind by runs, never packaged: the copy gets one of each to prove MANIFEST.in skips them.
LEFTOVERS = (
    "tests/__pycache__/test_x.cpython-311.pyc",
    "fuzz/corpus/0123abcd",
    "fuzz/artifacts/crash-0123abcd",
    "tools/api_smart_diff/node_modules/left-pad/package.json",
    "generated/rtc_startrecord_models/__pycache__/models.cpython-311.pyc",
)


def _in_git_work_tree() -> bool:
    if shutil.which("git") is None:
        return False
    done = subprocess.run(["git", "rev-parse", "--is-inside-work-tree"], cwd=ROOT,
                          capture_output=True, text=True, check=False)  # fmt: skip
    return done.returncode == 0 and done.stdout.strip() == "true"


pytestmark = pytest.mark.skipif(
    not _in_git_work_tree(), reason="builds from the files git knows: needs a git checkout"
)


def git_files() -> list[str]:
    """The files git tracks or would track (untracked but not ignored), as they are on disk."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, capture_output=True, check=True).stdout.decode()  # fmt: skip
    return sorted(
        {
            rel
            for rel in listed.split("\0")
            if rel and "node_modules/" not in rel and (ROOT / rel).is_file()
        }
    )


def build_env() -> dict[str, str]:
    # PYTHONDONTWRITEBYTECODE makes setuptools print "byte-compiling is disabled" warnings.
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


@dataclass(frozen=True)
class Build:
    source: Path  # the copy the sdist and wheel were built from
    files: list[str]  # the git files in it (leftovers excluded)
    output: str  # everything python -m build printed
    sdist: Path
    wheel: Path


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    base = tmp_path_factory.mktemp("packaging")
    source = base / "src"
    files = git_files()
    for rel in files:
        (source / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, source / rel)
    for rel in LEFTOVERS:
        (source / rel).parent.mkdir(parents=True, exist_ok=True)
        (source / rel).write_bytes(b"left behind by a run\n")
    out = base / "dist"
    done = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(source)],
                          capture_output=True, text=True, check=False, timeout=600,
                          env=build_env())  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    (sdist,) = out.glob("*.tar.gz")
    (wheel,) = out.glob("*.whl")
    return Build(source, files, output, sdist, wheel)


def wheel_names(build: Build) -> set[str]:
    with zipfile.ZipFile(build.wheel) as wheel:
        return set(wheel.namelist())


def sdist_names(build: Build) -> set[str]:
    """The sdist's files, relative to its top directory (rtc_startrecord-<version>/)."""
    with tarfile.open(build.sdist) as sdist:
        return {m.name.split("/", 1)[1] for m in sdist.getmembers() if m.isfile()}


def test_the_build_prints_no_warning(build: Build) -> None:
    warnings = [line for line in build.output.splitlines() if "warn" in line.lower()]
    assert warnings == []
    assert "Successfully built" in build.output


def test_the_wheel_ships_each_version_module_and_spec(build: Build) -> None:
    names = wheel_names(build)
    for version in spec.API_VERSIONS:
        module = VERSIONS[version]
        assert f"rtc_startrecord_models/{module}/models.py" in names
        assert f"rtc_startrecord_models/{module}/spec.json" in names
        assert f"rtc_startrecord/{module}.py" in names
    assert "rtc_startrecord/rules/__init__.py" in names and "rtc_startrecord/py.typed" in names
    assert "rtc_startrecord_models/py.typed" in names


def test_the_wheel_ships_the_contract_data_and_nothing_of_the_repository(build: Build) -> None:
    names = wheel_names(build)
    data = [
        rel.removeprefix("contract_tests/")
        for rel in build.files
        if rel.startswith("contract_tests/") and rel.endswith(".json")
    ]
    assert {d.split("/")[0] for d in data} == {"golden", "data", "documents"}
    missing = [d for d in data if f"rtc_startrecord_contract/{d}" not in names]
    assert missing == []
    # Only the three packages and the metadata: no tests/, tools/, spec/, docs/ or leftovers.
    tops = {name.split("/")[0] for name in names}
    assert tops == {
        "rtc_startrecord",
        "rtc_startrecord_models",
        "rtc_startrecord_contract",
        "rtc_startrecord-0.1.0.dist-info",
    }
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert "rtc_startrecord-0.1.0.dist-info/licenses/LICENSE" in names


def test_the_metadata_names_the_license_classifiers_and_urls(build: Build) -> None:
    with zipfile.ZipFile(build.wheel) as wheel:
        meta = Parser().parsestr(wheel.read("rtc_startrecord-0.1.0.dist-info/METADATA").decode())
        license_text = wheel.read("rtc_startrecord-0.1.0.dist-info/licenses/LICENSE").decode()
    assert meta["License-Expression"] == "Apache-2.0"
    assert meta["License"] is None  # the deprecated field is gone with the license table
    assert meta.get_all("License-File") == ["LICENSE"]
    assert "Apache License\n                           Version 2.0, January 2004" in license_text
    assert "END OF TERMS AND CONDITIONS" in license_text
    assert license_text == (ROOT / "LICENSE").read_text(encoding="utf-8")
    classifiers = set(meta.get_all("Classifier") or [])
    for wanted in ("Typing :: Typed", "Operating System :: OS Independent"):
        assert wanted in classifiers
    for minor in ("3.11", "3.12", "3.13"):
        assert f"Programming Language :: Python :: {minor}" in classifiers
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL") or [])
    assert set(urls) == {"Homepage", "Documentation", "Changelog", "Issues"}
    assert all(u.startswith(URL) for u in urls.values())
    dev = {r.split(";")[0] for r in meta.get_all("Requires-Dist") or [] if 'extra == "dev"' in r}
    assert {"build==1.6.1", "twine==7.0.0", "pyright==1.1.414"} <= dev
    assert meta["Keywords"]


def test_twine_check_strict_passes_on_both(build: Build) -> None:
    cmd = [sys.executable, "-m", "twine", "check", "--strict", str(build.wheel), str(build.sdist)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("PASSED") == 2


def test_the_sdist_holds_every_file_git_knows_and_no_leftovers(build: Build) -> None:
    names = sdist_names(build)
    # .gitignore files only matter to a checkout; everything else must be there, so a new kind
    # of file (or a new directory such as examples/) fails here until MANIFEST.in names it.
    missing = [rel for rel in build.files if rel not in names and Path(rel).name != ".gitignore"]
    assert missing == [], f"MANIFEST.in leaves these out of the sdist: {missing}"
    assert [rel for rel in LEFTOVERS if rel in names] == []
    needed = ["CHANGELOG.md", "LICENSE", "README.md", "MANIFEST.in", ".ci/run", ".ci/package"]
    needed += ["tests/data/signing-v4.json", "tools/templates/dataclass.jinja2"]
    assert [rel for rel in needed if rel not in names] == []


def test_the_unpacked_sdist_regenerates_and_collects_the_whole_suite(
    build: Build, tmp_path: Path
) -> None:
    with tarfile.open(build.sdist) as sdist:
        sdist.extractall(tmp_path, filter="data")
    (tree,) = tmp_path.iterdir()
    # The tree's own packages come first, ahead of the editable install of the repository.
    env = {**build_env(), "PYTHONPATH": os.pathsep.join([str(tree), str(tree / "generated")])}
    where = subprocess.run(
        [sys.executable, "-c", "import rtc_startrecord as a, rtc_startrecord_models as b; "
                               "print(a.__file__); print(b.__file__)"],
        cwd=tree, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert [Path(p).resolve().is_relative_to(tree.resolve()) for p in where.stdout.split()] == [
        True,
        True,
    ]
    collect = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
    regen = [sys.executable, "tools/regen.py", "--check"]

    def start(cmd: list[str]) -> subprocess.Popen[str]:
        out = subprocess.PIPE
        return subprocess.Popen(cmd, cwd=tree, env=env, stdout=out, stderr=out, text=True)

    # Both at once: each takes about 15-25 s here.
    with start(regen) as regen_proc, start(collect) as collect_proc:
        collected = "".join(collect_proc.communicate(timeout=600))
        regenerated = "".join(regen_proc.communicate(timeout=600))
    assert regen_proc.returncode == 0, regenerated[-3000:]
    assert "up to date" in regenerated
    assert collect_proc.returncode == 0, collected[-3000:]
    ids = [line for line in collected.splitlines() if "::" in line]
    modules = {i.split("::")[0] for i in ids}
    expected = {
        rel
        for rel in build.files
        if rel.startswith(("tests/", "contract_tests/"))
        and Path(rel).name.startswith("test_")
        and rel.endswith(".py")
    }
    assert expected - modules == set(), "test modules the unpacked sdist did not collect"
    assert f"{len(ids)} tests collected" in collected


# -- tools/readme_snippets.py -------------------------------------------------------------------
def _load_snippets() -> Callable[[str], list[str]]:
    found = importlib.util.spec_from_file_location(
        "readme_snippets", ROOT / "tools" / "readme_snippets.py"
    )
    assert found is not None and found.loader is not None
    module = importlib.util.module_from_spec(found)
    found.loader.exec_module(module)
    function: Callable[[str], list[str]] = module.snippets
    return function


snippets = _load_snippets()

MARKDOWN = """\
# Title

```python
import a
```

```sh
echo not python
```

- a list item:

  ```python
  def f() -> None:
      pass
  ```

~~~python title="tilde fence"
x = "```"
~~~

````python
s = '''
```
'''
````

```py
not_taken = True
```

```python
unclosed = 1
"""


def test_snippets_are_the_python_blocks_in_order() -> None:
    assert snippets(MARKDOWN) == [
        "import a\n",
        "def f() -> None:\n    pass\n",
        'x = "```"\n',
        "s = '''\n```\n'''\n",
        "unclosed = 1\n",
    ]
    assert snippets("no code here\n") == []


def test_snippets_cli_writes_numbered_files_and_prints_the_count(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(MARKDOWN, encoding="utf-8")
    out = tmp_path / "out"
    cmd = [sys.executable, str(ROOT / "tools" / "readme_snippets.py"), "--out", str(out),
           "--readme", str(readme)]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    assert done.stdout == "5\n"
    assert sorted(p.name for p in out.iterdir()) == [f"snippet_0{n}.py" for n in range(1, 6)]
    assert (out / "snippet_02.py").read_text(encoding="utf-8") == "def f() -> None:\n    pass\n"


def test_snippets_of_the_readme_compile() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = snippets(text)
    assert len(found) == sum(1 for line in io.StringIO(text) if line.startswith("```python"))
    assert found
    for number, source in enumerate(found, start=1):
        compile(source, f"README.md snippet {number}", "exec")
