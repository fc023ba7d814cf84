"""One small plotly.js per report folder: the finance bundle of the installed plotly's exact plotly.js version,
fetched from npm with its integrity checked, able to draw every trace the series' figures use; the full bundle
when it is missing or a page needs more."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import tarfile

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from helpers import panel_plots, plotlyjs
from helpers.panel_evaluate import RandomRankings
from helpers.plotlyjs import (PARTIAL_BUNDLE, PARTIAL_BUNDLE_TRACES, PLOTLYJS_FILE, bundle_banner, bundle_traces,
                              install_partial_bundle, partial_plotlyjs, plotlyjs_version, write_plotlyjs)
from tests.test_plots import every_figure, make_prices


def figure_trace_types() -> dict[str, set[str]]:
    """Every figure function of helpers/plots.py and helpers/panel_plots.py on tiny data: name -> trace types."""
    prices = make_prices()
    figures = every_figure(prices, np.log(prices["close"]).diff().dropna())
    days = pd.bdate_range("2020-01-01", periods=30)
    daily = pd.DataFrame({"ic": np.linspace(-0.1, 0.1, 30), "model_net": 0.001, "reversal_net": -0.001}, index=days)
    rankings = RandomRankings(gross=np.full((20, 30), 0.0001), net=np.zeros((20, 30)))
    figures.update({"cumulative_ic": panel_plots.cumulative_ic(daily, split_year=2020),
                    "long_short_curves": panel_plots.long_short_curves(daily),
                    "random_ranking_histogram": panel_plots.random_ranking_histogram(rankings, 0.0002)})
    return {name: {trace.type for trace in fig.data} for name, fig in figures.items()}


def not_drawable(traces: dict[str, set[str]], bundle: set[str] | frozenset[str]) -> dict[str, set[str]]:
    return {name: types - bundle for name, types in traces.items() if types - bundle}


def fake_bundle(version: str, bundle: str = PARTIAL_BUNDLE, traces: tuple[str, ...] = ("scatter", "bar")) -> str:
    banner = f"plotly.js ({bundle} - minified) v{version}" if bundle != "full" else f"plotly.js v{version}"
    return f"/**\n* {banner}\n*/\n" + "".join(f'{{moduleType:"trace",name:"{t}"}}' for t in traces)


def test_every_trace_type_the_figures_draw_is_in_the_partial_bundle():
    traces = figure_trace_types()
    assert {"scatter", "bar", "histogram", "candlestick"} <= set().union(*traces.values())
    assert not_drawable(traces, PARTIAL_BUNDLE_TRACES) == {}


def test_the_installed_partial_bundle_registers_the_traces_its_name_promises():
    partial = partial_plotlyjs()
    if partial is None:
        pytest.skip(f"no {PARTIAL_BUNDLE} bundle installed for plotly.js {plotlyjs_version()} (make env)")
    assert bundle_banner(partial) == (PARTIAL_BUNDLE, plotlyjs_version())
    assert bundle_traces(partial) == PARTIAL_BUNDLE_TRACES
    assert not_drawable(figure_trace_types(), bundle_traces(partial)) == {}


def test_the_trace_check_sees_a_figure_the_partial_bundle_cannot_draw():
    traces = {**figure_trace_types(), "a_table": {go.Figure(go.Table()).data[0].type}}
    assert not_drawable(traces, PARTIAL_BUNDLE_TRACES) == {"a_table": {"table"}}
    assert "table" in bundle_traces(plotlyjs.full_plotlyjs())     # the full bundle reads as a trace list too


@pytest.fixture
def installed_partial(tmp_path, monkeypatch):
    """A fake finance bundle of the installed plotly.js version, where partial_plotlyjs looks."""
    path = tmp_path / "env" / f"plotly-{PARTIAL_BUNDLE}-{plotlyjs_version()}.min.js"
    monkeypatch.setattr(plotlyjs, "partial_bundle_path", lambda version=None: path)
    path.parent.mkdir()
    path.write_text(fake_bundle(plotlyjs_version()))
    return path


def test_a_report_folder_gets_the_installed_partial_bundle(installed_partial, tmp_path):
    written = write_plotlyjs(tmp_path / "run")
    assert written.read_text() == installed_partial.read_text()


def test_a_page_drawing_a_trace_the_partial_lacks_gets_the_full_bundle_and_keeps_it(installed_partial, tmp_path,
                                                                                      caplog):
    folder = tmp_path / "run"
    write_plotlyjs(folder, {"scatter"})
    with caplog.at_level(logging.WARNING, logger="helpers.plotlyjs"):
        write_plotlyjs(folder, {"scatter", "table"})
    assert bundle_banner((folder / PLOTLYJS_FILE).read_text()) == ("full", plotlyjs_version())
    assert "table" in caplog.text
    write_plotlyjs(folder, {"bar"})                                   # a later page never downgrades it
    assert bundle_banner((folder / PLOTLYJS_FILE).read_text())[0] == "full"


def test_without_the_partial_bundle_the_full_one_is_written_and_the_log_says_why(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(plotlyjs, "partial_bundle_path", lambda version=None: tmp_path / "absent.min.js")
    with caplog.at_level(logging.WARNING, logger="helpers.plotlyjs"):
        written = write_plotlyjs(tmp_path / "run")
    assert bundle_banner(written.read_text()) == ("full", plotlyjs_version())
    assert "make env" in caplog.text and "full" in caplog.text


def test_a_partial_bundle_of_another_plotly_js_version_is_not_used(installed_partial, tmp_path):
    installed_partial.write_text(fake_bundle("0.0.1"))
    assert partial_plotlyjs() is None
    assert bundle_banner(write_plotlyjs(tmp_path / "run").read_text())[0] == "full"


# ---------------------------------------------------------------------------------------------- set-up from npm


def npm_tarball(members: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, text in members.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def fake_registry(packages: dict[str, bytes], *, integrity_of: dict[str, bytes] | None = None):
    """``get(url)`` of a registry holding ``{package: tarball}`` at version 9.9.9; integrity computed from
    ``integrity_of[package]`` when given (a tampered download), else from the tarball."""
    def get(url: str) -> bytes:
        for package, tarball in packages.items():
            if url == f"{plotlyjs.NPM_REGISTRY}/{package}/9.9.9":
                signed = (integrity_of or {}).get(package, tarball)
                digest = base64.b64encode(hashlib.sha512(signed).digest()).decode()
                return json.dumps({"dist": {"tarball": f"https://npm.test/{package}.tgz",
                                            "integrity": f"sha512-{digest}"}}).encode()
            if url == f"https://npm.test/{package}.tgz":
                return tarball
        raise OSError(f"404 {url}")
    return get


@pytest.fixture
def target(tmp_path, monkeypatch):
    path = tmp_path / "env" / "plotly-finance-9.9.9.min.js"
    monkeypatch.setattr(plotlyjs, "partial_bundle_path", lambda version=None: path)
    return path


def test_install_takes_the_bundle_from_plotly_js_itself_when_no_finance_package_is_published(target):
    bundle = fake_bundle("9.9.9")
    get = fake_registry({"plotly.js": npm_tarball({"package/dist/plotly-finance.min.js": bundle,
                                                    "package/dist/plotly.min.js": fake_bundle("9.9.9", "full")})})
    assert install_partial_bundle("9.9.9", get=get) == target
    assert target.read_text() == bundle


def test_install_refuses_a_tarball_that_does_not_match_the_registry_integrity(target):
    good = npm_tarball({"package/plotly-finance.min.js": fake_bundle("9.9.9")})
    evil = npm_tarball({"package/plotly-finance.min.js": fake_bundle("9.9.9") + "stealCookies();"})
    get = fake_registry({"plotly.js-finance-dist-min": evil}, integrity_of={"plotly.js-finance-dist-min": good})
    with pytest.raises(RuntimeError, match="integrity"):
        install_partial_bundle("9.9.9", get=get)
    assert not target.exists()


def test_install_refuses_a_bundle_whose_sha256_differs_from_the_pinned_one(target, monkeypatch):
    monkeypatch.setitem(plotlyjs.PINNED_SHA256, "9.9.9", "0" * 64)
    get = fake_registry({"plotly.js-finance-dist-min": npm_tarball({"package/plotly-finance.min.js":
                                                                     fake_bundle("9.9.9")})})
    with pytest.raises(RuntimeError, match="pinned"):
        install_partial_bundle("9.9.9", get=get)
    assert not target.exists()


def test_install_refuses_a_bundle_of_another_version_or_kind(target):
    get = fake_registry({"plotly.js-finance-dist-min": npm_tarball({"package/plotly-finance.min.js":
                                                                     fake_bundle("9.9.8")})})
    with pytest.raises(RuntimeError, match="not plotly.js's finance bundle v9.9.9"):
        install_partial_bundle("9.9.9", get=get)


def test_install_offline_names_every_source_it_tried(target):
    with pytest.raises(RuntimeError, match="plotly.js-finance-dist-min@9.9.9.*plotly.js@9.9.9"):
        install_partial_bundle("9.9.9", get=fake_registry({}))
    assert not target.exists()
