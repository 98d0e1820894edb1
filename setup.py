"""Package discovery, the one thing pyproject.toml cannot say: the package list is derived from
the tree, so a new API version's generated package (generated/rtc_startrecord_models/<module>/)
ships without an edit here. Everything else lives in pyproject.toml."""

from setuptools import find_packages, setup

setup(
    packages=[
        *find_packages(include=["rtc_startrecord", "rtc_startrecord.*"]),
        *find_packages("generated", include=["rtc_startrecord_models", "rtc_startrecord_models.*"]),
        "rtc_startrecord_contract",
    ],
)
