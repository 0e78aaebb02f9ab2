"""Drive headless Chromium from Python with the standard library only: the DevTools protocol over a pipe.

The explorer's numbers (the page decodes as Python does, and how fast) are measured in a real browser
by the tests and `benchmarks/explore_speed.py`. Chromium's `--remote-debugging-pipe` speaks the
DevTools protocol as NUL-terminated JSON on file descriptors 3 (commands in) and 4 (replies out), so
no websocket client, no npm driver and no new Python dependency is needed.

    with Chromium() as browser:
        page = browser.open("file:///.../index.html")
        page.evaluate("1 + 1")  # -> 2 (promises are awaited)
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from genlab.errors import GenlabError

__all__ = ["Chromium", "Page", "file_url", "find_chromium"]

#: flags for a closed network: no background connections, no first-run work, no GPU
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--mute-audio",
    "--window-size=1280,1000",
    "--remote-debugging-pipe",
)


_TRAMPOLINE = """
import os, sys
r, w = (os.dup(int(fd)) for fd in sys.argv[1:3])  # out of the way of 3 and 4 first
os.dup2(r, 3)
os.dup2(w, 4)
os.set_inheritable(3, True)  # dup2 onto itself keeps dup's close-on-exec flag
os.set_inheritable(4, True)
for fd in {r, w, *map(int, sys.argv[1:3])} - {3, 4}:
    os.close(fd)
os.execv(sys.argv[3], sys.argv[3:])
"""


def find_chromium() -> str | None:
    """Path of a Chromium or Chrome executable ($GENLAB_CHROMIUM first), or None."""
    names = [os.environ.get("GENLAB_CHROMIUM", ""), "/usr/bin/chromium", "chromium", "chromium-browser"]
    for name in [*names, "google-chrome", "google-chrome-stable"]:
        found = shutil.which(name) if name else None
        if found:
            return found
    return None


class Chromium:
    """A headless Chromium process with a DevTools pipe; use as a context manager."""

    def __init__(self, executable: str | None = None, *, timeout: float = 60.0) -> None:
        exe = executable or find_chromium()
        if exe is None:
            raise GenlabError(
                "headless Chromium not found (install the chromium package, or set GENLAB_CHROMIUM)"
            )
        self.timeout = float(timeout)
        self._profile = tempfile.mkdtemp(prefix="genlab-chromium-")
        cmd_r, self._cmd_w = os.pipe()  # we write commands, Chromium reads them on fd 3
        self._out_r, out_w = os.pipe()  # Chromium writes replies on fd 4, we read them
        args = [exe, *FLAGS, f"--user-data-dir={self._profile}", "about:blank"]
        self._log = open(Path(self._profile) / "chromium.log", "wb")  # noqa: SIM115 - closed in close()
        # a tiny Python trampoline moves the two pipe ends onto fds 3 and 4, then becomes Chromium
        # (no preexec_fn, which is unsafe with threads; a POSIX shell cannot name fds above 9)
        self._proc = subprocess.Popen(
            [sys.executable, "-c", _TRAMPOLINE, str(cmd_r), str(out_w), *args],
            pass_fds=(cmd_r, out_w),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
        )
        os.close(cmd_r)
        os.close(out_w)
        self._buf = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []

    # ------------------------------------------------------------------ protocol
    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("Chromium did not answer in time")
            ready, _, _ = select.select([self._out_r], [], [], left)
            if ready:
                chunk = os.read(self._out_r, 1 << 20)
                if not chunk:
                    raise GenlabError(f"Chromium closed its DevTools pipe (did it crash?){self._log_tail()}")
                self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return json.loads(raw)

    def send(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        session: str | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Send one command and wait for its reply; events that arrive meanwhile go to `self.events`."""
        self._next_id += 1
        msg: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        data = memoryview(json.dumps(msg).encode() + b"\0")
        try:
            while data:  # a pipe may take a long command in parts
                data = data[os.write(self._cmd_w, data) :]
        except BrokenPipeError:
            raise GenlabError(f"Chromium is gone (did it crash?){self._log_tail()}") from None
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise GenlabError(f"Chromium: {method} failed: {reply['error'].get('message')}")
                return reply.get("result", {})
            self.events.append(reply)

    def _log_tail(self) -> str:
        self._log.flush()
        try:
            text = (Path(self._profile) / "chromium.log").read_text(errors="replace").strip()
        except OSError:
            return ""
        return ("; its last words: " + text[-1500:]) if text else ""

    def open(self, url: str) -> Page:
        """A new tab at `url`, attached; returns once the page's load event has fired."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, session)
        self.send("Page.enable", session=session)
        self.send("Runtime.enable", session=session)
        self.send("Page.navigate", {"url": url}, session=session)
        page.wait_for("document.readyState === 'complete'")
        return page

    def close(self) -> None:
        if self._proc.poll() is None:
            with contextlib.suppress(GenlabError, TimeoutError, OSError):
                self.send("Browser.close", timeout=5)
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        for fd in (self._cmd_w, self._out_r):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._log.close()
        shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Page:
    """One attached tab: evaluate JavaScript (promises awaited, values returned as JSON) and send input."""

    def __init__(self, browser: Chromium, session: str) -> None:
        self.browser, self.session = browser, session

    def evaluate(self, expression: str, *, timeout: float | None = None) -> Any:
        res = self.browser.send(
            "Runtime.evaluate",
            {"expression": expression, "awaitPromise": True, "returnByValue": True},
            session=self.session,
            timeout=timeout,
        )
        if "exceptionDetails" in res:
            d = res["exceptionDetails"]
            text = d.get("exception", {}).get("description") or d.get("text")
            raise GenlabError(f"page script failed: {text}")
        return res.get("result", {}).get("value")

    def wait_for(self, expression: str, *, timeout: float | None = None) -> None:
        """Poll until `expression` is truthy in the page."""
        deadline = time.monotonic() + (self.browser.timeout if timeout is None else timeout)
        while not self.evaluate(expression):
            if time.monotonic() > deadline:
                raise TimeoutError(f"page: {expression!r} still false after the timeout")
            time.sleep(0.05)

    def mouse(self, kind: str, x: float, y: float) -> None:
        """A mouse event at page coordinates: kind "mouseMoved", "mousePressed" or "mouseReleased"."""
        params: dict[str, Any] = {"type": kind, "x": float(x), "y": float(y)}
        if kind != "mouseMoved":
            params.update(button="left", clickCount=1)
        self.browser.send("Input.dispatchMouseEvent", params, session=self.session)

    def console_errors(self) -> list[str]:
        """Exceptions thrown in the page so far (from the events seen)."""
        out = []
        for e in self.browser.events:
            if e.get("sessionId") == self.session and e.get("method") == "Runtime.exceptionThrown":
                d = e["params"]["exceptionDetails"]
                out.append(d.get("exception", {}).get("description") or d.get("text", "?"))
        return out


def file_url(path: str | Path) -> str:
    return Path(path).resolve().as_uri()
