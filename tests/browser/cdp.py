"""A small Chrome DevTools Protocol client for the browser tests: one headless Chromium,
pages opened from disk, console errors, exceptions and requests recorded, screenshots.

Only the standard library and ``websocket-client``. Every wait has a deadline.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import websocket

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_browser() -> str | None:
    override = os.environ.get("APTNARRATE_BROWSER")
    if override:
        return override if shutil.which(override) or Path(override).is_file() else None
    return next((found for name in BROWSERS if (found := shutil.which(name))), None)


@dataclass
class PageResult:
    url: str
    console_errors: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)  # every URL the page asked for
    status: dict = field(default_factory=dict)  # what the page's checks returned
    screenshot: bytes = b""

    def outside_requests(self) -> list[str]:
        """Requests to anything but the page itself (and data: URLs, which stay in the page)."""
        return [u for u in self.requests if u != self.url and not u.startswith("data:")]


class Browser:
    """Headless Chromium driven over CDP (flattened sessions on the browser socket)."""

    def __init__(self, executable: str, timeout_s: float = 30.0):
        self.timeout_s = timeout_s
        self._profile = tempfile.mkdtemp(prefix="aptnarrate-chromium-")
        self._process = subprocess.Popen(
            [
                executable, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--metrics-recording-only",
                "--host-resolver-rules=MAP * ~NOTFOUND", "--remote-debugging-port=0",
                f"--user-data-dir={self._profile}", "--window-size=1280,900", "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        url = self._devtools_url()
        self._socket = websocket.create_connection(url, timeout=timeout_s, suppress_origin=True)
        self._next_id = 0
        self._events: list[dict] = []

    def _devtools_url(self) -> str:
        deadline = time.monotonic() + self.timeout_s
        seen = []
        while time.monotonic() < deadline:
            line = self._process.stderr.readline()
            if not line:
                if self._process.poll() is not None:
                    break
                continue
            seen.append(line)
            match = re.search(r"DevTools listening on (ws://\S+)", line)
            if match:
                return match.group(1)
        self.close()
        raise RuntimeError("Chromium did not start: " + "".join(seen[-10:]))

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self._socket.send(json.dumps(message))
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline:
            reply = json.loads(self._socket.recv())
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self._events.append(reply)
        raise TimeoutError(method)

    def _drain(self, seconds: float) -> None:
        """Collect events for ``seconds``."""
        end = time.monotonic() + seconds
        self._socket.settimeout(0.1)
        try:
            while time.monotonic() < end:
                try:
                    self._events.append(json.loads(self._socket.recv()))
                except websocket.WebSocketTimeoutException:
                    continue
        finally:
            self._socket.settimeout(self.timeout_s)

    def open(
        self, path: Path, ready_js: str, checks_js: str, clip_js: str | None = None,
        hover_js: str | None = None, after_hover_js: str | None = None, width: int = 1280, height: int = 900,
    ) -> PageResult:
        """Open ``path`` in a fresh tab, wait until ``ready_js`` is true, evaluate
        ``checks_js`` (a JSON-returning expression) and take a screenshot of the region
        ``clip_js`` returns as JSON {x, y, width, height} (the viewport when None).
        ``hover_js`` returns the viewport point {x, y} to move a real mouse to; then
        ``after_hover_js`` is evaluated into ``status["hover"]``."""
        url = path.resolve().as_uri()
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        result = PageResult(url=url)
        try:
            for domain in ("Runtime", "Log", "Network", "Page"):
                self.send(f"{domain}.enable", session=session)
            self.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}, session=session)
            self._events.clear()
            self.send("Page.navigate", {"url": url}, session=session)
            deadline = time.monotonic() + self.timeout_s
            while time.monotonic() < deadline:
                done = self.send("Runtime.evaluate", {"expression": ready_js, "returnByValue": True}, session=session)
                if done.get("result", {}).get("value") is True:
                    break
                self._drain(0.2)
            else:
                raise TimeoutError(f"page not ready: {ready_js}")
            self._drain(0.5)  # late console messages and requests
            value = self.send("Runtime.evaluate", {"expression": checks_js, "returnByValue": True}, session=session)
            result.status = json.loads(value["result"]["value"])
            if hover_js:
                point = json.loads(self.send("Runtime.evaluate", {"expression": hover_js, "returnByValue": True}, session=session)["result"]["value"])
                for dx in (0, 1):  # two moves: the first enters the mark, the second fires mousemove on it
                    self.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": point["x"] + dx, "y": point["y"]}, session=session)
                self._drain(0.5)
                after = self.send("Runtime.evaluate", {"expression": after_hover_js, "returnByValue": True}, session=session)
                result.status["hover"] = json.loads(after["result"]["value"])
                self.send("Runtime.evaluate", {"expression": "window.scrollTo(0, 0)"}, session=session)
            params = {"format": "png"}
            if clip_js:
                clip = json.loads(self.send("Runtime.evaluate", {"expression": clip_js, "returnByValue": True}, session=session)["result"]["value"])
                params.update(clip={**clip, "scale": 1}, captureBeyondViewport=True)
            shot = self.send("Page.captureScreenshot", params, session=session)
            result.screenshot = base64.b64decode(shot["data"])
            self._collect(result, session)
        finally:
            self.send("Target.closeTarget", {"targetId": target})
        return result

    def _collect(self, result: PageResult, session: str) -> None:
        for event in self._events:
            if event.get("sessionId") != session:
                continue
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                result.console_errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                entry = params["entry"]
                result.console_errors.append(f"{entry.get('source')}: {entry.get('text')}")
            elif method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                result.exceptions.append(details.get("exception", {}).get("description") or details.get("text", ""))
            elif method == "Network.requestWillBeSent":
                result.requests.append(params.get("request", {}).get("url", ""))

    def close(self) -> None:
        try:
            if getattr(self, "_socket", None):
                self._socket.close()
        finally:
            if self._process.poll() is None:
                self._process.terminate()
                try:
                    self._process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait(timeout=10)
            shutil.rmtree(self._profile, ignore_errors=True)
