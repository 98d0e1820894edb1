"""Print docs/rules.md: `python -m rtc_startrecord.rules > docs/rules.md`."""

from . import markdown

print(markdown(), end="")
