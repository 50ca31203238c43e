"""Run the dashboard as a user does (``finesweep dashboard``) and drive it in Debian's headless Chromium."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from sweeps.core.net import free_loopback_port

CHROMIUM = "/usr/bin/chromium"  # Debian's package; Playwright's own browser downloads are not used
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
# Counts the drawn pixels of each canvas in a box (plotly's parallel coordinates are WebGL canvases).
CANVAS_PIXELS_JS = """box => Array.from(document.querySelectorAll(box + ' canvas')).map(canvas => {
  const copy = document.createElement('canvas');
  copy.width = canvas.width; copy.height = canvas.height;
  const context = copy.getContext('2d');
  context.drawImage(canvas, 0, 0);
  const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
  let drawn = 0;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) drawn++;
  return drawn;
})"""


@contextmanager
def running_dashboard(storage: Path, *, log_path: Path) -> Iterator[str]:
    """``finesweep dashboard STORAGE`` on a free loopback port; yields its URL and stops it afterwards."""
    port = free_loopback_port()
    with log_path.open("w") as log:
        server = subprocess.Popen([sys.executable, "-m", "sweeps", "dashboard", str(storage), "--port", str(port)],
                                  stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_until_serving(url, server=server, log_path=log_path)
            yield url
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def _wait_until_serving(url: str, *, server: subprocess.Popen, log_path: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"dashboard exited with {server.returncode}:\n{log_path.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/api/sweeps", timeout=10):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.5)
    raise AssertionError(f"dashboard not serving after {timeout} s:\n{log_path.read_text()}")


@contextmanager
def chromium_page() -> Iterator:
    """A Playwright page in headless Chromium; fails the test on any uncaught script error in the page."""
    if not shutil.which(CHROMIUM):
        pytest.skip(f"{CHROMIUM} missing: apt-get install chromium (CI installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            yield page
            assert not errors, errors
        finally:
            browser.close()


def screenshot(page, directory: Path, name: str) -> Path:
    """A full-page PNG under the session's temporary folder; its path is printed for the report."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path
