"""The report opens in a real browser: plotly figures drawn (SVG), no console errors, the headline table shown.

Needs Debian's ``chromium`` (scripts/install-system-deps.sh); skipped without it. Screenshots are kept under
reports/browser-check/ for a human to look at.
"""

from __future__ import annotations

import pytest

from helpers.runfolder import PROJECT_ROOT
from helpers.runner import run_series
from tests.browser import chromium_path, render_page
from tests.test_runner import PLOT, WRITE_FORECAST, WRITE_METRICS, fake_series, quick_config

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.skipif(chromium_path() is None,
                       reason="chromium is not on PATH: run scripts/install-system-deps.sh for the browser check"),
]
SCREENSHOTS = PROJECT_ROOT / "reports" / "browser-check"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    base = tmp_path_factory.mktemp("browser")
    notebooks = fake_series(base / "notebooks", {"01_collect": ["# A figure", PLOT, WRITE_METRICS, WRITE_FORECAST]})
    return run_series(quick_config(), out_dir=base / "reports", notebooks_dir=notebooks, progress=False)


def test_index_page_draws_its_chart_and_headline_table_without_console_errors(run_dir):
    page = render_page(run_dir / "index.html", SCREENSHOTS / "index.png")
    assert page.console_errors == []
    assert page.svg_count >= 1                          # the forecast chart was drawn by plotly.js
    assert "class=\"headline\"" in page.dom and "FAKE VERDICT for FAKE" in page.dom
    assert (SCREENSHOTS / "index.png").stat().st_size > 10_000


def test_notebook_page_draws_its_plotly_figure_without_console_errors(run_dir):
    page = render_page(run_dir / "01_collect.html", SCREENSHOTS / "notebook.png")
    assert page.console_errors == []
    assert page.svg_count >= 1
    assert 'id="lab-toggle-code"' in page.dom


def test_the_check_would_see_a_console_error(tmp_path):
    broken = tmp_path / "broken.html"
    broken.write_text("<html><head></head><body><script>notDefinedAnywhere();</script></body></html>")
    assert any("notDefinedAnywhere" in e for e in render_page(broken).console_errors)
