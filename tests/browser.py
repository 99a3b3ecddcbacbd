"""A real Chromium for the admin's pages: Debian's ``chromium`` and
``chromium-driver`` driven headless through Selenium, against pytest-django's
``live_server`` (a threaded server of this process, static files included).

Outside CI a machine without them skips the browser tests; with
``EVENTLOG_CI=1`` they fail instead. ``EVENTLOG_SCREENSHOTS=DIR`` keeps every
page's screenshot there (to look at them); otherwise they go to the test's
temporary directory.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import missing

CHROMIUM = ("chromium", "chromium-browser")
WAIT = 30.0
# Flags of a headless Chromium as root on a closed network: without the
# background-networking ones it keeps trying (and failing) to reach Google.
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1000",
)


def _binaries() -> tuple[str, str]:
    browser = next((found for name in CHROMIUM if (found := shutil.which(name))), None)
    driver = shutil.which("chromedriver")
    if browser is None or driver is None:
        missing("no chromium and chromedriver on PATH (Debian: chromium chromium-driver)")
    return browser, driver


class Browser:
    """One Chromium with the few verbs the tests need."""

    def __init__(self, driver: Any, base: str, shots: Path) -> None:
        self.driver = driver
        self.base = base
        self.shots = shots

    def get(self, path: str) -> None:
        self.driver.get(self.base + path)

    def find(self, css: str) -> Any:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec
        from selenium.webdriver.support.ui import WebDriverWait

        return WebDriverWait(self.driver, WAIT).until(
            ec.presence_of_element_located((By.CSS_SELECTOR, css))
        )

    def find_all(self, css: str) -> list[Any]:
        from selenium.webdriver.common.by import By

        return list(self.driver.find_elements(By.CSS_SELECTOR, css))

    def follow(self, element: Any) -> None:
        """Click ``element`` and wait until the page it leads to has replaced
        this one (finding an element right after a click can find it on the
        page being left)."""
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait

        old = self.driver.find_element(By.TAG_NAME, "html")
        element.click()
        wait = WebDriverWait(self.driver, WAIT)
        wait.until(lambda _driver: _left(old))
        # And loaded: an element found in a page still being parsed can be
        # gone from the document by the time it is clicked.
        wait.until(lambda d: d.execute_script("return document.readyState") == "complete")

    def text(self, css: str = "body") -> str:
        return str(self.find(css).text)

    def login(self, username: str, password: str) -> None:
        self.get("/admin/login/?next=/admin/")
        self.find("#id_username").send_keys(username)
        self.find("#id_password").send_keys(password)
        self.follow(self.find("input[type=submit], button[type=submit]"))
        self.find("#user-tools")

    def dark(self, on: bool = True) -> None:
        """Make the page prefer a dark colour scheme, as a dark desktop does."""
        features = [{"name": "prefers-color-scheme", "value": "dark" if on else "light"}]
        self.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": features})

    def screenshot(self, name: str) -> Path:
        """The whole page as PNG (not only the window), kept under ``name``."""
        height = self.driver.execute_script("return document.documentElement.scrollHeight")
        self.driver.set_window_size(1400, max(1000, min(int(height) + 120, 6000)))
        path = self.shots / f"{name}.png"
        self.driver.save_screenshot(str(path))
        self.driver.set_window_size(1400, 1000)
        return path


@pytest.fixture
def browser(live_server: Any, tmp_path: Path) -> Iterator[Browser]:
    """A headless Chromium pointed at the live server, closed after the test."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        missing("selenium is not installed (the [dev] extra)")
    binary, chromedriver = _binaries()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="chromium-", dir=tmp_path)
    options.add_argument(f"--user-data-dir={profile}")
    shots = Path(os.environ.get("EVENTLOG_SCREENSHOTS") or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    try:
        driver = webdriver.Chrome(service=Service(chromedriver), options=options)
    except Exception as exc:  # the browser did not start: say why in one line
        missing(f"chromium did not start: {str(exc).splitlines()[0]}")
    driver.implicitly_wait(0)
    try:
        yield Browser(driver, live_server.url, shots)
    finally:
        driver.quit()


# What Chromium's driver says, instead of a stale-element error, of a node
# asked about while its document is being replaced.
_GONE_NODE = ("does not belong to the document", "No node with given id")


def _left(old: Any) -> bool:
    """Whether the element ``old`` is gone with the page it was on."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

    try:
        old.is_enabled()
    except StaleElementReferenceException:
        return True
    except WebDriverException as exc:
        if any(text in str(exc) for text in _GONE_NODE):
            return True
        raise
    return False
