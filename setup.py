"""Package discovery, the one thing pyproject.toml cannot say: the package list is derived from
the tree, so a new API version's generated package (generated/rtc_startrecord_models/<module>/)
or a new subpackage of the contract suite ships without an edit here. Everything else lives in
pyproject.toml.

Only directories with an ``__init__.py`` are packages. The contract suite's data directories
(golden/, data/gosdk/, data/limits/, documents/) are not: their files ship as package data of
``rtc_startrecord_contract`` (pyproject.toml's package-data), and ``include-package-data = false``
keeps setuptools from treating them as namespace packages, so builds print no warning. What goes
into the sdist beyond the wheel (spec, tools, tests, docs, ...) is MANIFEST.in's business."""

from setuptools import find_packages, setup


def _prefixed(prefix: str, where: str) -> list[str]:
    """``prefix`` and its subpackages found under ``where`` (mapped there by package-dir)."""
    return [prefix, *(f"{prefix}.{name}" for name in find_packages(where))]


setup(
    packages=[
        *find_packages(include=["rtc_startrecord", "rtc_startrecord.*"]),
        *find_packages("generated", include=["rtc_startrecord_models", "rtc_startrecord_models.*"]),
        *_prefixed("rtc_startrecord_contract", "contract_tests"),
    ],
)
