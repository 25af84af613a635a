"""The app makes no network calls, listens on this machine only and writes no file.

Runs the real `streamlit run app.py` with the repository's .streamlit/config.toml,
under a sitecustomize.py whose audit hook (sys.addaudithook) records every socket
address the server process binds, connects or sends to, every name it looks up
and every file it opens for writing. Then:

- a cross-origin WebSocket attempt (`Origin: http://evil.example`, what a hostile
  page open in the clinician's browser would send): Streamlit's origin check used
  to answer it by looking up this machine's addresses (a UDP connect to 8.8.8.8 and
  an HTTP request to checkip.amazonaws.com, with its DNS lookups);
- a whole consultation in Chromium (load a patient, every tab, save the record and
  the handout, every page), which must fetch nothing but the app's own address.

Nothing but the loopback interface may appear in the record, and no file. The
browser test is skipped without /usr/bin/chromium or Playwright (a failure under CI=true).
"""

from __future__ import annotations

import base64
import json
import os
import socket
import textwrap
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.browser import ROOT, idle, load, running_app, settle

# Loaded by the server's interpreter through PYTHONPATH; writes one JSON line per event.
SITECUSTOMIZE = textwrap.dedent(
    """
    import json
    import os
    import sys

    _LOG = os.environ["DA_AUDIT_LOG"]
    _NETWORK = {
        "socket.bind", "socket.connect", "socket.sendto", "socket.sendmsg", "socket.getaddrinfo",
        "socket.gethostbyname", "socket.gethostbyaddr", "socket.getnameinfo",
    }
    _WRITE = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


    def _record(event, detail):
        with open(_LOG, "a") as log:
            log.write(json.dumps({"event": event, "address": detail}) + "\\n")


    def _address(event, args):
        if event in ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr", "socket.getnameinfo"):
            address = args[0]
        else:
            address = args[1]
        if isinstance(address, tuple):
            address = address[0]
        if isinstance(address, bytes):
            address = address.decode("ascii", "replace")
        return address


    def _hook(event, args):
        try:
            if event in _NETWORK:
                address = _address(event, args)
                if address is not None and not (isinstance(address, str) and address.startswith("/")):
                    _record(event, str(address))  # not a local lookup without a host, not a Unix socket
            elif event == "open" and not isinstance(args[0], int):
                path, mode, flags = str(args[0]), args[1], args[2] or 0
                writing = any(c in mode for c in "wax+") if isinstance(mode, str) else bool(flags & _WRITE)
                if writing and path != _LOG and not path.startswith("/dev/"):
                    _record("file written", path)
            elif event == "os.mkdir":
                _record("file written", str(args[0]))
        except Exception as error:  # never break the server; record that the hook failed
            _record(event, f"hook failed: {error!r}")


    sys.addaudithook(_hook)
    """
)


def loopback(address: str) -> bool:
    if address in ("localhost", ""):
        return True
    try:
        return socket.inet_pton(socket.AF_INET, address)[0] == 127
    except OSError:
        pass
    try:
        return socket.inet_pton(socket.AF_INET6, address) == socket.inet_pton(socket.AF_INET6, "::1")
    except OSError:
        return False


def events(log: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def cross_origin_websocket(port: int) -> bytes:
    """An HTTP upgrade to the app's WebSocket from a foreign origin; returns the response head."""
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        "GET /_stcore/stream HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\n"
        "Upgrade: websocket\r\n"
        "Connection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\n"
        "Sec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Protocol: streamlit\r\n"
        "Origin: http://evil.example\r\n"
        "\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(request.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = connection.recv(4096)
            if not chunk:
                break
            head += chunk
    return head


@contextmanager
def audited_app(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """The app under the audit hook: its port, and the record of what the server did."""
    (tmp_path / "sitecustomize.py").write_text(SITECUSTOMIZE)
    record = tmp_path / "audit.jsonl"
    env = {
        "PYTHONPATH": os.pathsep.join(p for p in (str(tmp_path), os.environ.get("PYTHONPATH", "")) if p),
        "PYTHONDONTWRITEBYTECODE": "1",  # the interpreter's own bytecode cache is not the app's doing
        "DA_AUDIT_LOG": str(record),
    }
    with running_app(tmp_path / "server.log", env=env) as port:
        assert events(record), "the audit hook recorded nothing: it was not loaded"
        yield port, record


def outside(record: Path) -> list[dict[str, str]]:
    """Everything recorded that left this machine's loopback interface, and every file written."""
    return [e for e in events(record) if e["event"] == "file written" or not loopback(e["address"])]


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    """One audited server for this module's tests; once it has stopped, its whole record is checked again."""
    with audited_app(tmp_path_factory.mktemp("audited")) as (port, record):
        yield port, record
    assert not outside(record), f"the server used the network or wrote a file: {outside(record)}"


@pytest.mark.slow
def test_the_server_looks_up_nothing_and_connects_nowhere_on_a_cross_origin_attempt(audited: tuple[int, Path]):
    port, record = audited
    head = cross_origin_websocket(port)
    assert head.startswith(b"HTTP/1.1 "), head
    cross_origin_websocket(port)  # a second attempt: a failed lookup is retried every time
    assert not outside(record), f"the server used the network or wrote a file: {outside(record)}"
    assert [e["address"] for e in events(record) if e["event"] == "socket.bind"] == ["127.0.0.1"]


@pytest.mark.slow
def test_a_whole_consultation_sends_nothing_beyond_this_machine_and_writes_no_file(
    audited: tuple[int, Path], browser: Any
):
    """Load a patient, read every tab, save the record and the handout, visit every page."""
    port, record = audited
    fetched: list[str] = []
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, accept_downloads=True)
    try:
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.on("request", lambda request: fetched.append(request.url))
        page.goto(f"http://localhost:{port}")
        settle(page)
        load(page, json.loads((ROOT / "examples" / "isthmic-grade2.json").read_text()))
        for tab in ("For the patient", "Clinic letter", "Options"):
            page.get_by_role("tab", name=tab).click()
            page.get_by_role("tab", name=tab, selected=True).wait_for()
            idle(page)
        with page.expect_download():
            page.get_by_role("button", name="Save consultation (JSON)").click()
        handout = page.get_by_role("button", name="Patient handout (PDF)")
        assert handout.count() == 1, "the Consultation page offers no patient handout"
        with page.expect_download(timeout=60_000):
            handout.click()
        for title in ("Explore", "Teaching", "Knowledge base", "Consultation"):
            page.get_by_role("link", name=title).first.click()
            settle(page)
        page.wait_for_load_state("networkidle")
    finally:
        context.close()
    assert not outside(record), f"the server used the network or wrote a file: {outside(record)}"
    assert {urlsplit(url).netloc for url in fetched} == {f"localhost:{port}"}, "the browser fetched from elsewhere"


def test_uploads_are_limited_to_one_megabyte_and_the_server_stays_on_this_machine():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    server, browser = config["server"], config["browser"]
    assert server["maxUploadSize"] == 1  # MB, Streamlit's unit and smallest value: a patient file is at most 1 MB
    assert server["address"] == "127.0.0.1"
    assert browser["gatherUsageStats"] is False
    assert server.get("enableXsrfProtection", True) is True  # uploads still need the page's XSRF token
