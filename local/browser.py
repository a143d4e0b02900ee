"""Headless Chromium (Debian's package, scripts/install-test-tools.sh) to render pages as a person would see them."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

# Background networking, component updates and sync all try to reach Google: the network is closed here.
HEADLESS_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    # Lets the page finish layout and fonts before the DOM or pixels are taken.
    "--virtual-time-budget=2000",
]


class ChromiumMissing(RuntimeError):
    pass


def chromium_binary() -> str:
    binary = shutil.which("chromium")
    if binary is None:
        raise ChromiumMissing("chromium is not installed: run scripts/install-test-tools.sh")
    return binary


def dump_dom(page: Path | str, timeout: float = 60) -> str:
    """The DOM of a file or URL after rendering, serialised as HTML."""
    return _run(["--dump-dom", _url(page)], timeout).stdout


def screenshot(page: Path | str, png_path: Path, width: int = 1280, height: int = 2000, timeout: float = 60) -> Path:
    """A PNG of the top width × height pixels of a file or URL."""
    _run([f"--screenshot={png_path}", f"--window-size={width},{height}", _url(page)], timeout)
    if not png_path.is_file():
        raise RuntimeError(f"chromium wrote no screenshot to {png_path}")
    return png_path


def _url(page: Path | str) -> str:
    return page.resolve().as_uri() if isinstance(page, Path) else page


def _run(arguments: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="c360-chromium-") as profile:
        command = [chromium_binary(), *HEADLESS_FLAGS, f"--user-data-dir={profile}", *arguments]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"chromium exited {result.returncode}: {result.stderr[-2000:]}")
    return result
