"""plotly.js once per report folder: the file beside the pages, the tag that loads it, and the renderer that
leaves it out of notebook outputs.

plotly's own "notebook" renderer inlines plotly.js (about 4.8 MB) into the first figure output of every
notebook, so each executed ``.ipynb`` and each exported page carried its own copy. Here a run folder holds one
``plotly.min.js`` (copied from the installed plotly package, so it matches the figures' JSON) and every page
loads it by relative path. In the kernels the runner starts, the ``lstm_lab_report`` renderer stores each figure
as plotly's own JSON mimetype (JupyterLab and VS Code draw it natively when the executed notebook is opened);
the HTML export gives each such output a ``<div>`` plus a ``Plotly.newPlot`` call, without the library and
without MathJax's CDN script. A run folder then opens offline, from a zip, on another machine (plotly's
``write_html(include_plotlyjs="directory")`` does the same for single figures).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from helpers.atomic import atomic_write_text

PLOTLYJS_FILE = "plotly.min.js"
RENDERER_NAME = "lstm_lab_report"
# The kernel environment variable naming the renderer start_notebook sets (plotly itself reads PLOTLY_RENDERER
# at import and refuses a name it does not know yet, so ours has its own variable).
RENDERER_ENV = "LSTM_LAB_RENDERER"
PLOTLY_MIMETYPE = "application/vnd.plotly.v1+json"
INTERACTIVE_RENDERER = "notebook"    # JupyterLab sessions: figures carry plotly.js, no file beside them needed


def plotlyjs_source() -> str:
    """The minified plotly.js bundled with the installed plotly package (the version its figures expect)."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def write_plotlyjs(folder: str | os.PathLike) -> Path:
    """Write ``folder/plotly.min.js`` unless an identical copy is there; return its path."""
    path = Path(folder) / PLOTLYJS_FILE
    source = plotlyjs_source()
    if path.is_file() and path.stat().st_size == len(source.encode("utf-8")):
        return path
    return atomic_write_text(path, source)


def script_tag(href: str = PLOTLYJS_FILE) -> str:
    """The ``<script>`` that loads plotly.js by relative path; it must come before any figure's script."""
    return f'<script src="{href}" charset="utf-8"></script>'


def figure_html(figure: Any, **to_html_kwargs: Any) -> str:
    """A figure as a ``<div>`` and its ``Plotly.newPlot`` call, without plotly.js or MathJax (page loads them),
    daily dates written as ``YYYY-MM-DD``."""
    import plotly.io as pio

    fig_dict = figure.to_dict() if hasattr(figure, "to_dict") else dict(figure)
    fig_dict["data"] = [compact_dates(trace) for trace in fig_dict.get("data", [])]
    options = {"full_html": False, "default_width": "100%", "default_height": 525, "validate": False,
               **to_html_kwargs, "include_plotlyjs": False, "include_mathjax": False}
    return pio.to_html(fig_dict, **options)


def compact_dates(trace: dict) -> dict:
    """The trace with arrays of midnight timestamps as ``YYYY-MM-DD`` strings.

    plotly serialises datetime64 as ``2024-01-02T00:00:00.000000``; daily series repeat such an axis in every
    trace, and in a long candlestick chart the dates outweigh the prices. plotly.js reads both forms alike.
    """
    import numpy as np
    import pandas as pd

    out = dict(trace)
    for key, value in trace.items():
        if isinstance(value, (pd.DatetimeIndex, pd.Series)) and pd.api.types.is_datetime64_any_dtype(value):
            value = value.to_numpy()
        if isinstance(value, np.ndarray) and np.issubdtype(value.dtype, np.datetime64) and value.size:
            days = value.astype("datetime64[D]")
            if np.array_equal(days.astype(value.dtype), value, equal_nan=True):
                out[key] = np.datetime_as_string(days, unit="D").astype(object)
    return out


def draws_plotly(html: str) -> bool:
    """Whether a page or output calls plotly.js (and so needs the script tag)."""
    return "Plotly.newPlot" in html


def add_figure_html(nb: Any) -> int:
    """Give every output holding a figure as plotly JSON a text/html form too (nbconvert's HTML export renders
    only that), in place; return how many. The page must load plotly.js (``script_tag``)."""
    added = 0
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if PLOTLY_MIMETYPE in data and "text/html" not in data:
                data["text/html"] = figure_html(dict(data[PLOTLY_MIMETYPE]))
                added += 1
    return added


def register_renderer() -> str:
    """Register the ``lstm_lab_report`` renderer with plotly (idempotent); return its name."""
    import plotly.io as pio
    from plotly.io._base_renderers import MimetypeRenderer

    class ReportRenderer(MimetypeRenderer):
        """Figures as plotly's JSON mimetype, daily dates short, no plotly.js: pages load plotly.min.js once."""

        def to_mimebundle(self, fig_dict: dict) -> dict:
            fig_dict = {**fig_dict, "data": [compact_dates(t) for t in fig_dict.get("data", [])]}
            return {PLOTLY_MIMETYPE: json.loads(pio.to_json(fig_dict, validate=False, remove_uids=False))}

    if RENDERER_NAME not in pio.renderers:
        pio.renderers[RENDERER_NAME] = ReportRenderer()
    return RENDERER_NAME
