"""The models of the default API version (2020-12-01), re-exported from the generated package.

Users import models from `rtc_startrecord` (or this module), never from the generated package.
A later API version gets a module of its own beside this one.
"""

from rtc_startrecord_models.v2020_12_01 import *  # noqa: F403
from rtc_startrecord_models.v2020_12_01 import __all__ as __all__
