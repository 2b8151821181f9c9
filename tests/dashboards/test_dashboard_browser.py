"""The dashboards in a real browser: the Streamlit server as `postwise up` starts it, the
real API to log in through, headless Chromium driven by selenium. An analyst of the seeded
history logs in through the form and opens every page from the sidebar; no page may show
an exception or an error alert. A screenshot of each page is saved to
``test-artifacts/dashboards/<page>.png`` at the repository root."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
from dashboard_kit import PAGES
from login_kit import Account, add_user
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait
from settings_env import settings_environment

from postwise.launcher import ROOT, streamlit_command
from postwise.settings import Settings
from postwise.stack import stop_process
from simulator.esp import free_port
from warehouse.db import Cells

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = ROOT / "test-artifacts" / "dashboards"
START_SECONDS = 60
WAIT_SECONDS = 60
ERRORS = '[data-testid="stException"], [data-testid="stAlertContentError"]'
# Pages in the sidebar's order; the first is the default page, served at the root URL.
TITLES = {page: page.capitalize() for page in PAGES}

pytestmark = pytest.mark.skipif(
    not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
    reason=f"{CHROMIUM} and {CHROMEDRIVER} are needed (`make browser-tools` installs them)",
)


@pytest.fixture
def dashboards_url(
    settings: Settings,
    dashboard_api_url: str,
    mlflow_tracking_uri: tuple[str, Path],
    tmp_path: Path,
) -> Iterator[str]:
    """The Streamlit server on a free loopback port, with the test settings' environment,
    the test API to log in through and the run's MLflow store; stopped afterwards."""
    port = free_port()
    environment = {
        **os.environ,
        **settings_environment(
            settings,
            DASHBOARD_API_URL=dashboard_api_url,
            MLFLOW_TRACKING_URI=mlflow_tracking_uri[0],
            MLFLOW_UI_URL="http://127.0.0.1:5000",
        ),
    }
    log_path = tmp_path / "streamlit.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [*streamlit_command("127.0.0.1", port), "--server.fileWatcherType", "none"],
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_SECONDS
        while not _healthy(base):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"streamlit did not start:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.5)
        yield base
    finally:
        stop_process(process, grace=20.0)


def _healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/_stcore/health", timeout=2).text == "ok"
    except httpx.HTTPError:
        return False


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    """Headless Chromium through Debian's chromedriver."""
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(argument)
    service = Service(str(CHROMEDRIVER), log_output=str(tmp_path / "chromedriver.log"))
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(WAIT_SECONDS)
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(driver: WebDriver, condition: Callable[[WebDriver], Any], what: str) -> Any:
    """``condition`` once it holds (elements replaced while looking are looked at again)."""
    waiting = WebDriverWait(
        driver,
        WAIT_SECONDS,
        poll_frequency=0.25,
        ignored_exceptions=[StaleElementReferenceException],
    )
    return waiting.until(condition, f"waited {WAIT_SECONDS} s for {what}")


def finished(title: str) -> Callable[[WebDriver], bool]:
    """The page titled ``title`` was drawn and its script has finished running: the app
    says it is not running, no status widget ("Running...") and no stale element left."""

    def check(driver: WebDriver) -> bool:
        app = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stApp"]')
        if not app or app[0].get_attribute("data-test-script-state") != "notRunning":
            return False
        if driver.find_elements(By.CSS_SELECTOR, '[data-testid="stStatusWidget"]'):
            return False
        if driver.find_elements(By.CSS_SELECTOR, '[data-stale="true"]'):
            return False
        return any(h.text.strip() == title for h in driver.find_elements(By.TAG_NAME, "h1"))

    return check


def errors_on(driver: WebDriver) -> list[str]:
    return [element.text for element in driver.find_elements(By.CSS_SELECTOR, ERRORS)]


def screenshot(driver: WebDriver, name: str) -> Path:
    """The whole page (the window stretched to the main area's height) as a PNG."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    height = driver.execute_script(
        "const main = document.querySelector('[data-testid=\"stMain\"]');"
        "return main ? main.scrollHeight : document.body.scrollHeight;"
    )
    driver.set_window_size(1400, max(1000, min(int(height) + 120, 8000)))
    try:
        time.sleep(0.5)  # charts re-lay themselves out to the new size
        assert driver.save_screenshot(str(path)), f"no screenshot of {name}"
    finally:
        driver.set_window_size(1400, 1000)
    return path


def log_in(driver: WebDriver, base: str, account: Account) -> None:
    driver.get(base)
    email = wait_for(
        driver,
        lambda d: next(iter(d.find_elements(By.CSS_SELECTOR, 'input[aria-label="Email"]')), None),
        "the login form",
    )
    screenshot(driver, "login")
    email.send_keys(account.email)
    driver.find_element(By.CSS_SELECTOR, 'input[aria-label="Password"]').send_keys(account.password)
    driver.find_element(By.XPATH, '//button[normalize-space(.)="Log in"]').click()
    wait_for(driver, finished(TITLES[PAGES[0]]), "the Overview after logging in")


def link_title(link: WebElement) -> str:
    """A sidebar link's page title (the text after its icon's ligature name)."""
    lines = link.text.strip().splitlines()
    return lines[-1].strip() if lines else ""


def open_from_sidebar(driver: WebDriver, page: str) -> None:
    title = TITLES[page]
    links = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stSidebarNavLink"]')
    matching = [link for link in links if link_title(link) == title]
    assert matching, f"no sidebar link {title!r}; links: {[link_title(link) for link in links]}"
    matching[0].click()
    wait_for(driver, finished(title), f"the {title} page")


def test_an_analyst_logs_in_and_every_page_renders_without_errors(
    marts_history: Any,
    cells: Cells,
    dashboards_url: str,
    browser: WebDriver,
) -> None:
    account = add_user(cells, marts_history.result.org_id)
    log_in(browser, dashboards_url, account)
    links = browser.find_elements(By.CSS_SELECTOR, '[data-testid="stSidebarNavLink"]')
    assert [link_title(link) for link in links] == [TITLES[p] for p in PAGES]

    failures: dict[str, list[str]] = {}
    for index, page in enumerate(PAGES):
        try:
            if index:  # the default page is already open after logging in
                open_from_sidebar(browser, page)
        except TimeoutException as exc:
            failures[page] = [f"did not finish: {exc.msg}", *errors_on(browser)]
            screenshot(browser, page)
            continue
        path = urlparse(browser.current_url).path
        assert path == ("/" if index == 0 else f"/{page}"), (page, browser.current_url)
        if errors := errors_on(browser):
            failures[page] = errors
        assert screenshot(browser, page).stat().st_size > 10_000
    assert not failures, "pages with errors:\n" + "\n".join(
        f"{page}: {' | '.join(found)}" for page, found in failures.items()
    )
