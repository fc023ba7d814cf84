"""Open an HTML page in headless Chromium (Debian's ``chromium``): the rendered DOM, console errors, a screenshot.

Chromium logs console messages to stderr (``--enable-logging=stderr``) without their level, so the page is
opened through a copy beside it (relative links still resolve) with a small first script that tags
``console.error`` calls, uncaught exceptions and rejected promises. The network is never needed: pages are
opened from ``file://`` and background networking is off.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

ERROR_TAG = "PAGECHECK-ERROR"
_CAPTURE_ERRORS = """<script>(function () {
  var tag = "%s ";
  var original = console.error.bind(console);
  console.error = function () {
    original(tag + Array.prototype.map.call(arguments, String).join(" "));
  };
  window.addEventListener("error", function (e) {
    original(tag + "uncaught " + e.message + " at " + (e.filename || "?") + ":" + e.lineno);
  });
  window.addEventListener("unhandledrejection", function (e) { original(tag + "unhandled rejection " + e.reason); });
})();</script>""" % ERROR_TAG
_CONSOLE_LINE = re.compile(r':CONSOLE[:(]\d+\)?\]\s+"(?P<message>.*)", source: ')
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars", "--enable-logging=stderr", "--v=0")


@dataclass(frozen=True)
class PageCheck:
    """What Chromium made of a page: the DOM after scripts ran, console errors, and plotly's drawn SVGs."""

    dom: str
    console_errors: list[str]
    svg_count: int          # elements of class main-svg: one or more per drawn plotly figure


def chromium_path() -> str | None:
    """The Chromium binary on PATH, or None."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def render_page(html_path: str | Path, screenshot_path: str | Path | None = None, *,
                budget_ms: int = 8000, window_size: tuple[int, int] = (1280, 1600),
                timeout_s: float = 180.0) -> PageCheck:
    """Load ``html_path`` headless, let scripts run for ``budget_ms`` of virtual time, return a PageCheck;
    with ``screenshot_path`` also save a PNG of the first ``window_size`` pixels."""
    browser = chromium_path()
    if browser is None:
        raise FileNotFoundError("chromium is not on PATH: run scripts/install-system-deps.sh")
    html_path = Path(html_path).resolve()
    probe = html_path.with_name(f".pagecheck-{uuid.uuid4().hex[:8]}-{html_path.name}")
    probe.write_text(_with_error_capture(html_path.read_text(encoding="utf-8")), encoding="utf-8")
    try:
        with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
            common = [browser, *FLAGS, f"--user-data-dir={profile}", f"--virtual-time-budget={budget_ms}",
                      f"--window-size={window_size[0]},{window_size[1]}"]
            done = subprocess.run([*common, "--dump-dom", probe.as_uri()], capture_output=True, text=True,
                                  timeout=timeout_s, check=False)
            if done.returncode != 0:
                raise RuntimeError(f"chromium failed on {html_path} (exit {done.returncode}): {done.stderr[-2000:]}")
            if screenshot_path is not None:
                screenshot_path = Path(screenshot_path).resolve()
                screenshot_path.parent.mkdir(parents=True, exist_ok=True)
                shot = subprocess.run([*common, f"--screenshot={screenshot_path}", probe.as_uri()],
                                      capture_output=True, text=True, timeout=timeout_s, check=False)
                if shot.returncode != 0 or not screenshot_path.exists():
                    raise RuntimeError(f"chromium took no screenshot of {html_path}: {shot.stderr[-2000:]}")
    finally:
        probe.unlink(missing_ok=True)
    return PageCheck(dom=done.stdout, console_errors=console_errors(done.stderr),
                     svg_count=len(re.findall(r'class="main-svg"', done.stdout)))


def console_errors(stderr: str) -> list[str]:
    """Console messages that are errors: tagged by the capture script, or Chromium's own 'Uncaught ...'."""
    errors = []
    for match in _CONSOLE_LINE.finditer(stderr):
        message = match.group("message")
        if message.startswith(ERROR_TAG):
            errors.append(message[len(ERROR_TAG):].strip())
        elif message.startswith("Uncaught") or "Failed to load resource" in message:
            errors.append(message)
    return errors


def _with_error_capture(page: str) -> str:
    """The page with the capture script as the first thing in <head> (or at the top when there is no head)."""
    head = re.search(r"<head[^>]*>", page, flags=re.IGNORECASE)
    if head is None:
        return _CAPTURE_ERRORS + page
    return page[:head.end()] + _CAPTURE_ERRORS + page[head.end():]
