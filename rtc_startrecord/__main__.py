"""``python -m rtc_startrecord``: the command line (see `rtc_startrecord.cli`)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
