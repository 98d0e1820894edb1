"""Preview of a request body: the custom mixed-stream layout as SVG, and the file names it makes.

Both functions take a StartRecord/UpdateRecord body in its *wire* form (the API's PascalCase keys,
as parsed from JSON) and the API version it is for. They are tolerant: they never validate the
whole body (``validate`` does that) and report what stops a faithful drawing as warnings instead.

What differs by version is read from the spec, not from a list of versions:

* regions: versions whose ``Region`` has ``WidthProportion`` (2020-12-01, 2022-06-01) place them
  by ratios of the canvas; versions whose ``Region`` has ``Width`` (2023-06-01, 2023-11-01) by
  integer pixels on the canvas (:func:`region_units`);
* file names: versions with ``FileNameConfig`` (2022-06-01 and later) name files by
  ``FileNameConfig.Pattern`` and ``Prefix``; 2020-12-01 by ``RecordFileNamePattern``.
"""

from ..filenames import file_name_source
from ._body import PreviewError
from .files import EACH_USER_PLACEHOLDER, preview_file_names
from .layout import (
    DEFAULT_BACKGROUND,
    DEFAULT_CANVAS_HEIGHT,
    DEFAULT_CANVAS_WIDTH,
    region_color,
    region_units,
    render_layout_svg,
)

__all__ = [
    "DEFAULT_BACKGROUND",
    "DEFAULT_CANVAS_HEIGHT",
    "DEFAULT_CANVAS_WIDTH",
    "EACH_USER_PLACEHOLDER",
    "PreviewError",
    "file_name_source",
    "preview_file_names",
    "region_color",
    "region_units",
    "render_layout_svg",
]
