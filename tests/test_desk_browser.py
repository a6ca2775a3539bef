"""The desk in a real browser: headless Chromium (Debian's `chromium` and `chromium-driver`
packages, driven by Selenium through the Debian chromedriver path, so nothing is
downloaded) against `serve`'s own application under uvicorn on 127.0.0.1.

One walk through a season's day: the prefecture signs in with a link from chat,
approves a request on the dashboard, looks at the calendar (month and week), the towns,
the audit log and the downloads and downloads a document, signs out; another town's
staff signs in and is refused 宇土市's page (audited); a reused link is refused; the
administrator opens the roster; the dashboard on a phone. Every page is saved as a
screenshot in artifacts/screenshots/ (DXDESK_SCREENSHOTS overrides) for review.

Without Chromium the tests skip, saying which packages to install; CI installs them
(`apt-get install -y chromium chromium-driver`).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from bot.runtime.web import create_web_app
from handlers import router
from handlers.core.actor import Actor
from handlers.core.clock import TOKYO, FakeClock
from handlers.core.context import Context, Rules
from storage import desk as desk_rows
from storage.db import Database
from storage.models import AuditEntry, SupportSession
from tests.support import desk_season
from tests.support.factories import state, submit
from tests.support.live_server import serving

TODAY = datetime(2026, 11, 16, 10, 0, tzinfo=TOKYO)  # a Monday in mid-season
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
SHOTS = Path(
    os.environ.get("DXDESK_SCREENSHOTS")
    or Path(__file__).resolve().parent.parent / "artifacts" / "screenshots"
)

try:
    from selenium import webdriver
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:  # pragma: no cover - the test extra installs it
    webdriver = None  # type: ignore[assignment]

pytestmark = pytest.mark.skipif(
    webdriver is None or not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)),
    reason="no Chromium: apt-get install -y chromium chromium-driver (and pip install selenium)",
)


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    """One Chromium for the module (starting one takes seconds)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SE_OFFLINE", "true")  # Selenium Manager must never download
        yield from start_chromium(tmp_path_factory.mktemp("downloads"))


@pytest.fixture
def browser(chromium: WebDriver) -> WebDriver:
    """The module's Chromium as a new visitor: no cookies, a 1366×768 window."""
    chromium.delete_all_cookies()
    chromium.set_window_size(1366, 768)
    return chromium


def start_chromium(downloads: Path) -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1366,768",
        "--lang=ja",
        "--no-first-run",
    ):
        options.add_argument(argument)
    options.add_experimental_option(
        "prefs",
        {"download.default_directory": str(downloads), "download.prompt_for_download": False},
    )
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    driver.execute_cdp_cmd(
        "Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    driver.downloads = downloads  # type: ignore[attr-defined]
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Context, str, dict[str, Any]]]:
    """A season in mid-November (tests/support/desk_season.py: held bars, booked bars, a
    projection), a consultation waiting for approval, and `serve`'s application under
    uvicorn on it, once for the module; its address is where links point."""
    folder = tmp_path_factory.mktemp("desk-browser")
    with desk_season.template(folder, TODAY) as (url, found):
        database = Database(url)
        try:
            ctx = Context(database, FakeClock(TODAY), Rules())
            staff = found["cast"]["田中 美咲"]
            found["request_id"] = submit(ctx, staff, preferred_dates="2026-12-01, 2026-12-02")
            found["session_id"] = a_session_of(ctx, staff.municipality_id or 0, TODAY)
            with serving(create_web_app(ctx, None, None)) as base:
                ctx.rules = replace(ctx.rules, desk_url=base)
                yield ctx, base, found
        finally:
            database.dispose()


@pytest.fixture
def desk(world: tuple[Context, str, dict[str, Any]]) -> tuple[Context, str]:
    return world[0], world[1]


@pytest.fixture
def season(world: tuple[Context, str, dict[str, Any]]) -> dict[str, Any]:
    return world[2]


def a_session_of(ctx: Context, municipality_id: int, after: datetime) -> int:
    """The town's first session after `after` (the calendar's page to look at)."""
    with ctx.db.transaction() as session:
        rows = desk_rows.sessions_of_town(session, municipality_id)
    return next(r.id or 0 for r in rows if r.starts_at > after)


class Walk:
    """Steps of the walk, each page saved as a numbered screenshot."""

    def __init__(self, driver: WebDriver, ctx: Context, base: str, name: str) -> None:
        self.driver, self.ctx, self.base = driver, ctx, base
        self.prefix = name
        self.count = 0
        SHOTS.mkdir(parents=True, exist_ok=True)

    def shot(self, what: str) -> None:
        self.count += 1
        self.driver.save_screenshot(str(SHOTS / f"{self.prefix}-{self.count:02d}-{what}.png"))

    def open(self, path: str, what: str) -> str:
        self.driver.get(self.base + path)
        self.shot(what)
        return self.text()

    def text(self) -> str:
        return self.driver.find_element(By.TAG_NAME, "body").text

    def sign_in(self, actor: Actor) -> str:
        reply = router.command(self.ctx, actor, "ダッシュボード")
        link = next(word for word in reply.plain_text().split() if "/desk/signin/" in word)
        self.driver.get(link)
        self.shot("signin-link")
        assert "さんとしてサインインします" in self.text()
        self.driver.find_element(By.ID, "desk-signin-button").click()
        WebDriverWait(self.driver, 20).until(lambda d: "/desk/signin" not in d.current_url)
        return link

    def submit(self, form: Any) -> None:
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        WebDriverWait(self.driver, 20).until(
            lambda d: d.execute_script("return document.readyState") == "complete"
        )


def test_the_prefecture_signs_in_approves_looks_around_downloads_and_signs_out(
    browser, desk, season
):
    ctx, base = desk
    walk = Walk(browser, ctx, base, "prefecture")
    cast = season["cast"]
    walk.sign_in(cast["熊本 県子"])
    assert browser.current_url == f"{base}/desk/"
    walk.shot("dashboard")
    assert "熊本 県子" in walk.text()
    charts = browser.find_elements(By.CSS_SELECTOR, "figure.chart")
    assert len(charts) == 4
    browser.execute_script("arguments[0].scrollIntoView()", charts[2])
    walk.shot("dashboard-charts")  # the office days and the results meeting
    for chart in charts:
        assert "見込み" in chart.text and "計画" in chart.text and "今日" in chart.text

    approve = browser.find_element(By.CSS_SELECTOR, "form[action$='/act/request.approve']")
    approve.find_element(By.CSS_SELECTOR, "input[type=checkbox][name=consultants]").click()
    walk.shot("approve-form")
    walk.submit(approve)
    walk.shot("approved")
    assert state(ctx, season["request_id"]) == "approved"
    assert browser.current_url == f"{base}/desk/"  # back on the dashboard, told there
    told = browser.find_element(By.CSS_SELECTOR, "main .flash").text
    assert "承認しました" in told, told

    day = session_day(ctx, season["session_id"])
    month = walk.open(f"/desk/calendar?day={day}", "calendar-month")
    assert "宇土市" in month
    walk.open(f"/desk/calendar?view=week&day={day}", "calendar-week")
    browser.find_element(By.CSS_SELECTOR, f"a[href$='/desk/sessions/{season['session_id']}']")
    walk.open(f"/desk/sessions/{season['session_id']}", "session")
    walk.open("/desk/towns", "towns")
    walk.open(f"/desk/towns/{cast['田中 美咲'].municipality_id}", "town-uto")
    walk.open("/desk/audit", "audit")

    walk.open("/desk/downloads", "downloads")
    document = browser.find_element(By.CSS_SELECTOR, "form[action$='/desk/downloads/file']")
    document.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    assert downloaded(browser.downloads), "no file arrived from the downloads page"

    walk.open("/desk/", "dashboard-again")
    browser.find_element(By.CSS_SELECTOR, "form.signout button").click()
    # the page is replaced while it is read: a body found on the old one is then stale
    WebDriverWait(browser, 20, ignored_exceptions=[StaleElementReferenceException]).until(
        lambda d: "サインアウトしました" in walk.text()
    )
    walk.shot("signed-out")
    walk.open("/desk/", "after-signout")
    assert "サインインしてください" in walk.text()


def test_another_towns_staff_is_refused_uto_and_a_reused_link_is_refused(browser, desk, season):
    ctx, base = desk
    walk = Walk(browser, ctx, base, "other-town")
    yamaga = season["cast"]["松本 大輔"]  # 山鹿市
    link = walk.sign_in(yamaga)
    walk.shot("dashboard")
    uto = season["cast"]["田中 美咲"].municipality_id
    refused = walk.open(f"/desk/towns/{uto}", "refused-uto")
    assert "他の市町村の情報は扱えません" in refused
    assert "田中 美咲" not in refused and "電子申請" not in refused  # nothing of 宇土市's
    with ctx.db.transaction() as session:
        rows = session.exec(
            select(AuditEntry)
            .where(AuditEntry.actor_id == yamaga.id)
            .where(AuditEntry.outcome == "refused")
        ).all()
    assert rows, "the refused access was not audited"

    browser.delete_all_cookies()
    browser.get(link)
    walk.shot("reused-link")
    assert "既に使われています" in walk.text()


def test_the_administrator_sees_the_roster_and_the_dashboard_fits_a_phone(browser, desk, season):
    ctx, base = desk
    walk = Walk(browser, ctx, base, "admin")
    walk.sign_in(season["cast"]["管理 太郎"])
    roster = walk.open("/desk/roster", "roster")
    assert "田中 美咲" in roster
    prefecture = Walk(browser, ctx, base, "phone")
    browser.delete_all_cookies()
    browser.set_window_size(390, 844)
    prefecture.sign_in(season["cast"]["熊本 県子"])
    prefecture.shot("dashboard")
    width = browser.execute_script("return document.documentElement.scrollWidth")
    assert width <= 400, f"the dashboard is {width}px wide on a 390px phone"


def session_day(ctx: Context, session_id: int) -> str:
    with ctx.db.transaction() as session:
        row = session.get(SupportSession, session_id)
        assert row is not None
        return row.starts_at.astimezone(TOKYO).date().isoformat()


def downloaded(directory: Path, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        done = [p for p in directory.iterdir() if not p.name.endswith(".crdownload")]
        if done and all(p.stat().st_size > 0 for p in done):
            return True
        time.sleep(0.2)
    return False
