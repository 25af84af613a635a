"""Shared helpers for the tests that run the real app (`streamlit run app.py`) and drive it in Chromium.

Not a test module: the browser tests import from here. A missing browser is a skip
with the reason, except under CI=true, where it is a failure.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from decision_aid.knowledge.labels import OPTION_NAMES, VERDICT_WORDS

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
APP_STATE = "[data-testid='stApp'][data-test-script-state='{}']"


def unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; the browser test must run under CI=true (.ci/run installs chromium)")
    pytest.skip(reason)


def playwright_api() -> Any:
    """playwright.sync_api, or a skip (a failure under CI) when the browser or the package is missing."""
    if not CHROMIUM.exists():
        unavailable(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    try:
        from playwright import sync_api
    except ImportError:
        unavailable("the playwright Python package is not installed")
    return sync_api


@contextmanager
def running_app(log_path: Path, env: Mapping[str, str] | None = None) -> Iterator[int]:
    """`streamlit run app.py` with the repository's .streamlit/config.toml; yields its port once healthy."""
    port = free_port()
    with log_path.open("w") as log:
        command = [sys.executable, "-m", "streamlit", "run", "app.py"]
        process = subprocess.Popen(
            [*command, "--server.port", str(port), "--server.headless", "true"],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
        try:
            wait_for_health(port, process, log_path)
            yield port
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def chromium(sync_api: Any) -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def app_page(browser: Any, app_url: str, width: int = 1440, height: int = 1000) -> Iterator[Any]:
    """A fresh browser context (a new Streamlit session) on the shared server, its first page drawn."""
    context = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True)
    try:
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.goto(app_url)
        settle(page)
        yield page
    finally:
        context.close()


def settle(page: Any, grace_ms: int = 1_500) -> None:
    """After an action that starts a rerun: wait until the app has finished it (it may not have started
    yet; up to `grace_ms` for it to start). After an action that starts none, `idle` is enough."""
    try:
        page.wait_for_selector(APP_STATE.format("running"), timeout=grace_ms)
    except Exception:  # the rerun was quicker than the poll, or there was none
        pass
    idle(page)


def idle(page: Any) -> None:
    """Wait until a rerun under way, if any, has finished. Enough after what only the browser handles
    (pressing Escape on a popover, choosing a tab, moving the mouse): those start no rerun."""
    page.wait_for_selector(APP_STATE.format("notRunning"), timeout=60_000)


def upload(page: Any, name: str, content: bytes, close: bool = True, refused: bool = False) -> None:
    """Give the Consultation page's "Load patient file" a file, wait for the rerun and close the popover.
    refused: the upload box itself refuses the file (too large), so no rerun follows."""
    idle(page)  # a rerun under way (after a download, say) would redraw the popover under the upload
    page.get_by_role("button", name="Load patient file").click()
    # Opening the popover starts a rerun; a file chosen while it runs could be lost on a busy machine
    # (the browser asked for the upload's address and never sent the file's rerun), as no person is
    # quick enough to do: wait for that rerun first.
    settle(page)
    page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(
        files=[{"name": name, "mimeType": "application/json", "buffer": content}]
    )
    if refused:
        idle(page)
    else:
        # The file goes up over HTTP first and its rerun starts after that; the page closes the
        # popover when the load has run and keeps it closed should a late rerun (the one that opened
        # it, on a busy machine) arrive after the load's (app_pages/load_guard.py): wait for the
        # popover to close and the load's own message (under load it can take seconds) before anything else.
        page.wait_for_function(
            """name => !document.querySelector("[data-testid='stPopoverBody']")
                && (document.body.innerText.includes("Loaded " + name)
                    || document.body.innerText.includes("Could not load " + name))""",
            arg=name,
            timeout=60_000,
        )
        idle(page)
    if close and page.locator("[data-testid='stPopoverBody']").count():
        close_popover(page)


def close_popover(page: Any) -> None:
    page.keyboard.press("Escape")
    page.locator("[data-testid='stPopoverBody']").wait_for(state="hidden")
    idle(page)


def load(page: Any, patient: dict[str, Any], name: str = "patient.json") -> None:
    """Load a patient file and wait for its confirmation."""
    upload(page, name, json.dumps(patient).encode())
    page.get_by_text(f"Loaded {name}").wait_for()
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    page.mouse.move(1430, 990)  # no hover effects in screenshots
    idle(page)


def assert_cards(page: Any, expected: Any) -> None:
    """The six option cards, in order, each with its verdict (awaited: a rerun may start late on a busy machine)."""
    expect = playwright_api().expect
    names = list(OPTION_NAMES.values())
    headings = page.locator("h4").filter(has_text=re.compile("^(" + "|".join(map(re.escape, names)) + ")$"))
    expect(headings).to_have_text(names)
    for option, result in expected.options.items():
        card = page.locator("[data-testid='stMarkdownContainer']").filter(
            has=page.locator("h4", has_text=OPTION_NAMES[option])
        )
        shown = "suspended: urgent referral" if expected.urgent_referral else VERDICT_WORDS[result.verdict]
        expect(card.first).to_contain_text(shown)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_health(port: int, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"streamlit exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    pytest.fail(f"streamlit did not start within 90 s:\n{log_path.read_text()[-3000:]}")
