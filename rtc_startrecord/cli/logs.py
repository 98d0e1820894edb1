"""The CLI's logging: the package's log lines on stderr (``-v``: debug too), never a secret.

The library logs on the ``rtc_startrecord`` logger (the client, the transport, the credentials)
and a few children of it (``rtc_startrecord.simulator``, ``.callbacks``, ``.cli``). While a
command runs, `log_to_stderr` gives that logger a stderr handler and one `CliLogFilter`, which
hides the bodies' bucket credentials (`rtc_startrecord.redaction.Redactor`) and drops the
client's copies of the validation warnings the CLI has already printed itself.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from .io import PROG

if TYPE_CHECKING:
    from ..errors import Problem
    from ..redaction import Redactor

__all__ = ["LOGGER", "CliLogFilter", "log_to_stderr"]

LOGGER = "rtc_startrecord"


class CliLogFilter(logging.Filter):
    """Hides bucket credentials in every log record and drops warnings the CLI printed itself.

    The client logs each validation warning of a body it sends as ``ACTION: PROBLEM``; the CLI
    validates the body first and prints the same problems as ``FILE: PROBLEM``. `printed` tells
    the filter which problems were shown, and a warning saying exactly one of them again is
    dropped: what a record says decides, not how its arguments are laid out.
    """

    def __init__(self, redactor: Redactor) -> None:
        super().__init__(LOGGER)
        self.redactor = redactor
        self._printed: set[str] = set()

    def printed(self, action: str, problems: Iterable[Problem]) -> None:
        """The CLI has shown these problems of an `action` body: the client need not repeat them."""
        self._printed.update(f"{action}: {p}" for p in problems)

    def filter(self, record: logging.LogRecord) -> bool:
        if not super().filter(record):
            return False
        message = record.getMessage()
        if record.levelno == logging.WARNING and message in self._printed:
            return False
        if self.redactor.found:
            cleaned = self.redactor.text(message)
            if cleaned != message:
                record.msg, record.args = cleaned, None
        return True


@contextmanager
def log_to_stderr(verbose: int, log_filter: CliLogFilter) -> Iterator[None]:
    """Send the package's log records to stderr through `log_filter` while the block runs.

    The filter sits on the ``rtc_startrecord`` logger, so every handler sees its records
    redacted, and on the handler as well: a logger's filters do not see the records of its
    child loggers, which reach the handler by propagation.
    """
    logger = logging.getLogger(LOGGER)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(f"{PROG}: %(levelname)s: %(name)s: %(message)s"))
    handler.addFilter(log_filter)
    old_level, old_propagate = logger.level, logger.propagate
    logger.addFilter(log_filter)
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if verbose else logging.WARNING)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.removeFilter(log_filter)
        logger.setLevel(old_level)
        logger.propagate = old_propagate
