"""A real headless Chromium, driven by Selenium, for the docs-site test.

Debian's `chromium` and `chromium-driver` packages are installed by
scripts/ensure-chromium.sh when missing (root with apt-get); Selenium is given
both paths, so it never tries to download a browser or a driver.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from retail_rfm.dbt_project import PROJECT_DIR

# Flags for a container without a display, GPU, sandbox or network beyond
# the local docs server.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1600,1000",
)


def ensure_chromium() -> tuple[Path, Path]:
    """The chromium and chromedriver executables, installed when missing."""
    subprocess.run(
        ["bash", str(PROJECT_DIR / "scripts" / "ensure-chromium.sh")], check=True
    )
    browser = shutil.which("chromium")
    driver = shutil.which("chromedriver")
    if browser is None or driver is None:
        raise RuntimeError("chromium or chromedriver is still not on PATH")
    return Path(browser), Path(driver)


@contextmanager
def headless_chromium() -> Iterator[object]:
    """A Selenium WebDriver on a fresh profile, quit on exit."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser, driver_path = ensure_chromium()
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = str(browser)
        for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
            options.add_argument(flag)
        driver = webdriver.Chrome(
            service=Service(executable_path=str(driver_path)), options=options
        )
        try:
            yield driver
        finally:
            driver.quit()
