"""The dashboard in headless Chromium (Debian's ``chromium``, driven by playwright) against
``sensebutler demo``: refused without a key, signed in through the login page, every page without a
console error, charts with drawn data, a failed reload on the Reloads page within 10 s of its trigger,
the alerts the demo's mail catcher and webhook receiver got, and the service the demo stops. Screenshots of every page (1366×768,
a laptop screen) go to ``build/test-artifacts/dashboard/``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from sensebutler.web.dashboard.queries import PAGES
from tests.fixtures.demo import running_demo
from tests.fixtures.net import free_tcp_port

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[3] / "build" / "test-artifacts" / "dashboard"
#: a task the demo never fails by itself early on
TASK = "Reload of Call center"
#: generous deadlines (in ms) for what the page waits on: two busy cores
WAIT_MS = 45_000

# Every chart's data points (from the data given to uPlot) and the coloured pixels it drew: series
# are drawn in saturated colours, grid and axes in greys.
CHARTS_DRAWN = """() => {
  const charts = [...document.querySelectorAll(".chart")];
  return charts.length > 0 && charts.every((box) => {
    const canvas = box.querySelector("canvas");
    if (Number(box.dataset.points) === 0 || !canvas) return false;
    const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    let coloured = 0;
    for (let i = 0; i < pixels.length; i += 4) {
      const [r, g, b, a] = [pixels[i], pixels[i + 1], pixels[i + 2], pixels[i + 3]];
      if (a > 0 && Math.max(r, g, b) - Math.min(r, g, b) > 50) coloured++;
    }
    return coloured > 20;
  });
}"""


# the Reloads page lists alerts that reached the mail catcher and the webhook receiver
ALERTS_RECEIVED = """() => {
  const cards = [...document.querySelectorAll("section.card")]
    .filter((c) => c.querySelector("h2").textContent.startsWith("Alerts received"));
  const channels = new Set(cards.flatMap((c) => [...c.querySelectorAll("tbody td:nth-child(2)")]
    .map((td) => td.textContent)));
  return channels.has("email") && channels.has("webhook");
}"""


# the Services page lists the printing service going to STOPPED
SERVICE_STOPPED = """() => [...document.querySelectorAll("section.card")]
  .filter((c) => c.querySelector("h2").textContent === "Service state changes")
  .flatMap((c) => [...c.querySelectorAll("tbody tr")])
  .some((r) => /printing/i.test(r.textContent) && r.lastChild.textContent === "STOPPED")"""


@pytest.fixture
def browser() -> Iterator[Browser]:
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: run scripts/ensure-debian-packages.sh (make debs)"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield chromium
        chromium.close()


def rows(page: Page, card: str, text: str) -> int:
    return page.locator(f'section.card:has(h2:text-is("{card}")) tbody tr:has-text("{text}")').count()


def updated(page: Page) -> None:
    page.wait_for_function(
        "document.getElementById('status')?.textContent.startsWith('Updated')", timeout=WAIT_MS
    )


@pytest.mark.slow
def test_the_dashboard_in_a_browser_against_the_demo(
    tmp_path: Path, simulator_certificates: Path, browser: Browser, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_tcp_port()
    options = ("--activity-rate", "10", "--web-port", str(port))
    with running_demo(tmp_path, simulator_certificates, *options) as demo:
        control = demo.wait_for(r"control API (http://\S+)")[1]
        url = demo.wait_for(r"^sensebutler dashboard: (http://\S+)")[1]
        key = parse_qs(urlsplit(url).query)["key"][0]
        base = f"http://127.0.0.1:{port}/dashboard"
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        errors: list[str] = []

        def console(message: ConsoleMessage) -> None:
            if message.type == "error":
                errors.append(f"{page.url}: {message.text}")

        page.on("console", console)
        page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))

        refused = page.goto(f"{base}/reloads")
        assert refused is not None and refused.status == 401
        errors.clear()  # the browser reports the 401 itself
        page.fill("input[name=key]", key)
        page.click("button")
        page.wait_for_url(f"{base}/site")
        updated(page)

        page.goto(f"{base}/reloads")
        updated(page)
        before = rows(page, "Recent task results", TASK)
        answer = httpx.post(f"{control}/tasks/{TASK}/reload", json={"outcome": "failed", "duration": 0.2})
        assert answer.status_code == 201, answer.text
        triggered = time.monotonic()
        # the live page shows it without a reload
        page.wait_for_function(
            """([task, before]) => [...document.querySelectorAll("section.card")]
                 .filter((c) => c.querySelector("h2").textContent === "Recent task results")
                 .flatMap((c) => [...c.querySelectorAll("tbody tr")])
                 .filter((r) => r.textContent.includes(task) && r.textContent.includes("failed")).length > before""",
            arg=[TASK, before],
            timeout=WAIT_MS,
        )
        shown_after = time.monotonic() - triggered
        page.wait_for_function(
            """(task) => [...document.querySelectorAll("section.card")]
                 .filter((c) => c.querySelector("h2").textContent.startsWith("Failed reloads"))
                 .some((c) => c.textContent.includes(task))""",
            arg=TASK,
            timeout=WAIT_MS,
        )
        assert shown_after < 10, f"the failed reload showed {shown_after:.1f} s after it was triggered"
        # the alerts of the failures the demo makes, as its mail catcher and webhook receiver got them
        page.wait_for_function(ALERTS_RECEIVED, timeout=WAIT_MS)

        # the service the demo stops early, as the service monitor saw it
        page.goto(f"{base}/services")
        page.wait_for_function(SERVICE_STOPPED, timeout=WAIT_MS)

        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for name in PAGES:
            page.goto(f"{base}/{name}")
            updated(page)
            if page.locator(".chart").count():
                page.wait_for_function(CHARTS_DRAWN, timeout=WAIT_MS)
            page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)
        page.close()
        code, _ = demo.stop()
    assert code == 0, demo.stderr()
    assert errors == []
    with capsys.disabled():
        print(f"\nfailed reload shown after {shown_after:.1f} s; screenshots of the dashboard: {ARTIFACTS}")
