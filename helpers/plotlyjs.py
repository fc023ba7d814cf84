"""plotly.js once per report folder: the file beside the pages, the tag that loads it, and the renderer that
leaves it out of notebook outputs.

plotly's own "notebook" renderer inlines plotly.js (about 4.8 MB) into the first figure output of every
notebook, so each executed ``.ipynb`` and each exported page carried its own copy. Here a run folder holds one
``plotly.min.js`` and every page loads it by relative path. That file is plotly.js's *finance* partial bundle
(scatter, bar, histogram, candlestick, ...: every trace the series draws, 1.3 MB) of exactly the plotly.js
version the installed plotly package ships, when ``make env`` has installed it (``install_partial_bundle``,
fetched from the npm registry and checked against its integrity hash); otherwise, or when a page draws a trace
the partial bundle lacks, the full 4.8 MB bundle from the plotly package, with a log line saying so. In the kernels the runner starts, the ``lstm_lab_report`` renderer stores each figure
as plotly's own JSON mimetype (JupyterLab and VS Code draw it natively when the executed notebook is opened);
the HTML export gives each such output a ``<div>`` plus a ``Plotly.newPlot`` call, without the library and
without MathJax's CDN script. A run folder then opens offline, from a zip, on another machine (plotly's
``write_html(include_plotlyjs="directory")`` does the same for single figures).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import os
import re
import sys
import tarfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from helpers.atomic import atomic_write_bytes, atomic_write_text

log = logging.getLogger(__name__)

PLOTLYJS_FILE = "plotly.min.js"
PARTIAL_BUNDLE = "finance"
# The traces plotly.js registers in that bundle (its lib/index-finance.js, plus scatter from the core). Every
# figure of helpers/plots.py and helpers/panel_plots.py must stay within it (tests/test_plotlyjs_bundle.py).
PARTIAL_BUNDLE_TRACES = frozenset({"scatter", "bar", "histogram", "candlestick", "ohlc", "pie", "funnel",
                                   "funnelarea", "waterfall", "indicator"})
NPM_REGISTRY = "https://registry.npmjs.org"
# Where each npm package keeps the finance bundle. plotly.js-finance-dist-min holds it alone (0.4 MB tarball);
# plotly.js itself carries every bundle in dist/ (22 MB tarball), the fallback for versions whose
# finance-dist-min package the registry does not have (4.1.1 on the registry this project was built against).
NPM_SOURCES = (("plotly.js-finance-dist-min", "package/plotly-finance.min.js"),
               ("plotly.js", "package/dist/plotly-finance.min.js"))
# sha256 of the finance bundle per plotly.js version, checked by hand (npm's tarball integrity is checked for
# every version; a version listed here must also match this). 4.1.1: plotly.js@4.1.1 dist/, whose full
# dist/plotly.min.js is byte-identical to the one in the plotly 7.1.0 Python package.
PINNED_SHA256 = {"4.1.1": "096c11cab5e43022f15a05a3e3d6d60d3e8bb5b73bdc82c506fa81b3fb59a86b"}
_BANNER = re.compile(r"plotly\.js (?:\((?P<bundle>[a-z0-9-]+) - minified\) )?v(?P<version>\d+\.\d+\.\d+)")
_TRACE_MODULE = re.compile(r'moduleType:"trace",name:"(?P<name>[a-z0-9]+)"')
RENDERER_NAME = "lstm_lab_report"
# The kernel environment variable naming the renderer start_notebook sets (plotly itself reads PLOTLY_RENDERER
# at import and refuses a name it does not know yet, so ours has its own variable).
RENDERER_ENV = "LSTM_LAB_RENDERER"
PLOTLY_MIMETYPE = "application/vnd.plotly.v1+json"
INTERACTIVE_RENDERER = "notebook"    # JupyterLab sessions: figures carry plotly.js, no file beside them needed


def full_plotlyjs() -> str:
    """The full minified plotly.js bundled with the installed plotly package (the version its figures expect)."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def plotlyjs_version() -> str:
    """The plotly.js version the installed plotly package ships and writes figures for, e.g. ``4.1.1``."""
    from plotly.offline import get_plotlyjs_version

    return get_plotlyjs_version()


def bundle_banner(source: str) -> tuple[str, str] | None:
    """``(bundle, version)`` from a plotly.js file's licence banner: ``("full", "4.1.1")``,
    ``("finance", "4.1.1")``; None when the text is not plotly.js."""
    match = _BANNER.search(source[:500])
    return None if match is None else (match.group("bundle") or "full", match.group("version"))


def carries_plotlyjs(text: str) -> bool:
    """Whether a file or page holds a copy of plotly.js (any bundle: its licence banner)."""
    return _BANNER.search(text) is not None


def bundle_traces(source: str) -> set[str]:
    """The trace types a plotly.js bundle registers (read from its trace modules)."""
    return {m.group("name") for m in _TRACE_MODULE.finditer(source)}


def partial_bundle_path(version: str | None = None) -> Path:
    """Where ``install_partial_bundle`` keeps the finance bundle: inside the environment (``sys.prefix``), next
    to the plotly package whose version it matches."""
    version = version or plotlyjs_version()
    return Path(sys.prefix) / "share" / "lstm-stock-lab" / f"plotly-{PARTIAL_BUNDLE}-{version}.min.js"


def partial_plotlyjs() -> str | None:
    """The installed finance bundle of the plotly package's exact plotly.js version, or None."""
    version = plotlyjs_version()
    path = partial_bundle_path(version)
    if not path.is_file():
        return None
    source = path.read_text(encoding="utf-8")
    return source if bundle_banner(source) == (PARTIAL_BUNDLE, version) else None


def plotlyjs_source(trace_types: Iterable[str] = ()) -> str:
    """The plotly.js a report folder gets: the finance bundle when installed and it registers every one of
    ``trace_types``, else the full bundle (logged: the folder is then 3.5 MB larger)."""
    partial = partial_plotlyjs()
    if partial is None:
        log.warning("plotly.js %s bundle not installed at %s (make env installs it): writing the full 4.8 MB "
                    "plotly.min.js", PARTIAL_BUNDLE, partial_bundle_path())
        return full_plotlyjs()
    missing = set(trace_types) - bundle_traces(partial)
    if missing:
        log.warning("figures draw %s, not in plotly.js's %s bundle: writing the full plotly.min.js",
                    ", ".join(sorted(missing)), PARTIAL_BUNDLE)
        return full_plotlyjs()
    return partial


def write_plotlyjs(folder: str | os.PathLike, trace_types: Iterable[str] = ()) -> Path:
    """Write ``folder/plotly.min.js`` able to draw ``trace_types`` (plus the series' own), unless the file there
    already can; return its path. A full bundle already there is never replaced by a partial one."""
    path = Path(folder) / PLOTLYJS_FILE
    trace_types = set(trace_types)
    if path.is_file():
        present = path.read_text(encoding="utf-8")
        banner = bundle_banner(present)
        if banner is not None and banner[1] == plotlyjs_version() and trace_types <= bundle_traces(present):
            return path
    return atomic_write_text(path, plotlyjs_source(trace_types))


def figure_trace_types(nb: Any) -> set[str]:
    """The trace types of every figure stored as plotly JSON in a notebook's outputs."""
    return {trace.get("type", "scatter") for cell in nb.cells for out in cell.get("outputs", [])
            for trace in out.get("data", {}).get(PLOTLY_MIMETYPE, {}).get("data", [])}


# ---------------------------------------------------------------------------------------------- set-up


def install_partial_bundle(version: str | None = None, *,
                           get: Callable[[str], bytes] | None = None) -> Path:
    """Fetch plotly.js's finance bundle of exactly ``version`` (default: the installed plotly package's) from
    the npm registry into ``partial_bundle_path`` (``make env`` calls this through scripts/fetch_plotlyjs.py).

    Each npm tarball is checked against the sha512 ``integrity`` the registry publishes for it, the bundle
    against ``PINNED_SHA256`` for versions listed there, its banner against ``version``. Raises
    ``RuntimeError`` naming what failed; nothing is written then. ``get(url) -> bytes`` is the HTTP client.
    """
    version = version or plotlyjs_version()
    get = get or _http_get
    target = partial_bundle_path(version)
    if target.is_file() and bundle_banner(target.read_text(encoding="utf-8")) == (PARTIAL_BUNDLE, version):
        return target
    tried = []
    for package, member in NPM_SOURCES:
        try:
            meta = json.loads(get(f"{NPM_REGISTRY}/{package}/{version}"))
            dist = meta["dist"]
        except Exception as exc:   # not published (404), offline, or not JSON: try the next source
            tried.append(f"{package}@{version}: {exc}")
            continue
        tarball = get(dist["tarball"])
        algorithm, _, expected = dist["integrity"].partition("-")
        if algorithm != "sha512" or base64.b64encode(hashlib.sha512(tarball).digest()).decode() != expected:
            raise RuntimeError(f"{dist['tarball']} does not match the registry's integrity {dist['integrity']}")
        with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
            try:
                source = archive.extractfile(member).read()
            except (KeyError, AttributeError):
                raise RuntimeError(f"{dist['tarball']} holds no {member}") from None
        digest = hashlib.sha256(source).hexdigest()
        if version in PINNED_SHA256 and digest != PINNED_SHA256[version]:
            raise RuntimeError(f"{member} of {package}@{version} has sha256 {digest}, pinned "
                               f"{PINNED_SHA256[version]}")
        if bundle_banner(source.decode("utf-8")) != (PARTIAL_BUNDLE, version):
            raise RuntimeError(f"{member} of {package}@{version} is not plotly.js's {PARTIAL_BUNDLE} bundle "
                               f"v{version}")
        return atomic_write_bytes(target, source)
    raise RuntimeError(f"no {PARTIAL_BUNDLE} bundle of plotly.js {version} on {NPM_REGISTRY}: " + "; ".join(tried))


def _http_get(url: str) -> bytes:
    import requests

    response = requests.get(url, timeout=60)
    response.raise_for_status()
    return response.content


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
