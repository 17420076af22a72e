"""Headless Chromium over the DevTools protocol: the report's PDF, screenshots and layout checks.

A report is read in a browser and printed from one, so it is checked and
printed by one: Debian's ``chromium`` (installed by ``make`` when missing),
driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``:
JSON messages ending in a NUL byte on file descriptors 3 and 4). A pipe needs
no port, no WebSocket client and no driver binary matched to the browser's
version, which chromium-driver or Playwright would add; the few commands a
report needs (open a file, measure the layout, print to PDF, take a
screenshot, collect console errors) are a page of code::

    with Browser() as browser:
        page = browser.open("reports/demo/latest-en.html", width=1280)
        page.pdf("report.pdf")                       # A4, the report's print stylesheet
        page.screenshot("shot.png")                  # the whole page at 1280 px
        page.evaluate("document.title")
        page.console_errors                          # console errors, CSP violations, exceptions

The flags (:data:`FLAGS`) keep the browser off the network and away from any
user profile: a fresh ``--user-data-dir`` per browser, no sandbox (the tests
run as root in a container), no GPU, no background updates.
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

__all__ = ["A4", "Browser", "BrowserError", "FLAGS", "Page", "find_chromium"]

#: Flags for this machine and CI: headless, no sandbox (root in a container), nothing from the network.
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-extensions", "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio",
    "--no-default-browser-check", "--font-render-hinting=none",
)
#: A4 in inches (what Page.printToPDF takes) and its margin, as in the report's ``@page`` rule.
A4 = {"paperWidth": 8.27, "paperHeight": 11.69, "marginTop": 0.55, "marginBottom": 0.55,
      "marginLeft": 0.47, "marginRight": 0.47}
#: Width (CSS px, 96 per inch) of the printable area of an A4 page with :data:`A4`'s margins.
A4_CONTENT_PX = round((A4["paperWidth"] - A4["marginLeft"] - A4["marginRight"]) * 96)


class BrowserError(RuntimeError):
    """Chromium is missing, did not start, or answered a command with an error."""


def find_chromium() -> str | None:
    """Path of a Chromium binary: ``$CXLAB_CHROMIUM``, else ``chromium`` / ``chromium-browser`` on PATH."""
    given = os.environ.get("CXLAB_CHROMIUM")
    if given:
        return given if Path(given).is_file() else shutil.which(given)
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


class Browser:
    """One headless Chromium process; :meth:`open` gives a :class:`Page`. Use as a context manager.

    Parameters
    ----------
    executable : str, optional
        Chromium binary (default :func:`find_chromium`).
    timeout : float
        Seconds to wait for any one answer of the browser.
    """

    def __init__(self, executable: str | None = None, *, timeout: float = 60.0):
        exe = executable or find_chromium()
        if not exe:
            raise BrowserError("no Chromium found: install Debian's chromium package (make install-test does) "
                               "or set CXLAB_CHROMIUM to its path")
        self.timeout = timeout
        self._profile = tempfile.mkdtemp(prefix="cxlab-chromium-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # the browser reads commands on fd 3 and writes answers on fd 4: bash moves the pipes there
        # (POSIX sh may refuse descriptors above 9)
        command = " ".join([_quote(exe), *FLAGS, _quote(f"--user-data-dir={self._profile}"),
                            "--remote-debugging-pipe", "about:blank",
                            f"3<&{to_browser_r}", f"4>&{from_browser_w}"])
        self._proc = subprocess.Popen([shutil.which("bash") or "/bin/bash", "-c", f"exec {command}"], pass_fds=(to_browser_r, from_browser_w),
                                      stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                      start_new_session=True)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._next_id = 0
        self._lock = threading.Lock()
        self._buffer = b""
        self._events: list[dict[str, Any]] = []
        try:
            self.version = self.call("Browser.getVersion")
        except BaseException:
            self.close()
            raise

    # -- protocol ------------------------------------------------------------
    def call(self, method: str, params: dict[str, Any] | None = None, *, session: str | None = None,
             timeout: float | None = None) -> dict[str, Any]:
        """Send one command and wait for its answer (events that arrive meanwhile are kept)."""
        with self._lock:
            self._next_id += 1
            message = {"id": self._next_id, "method": method, "params": params or {}}
            if session:
                message["sessionId"] = session
            try:
                os.write(self._to_browser, json.dumps(message).encode() + b"\0")
            except OSError as exc:
                raise BrowserError(f"Chromium is not running ({exc}): {self._stderr()}") from None
            deadline = time.monotonic() + (timeout or self.timeout)
            while True:
                reply = self._read(deadline)
                if reply.get("id") == message["id"]:
                    if "error" in reply:
                        raise BrowserError(f"{method}: {reply['error'].get('message')} {reply['error'].get('data', '')}")
                    return reply.get("result", {})
                if "method" in reply:
                    self._events.append(reply)

    def _read(self, deadline: float) -> dict[str, Any]:
        import select

        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError(f"Chromium did not answer within {self.timeout:g} s")
            ready, _, _ = select.select([self._from_browser], [], [], left)
            if not ready:
                continue
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise BrowserError(f"Chromium closed the pipe: {self._stderr()}")
            self._buffer += chunk
        raw, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(raw)

    def wait_for(self, method: str, session: str, timeout: float | None = None) -> dict[str, Any]:
        """Wait for the event ``method`` of ``session`` (one that already arrived counts)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            for i, ev in enumerate(self._events):
                if ev.get("method") == method and ev.get("sessionId") == session:
                    return self._events.pop(i)
            with self._lock:
                self._events.append(self._read(deadline))

    def events(self, session: str) -> list[dict[str, Any]]:
        """Events of ``session`` received so far (kept)."""
        return [ev for ev in self._events if ev.get("sessionId") == session]

    def _stderr(self) -> str:
        if self._proc.poll() is None or self._proc.stderr is None:
            return ""
        return self._proc.stderr.read().decode(errors="replace")[-800:]

    # -- pages ---------------------------------------------------------------
    def open(self, path_or_url: str | os.PathLike, *, width: int = 1280, height: int = 900,
             media: str = "screen") -> "Page":
        """A new tab showing a local file (or URL), laid out ``width`` CSS pixels wide."""
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, target, session)
        for domain in ("Page", "Runtime", "Log"):
            self.call(f"{domain}.enable", session=session)
        page.resize(width, height)
        if media != "screen":
            page.media(media)
        page.goto(path_or_url)
        return page

    def close(self) -> None:
        """End the browser and remove its profile folder."""
        proc = getattr(self, "_proc", None)
        if proc is not None and proc.poll() is None:
            try:
                self.call("Browser.close", timeout=5)
            except BrowserError:
                pass
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        for fd in (getattr(self, "_to_browser", None), getattr(self, "_from_browser", None)):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._to_browser = self._from_browser = None
        if proc is not None and proc.stderr is not None:
            proc.stderr.close()
        shutil.rmtree(getattr(self, "_profile", ""), ignore_errors=True)

    def __enter__(self) -> "Browser":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:  # a forgotten browser must not outlive its owner
        try:
            self.close()
        except Exception:
            pass


class Page:
    """One tab of a :class:`Browser`."""

    def __init__(self, browser: Browser, target: str, session: str):
        self.browser, self.target, self.session = browser, target, session

    def call(self, method: str, params: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
        return self.browser.call(method, params, session=self.session, **kw)

    def goto(self, path_or_url: str | os.PathLike) -> None:
        text = os.fspath(path_or_url)
        url = text if "://" in text or text.startswith("about:") else Path(text).resolve().as_uri()
        result = self.call("Page.navigate", {"url": url})
        if result.get("errorText"):
            raise BrowserError(f"could not open {url}: {result['errorText']}")
        self.browser.wait_for("Page.loadEventFired", self.session)

    def resize(self, width: int, height: int = 900) -> None:
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": int(width), "height": int(height), "deviceScaleFactor": 1, "mobile": False})

    def media(self, media: str) -> None:
        """Emulate ``screen`` or ``print`` CSS media."""
        self.call("Emulation.setEmulatedMedia", {"media": "" if media == "screen" else media})

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression (DevTools evaluation: the page's CSP forbids its own scripts)."""
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise BrowserError(f"evaluate failed: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    @property
    def console_errors(self) -> list[str]:
        """Console errors, uncaught exceptions and browser log errors (CSP violations, failed loads)."""
        out = []
        for ev in self.browser.events(self.session):
            method, params = ev["method"], ev.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                out.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
            elif method == "Runtime.exceptionThrown":
                out.append(params.get("exceptionDetails", {}).get("text", "exception"))
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                entry = params["entry"]
                out.append(f"{entry.get('source')}: {entry.get('text')} {entry.get('url', '')}".strip())
        return out

    def pdf(self, path: str | os.PathLike | None = None, **options: Any) -> bytes:
        """Print the page to PDF (A4 and the print stylesheet by default); written to ``path`` if given."""
        params = {"printBackground": True, "preferCSSPageSize": True, "displayHeaderFooter": False, **A4, **options}
        data = base64.b64decode(self.call("Page.printToPDF", params, timeout=max(self.browser.timeout, 120))["data"])
        if path is not None:
            Path(path).write_bytes(data)
        return data

    def screenshot(self, path: str | os.PathLike | None = None, *, full_page: bool = True) -> bytes:
        """A PNG of the page (the whole page, not only the viewport, by default)."""
        params: dict[str, Any] = {"format": "png", "captureBeyondViewport": full_page}
        if full_page:
            size = self.evaluate("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
            params["clip"] = {"x": 0, "y": 0, "width": size[0], "height": size[1], "scale": 1}
        data = base64.b64decode(self.call("Page.captureScreenshot", params)["data"])
        if path is not None:
            Path(path).write_bytes(data)
        return data

    def close(self) -> None:
        self.browser.call("Target.closeTarget", {"targetId": self.target})


def _quote(text: str) -> str:
    import shlex

    return shlex.quote(text)
