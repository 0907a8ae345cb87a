"""The report in a real browser: headless Chromium (Debian's ``chromium``) renders it, the
page is not blank, the summary table, the facts table and every panel are there, and the
page made no network request.

How requests are detected (robust without a browser-automation library): the report is
served by a local HTTP server on 127.0.0.1 that records every path asked for, and Chromium
runs with ``--proxy-server`` pointing at a second local socket that records every
connection; ``--proxy-bypass-list=<-loopback>`` is not given, so only 127.0.0.1 is reached
directly and any other host would have to go through the recording proxy, and
``--host-resolver-rules`` maps every other name to nothing so nothing leaves the machine
either way.  Chromium talks to a few hosts of its own even on a blank page (its component
updater, sign-in; ~3 requests with every background switch given below): a blank page is
loaded first and the hosts it reaches are the baseline; the report may reach no other host
(and nothing on 127.0.0.1 but itself and the favicon).  The page served is the report
*without* its Content-Security-Policy tag, so a stray external reference would really be
fetched and recorded instead of being blocked silently; a control page with one external image shows that the detector sees it.  The CSP
tag itself is checked in tests/engine/outputs/test_report.py.

Skips, saying why, where Chromium is missing or cannot start -- unless
``LIQSIM_REQUIRE_BROWSER=1`` (set by ``.ci/run``, which installs Chromium where missing):
then it fails.
"""
from __future__ import annotations

import functools
import http.server
import os
import pathlib
import re
import shutil
import socket
import subprocess
import threading
from fractions import Fraction

import pytest

import engine
from engine.outputs.panels import PANELS
from engine.outputs.report import REPORT, write_report

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
TIMEOUT_S = 90


def _browser() -> str:
    path = os.environ.get("LIQSIM_CHROMIUM") or next(
        (p for p in map(shutil.which, BROWSERS) if p), None)
    if path is None:
        _cannot("no chromium on PATH (Debian: apt-get install chromium; .ci/run installs it)")
    return path


def _cannot(reason: str):
    if os.environ.get("LIQSIM_REQUIRE_BROWSER") == "1":
        pytest.fail(f"browser test required but {reason}")
    pytest.skip(reason)


def _hosts(lines: list[str]) -> set[str]:
    """The hosts of recorded proxy request lines (``CONNECT h:443 ...``, ``GET http://h/...``)."""
    out = set()
    for line in lines:
        parts = line.split()
        target = parts[1] if len(parts) > 1 else line
        out.add(target.split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0])
    return out


class _Recorder:
    """A local HTTP server for ``root`` (paths asked for -> ``served``) and a bare socket
    standing in for a proxy (every connection's first line -> ``proxied``)."""

    def __init__(self, root: pathlib.Path) -> None:
        self.served: list[str] = []
        self.proxied: list[str] = []
        served = self.served

        class Handler(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args):        # quiet; record instead
                served.append(self.path)

        self.http = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
        self.proxy = socket.create_server(("127.0.0.1", 0))
        self.proxy.settimeout(0.2)
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.http.serve_forever, daemon=True),
                        threading.Thread(target=self._accept, daemon=True)]
        for t in self.threads:
            t.start()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.proxy.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(1)
                try:
                    first = conn.recv(4096).split(b"\r\n", 1)[0]
                except OSError:
                    first = b"?"
                self.proxied.append(first.decode(errors="replace"))
                conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.http.server_address[1]}/{name}"

    def close(self) -> None:
        self.stop.set()
        self.http.shutdown()
        self.http.server_close()
        self.proxy.close()


def _chromium(browser: str, recorder: _Recorder, profile: pathlib.Path, *args: str):
    proxy = f"http://127.0.0.1:{recorder.proxy.getsockname()[1]}"
    cmd = [browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
           "--disable-extensions", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--disable-default-apps",
           "--metrics-recording-only", "--no-default-browser-check", "--no-pings",
           "--disable-domain-reliability", "--disable-client-side-phishing-detection",
           "--disable-breakpad", "--allow-browser-signin=false",
           "--disable-features=NetworkTimeServiceQuerying,OptimizationHints,MediaRouter,"
           "Translate,AutofillServerCommunication,OptimizationGuideModelDownloading",
           f"--user-data-dir={profile}", f"--proxy-server={proxy}",
           "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
           "--virtual-time-budget=5000", *args]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as exc:
        _cannot(f"chromium could not run: {exc}")
    return done


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """flash-drop at 5% scale (it models the venue's capacity: every panel, queue too),
    its report without the CSP tag, a control page, and the recorder serving them."""
    browser = _browser()
    root = tmp_path_factory.mktemp("browser")
    run = engine.run("flash-drop", seed=0, scale=Fraction(1, 20))
    run.save(root / "run")
    write_report(root / "run", "liqsim replay flash-drop --scale 0.05 --out run", shown="run")
    text = (root / "run" / REPORT).read_text()
    (root / "page.html").write_text(re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>',
                                           "", text))
    (root / "blank.html").write_text("<!DOCTYPE html><html><body><p>blank</p></body></html>")
    (root / "control.html").write_text('<!DOCTYPE html><html><body><p>control</p>'
                                       '<img src="http://example.invalid/x.png"></body></html>')
    recorder = _Recorder(root)
    done = _chromium(browser, recorder, root / "profile-blank", "--dump-dom",
                     recorder.url("blank.html"))
    if "blank" not in done.stdout:
        recorder.close()
        _cannot(f"chromium did not render a blank page (exit {done.returncode}): "
                f"{(done.stderr.strip().splitlines() or ['no output'])[-1]}")
    baseline = _hosts(recorder.proxied)
    yield browser, recorder, root, baseline
    recorder.close()


def test_the_report_renders_with_every_table_and_panel_and_makes_no_request(served):
    browser, recorder, root, baseline = served
    before, served_before = len(recorder.proxied), len(recorder.served)
    done = _chromium(browser, recorder, root / "profile-dom", "--dump-dom",
                     recorder.url("page.html"))
    if done.returncode != 0 or "<html" not in done.stdout:
        _cannot(f"chromium did not render (exit {done.returncode}): "
                f"{(done.stderr.strip().splitlines() or ['no output'])[-1]}")
    dom = done.stdout
    assert 'id="summary-table"' in dom and 'id="facts-table"' in dom
    for pid, *_ in PANELS:
        figure = re.search(rf'<figure class="panel" id="panel-{pid}-run"[^>]*>(.*?)</figure>',
                           dom, flags=re.S)
        assert figure and "<svg" in figure.group(1), pid
    body = re.sub(r"<[^>]+>", " ", dom.split("<body", 1)[1])
    assert len(body.split()) > 500                     # words on the page, not a blank one
    assert _hosts(recorder.proxied[before:]) - baseline == set()
    assert [p for p in recorder.served[served_before:] if p != "/favicon.ico"] == ["/page.html"]


def test_the_report_is_not_blank_on_screen(served):
    browser, recorder, root, baseline = served
    before = len(recorder.proxied)
    shot = root / "shot.png"
    done = _chromium(browser, recorder, root / "profile-shot", f"--screenshot={shot}",
                     "--window-size=1100,2400", "--hide-scrollbars", recorder.url("page.html"))
    if not shot.is_file():
        _cannot(f"chromium made no screenshot (exit {done.returncode})")
    from PIL import Image
    pixels = Image.open(shot).convert("L")
    histogram = pixels.histogram()
    white = sum(histogram[250:])
    assert white < 0.97 * sum(histogram)               # text, tables and charts drawn
    assert len([v for v in histogram if v]) > 50        # many shades: charts, not one colour
    assert _hosts(recorder.proxied[before:]) - baseline == set()


def test_the_request_detector_sees_an_external_reference(served):
    browser, recorder, root, baseline = served
    before = len(recorder.proxied)
    done = _chromium(browser, recorder, root / "profile-control", "--dump-dom",
                     recorder.url("control.html"))
    if "control" not in done.stdout:
        _cannot(f"chromium did not render the control page (exit {done.returncode})")
    assert "example.invalid" in _hosts(recorder.proxied[before:]) - baseline
