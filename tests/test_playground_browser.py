"""The playground in a real browser: Playwright for Python driving Debian's chromium (never a
downloaded browser), against a uvicorn server in a thread of this process.

Each test loads its pages fresh, fails on any console error or uncaught exception, and saves a
screenshot of each page into ${CHAINRULE_ARTIFACTS:-artifacts}/playground/ (CI keeps it).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

CHROMIUM = "/usr/bin/chromium"
if not os.path.exists(CHROMIUM):
    pytest.skip(
        f"chromium is not installed at {CHROMIUM} (apt-get install chromium)",
        allow_module_level=True,
    )
playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
uvicorn = pytest.importorskip("uvicorn", reason="the web extra (uvicorn) is not installed")

import chainrule as cr  # noqa: E402  (after the skips: without chromium nothing below is needed)
from chainrule.playground.app import create_app  # noqa: E402
from chainrule.viz.format import format_value  # noqa: E402

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
EX2 = "a3*sigmoid(alpha*a1*x + (1-alpha)*a2*x)"
EX2_AT = "a1=0.5, a2=-1, a3=2, alpha=0.25, x=1.5"
SHOTS = Path(os.environ.get("CHAINRULE_ARTIFACTS", "artifacts")) / "playground"


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(
        create_app(), host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=1
    )
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    end = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < end and thread.is_alive(), "the server did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


class Page:
    """A page in a fresh context (so a session of its own) that records console errors."""

    def __init__(self, browser: Any, base: str, path: str) -> None:
        self.context = browser.new_context(viewport={"width": 1400, "height": 1000})
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(base + path)
        self.page.wait_for_selector("body[data-ready='1']", timeout=20_000)

    def shot(self, name: str) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)

    def close(self, allowed: tuple[str, ...] = ()) -> None:
        errors = [e for e in self.errors if not any(a in e for a in allowed)]
        self.context.close()
        assert errors == [], errors


def ex2_tensor() -> cr.Tensor:
    env = {}
    for name, v in dict(a1=0.5, a2=-1.0, a3=2.0, alpha=0.25, x=1.5).items():
        env[name] = cr.tensor(v, dtype=cr.float64, requires_grad=True)
        env[name].name = name
    with cr.viz.record():
        u = env["alpha"] * env["a1"] * env["x"] + (1 - env["alpha"]) * env["a2"] * env["x"]
        return env["a3"] * cr.sigmoid(u)


def test_home_and_exercise_pages_load(browser: Any, server: str) -> None:
    home = Page(browser, server, "/")
    for path in ("/expression", "/network", "/exercises"):
        assert home.page.locator(f"main a[href='{path}']").count() == 1
    home.shot("home")
    home.close()
    ex = Page(browser, server, "/exercises")
    assert ex.page.locator("#list a").count() == 6
    assert ex.page.locator("#list a[href='/expression?preset=000-ex2']").count() == 1
    ex.shot("exercises")
    ex.close()


def test_ex2_drawing_backward_steps_and_ledger_match_explain(browser: Any, server: str) -> None:
    lab = Page(browser, server, "/expression")
    page = lab.page
    page.fill("#expr", EX2)
    page.fill("#at", EX2_AT)
    page.click("#build")
    page.wait_for_function("document.querySelector('#counter').textContent.startsWith('frame 0')")
    out = ex2_tensor()
    assert page.locator("#graph svg g.node").count() == len(cr.viz.draw(out).nodes) == 14
    ledger = cr.explain(out)
    for k in (0, 1):  # the first two backward steps: the root's row, then sigmoid's
        page.click("#backward")
        row = ledger.rows[k]
        page.wait_for_selector(f"#ledger [data-output='{row.output}']")
        highlighted = page.locator("#graph g.node.highlight")
        assert highlighted.count() == 1
        assert (
            highlighted.locator("text")
            .first.text_content()
            .startswith(  # type: ignore[union-attr]
                f"{row.output} = {row.call}"
            )
        )
        shown = page.get_attribute("#ledger [data-output]", "data-upstream")
        assert shown == format_value(np.asarray(row.upstream), 6)
        terms = page.locator("#ledger tr.term")
        assert terms.count() == len(row.terms)
        for i, term in enumerate(row.terms):
            assert terms.nth(i).get_attribute("data-input") == term.input
            assert terms.nth(i).get_attribute("data-local") == format_value(
                np.asarray(term.local), 6
            )
            assert terms.nth(i).get_attribute("data-gradient") == format_value(
                np.asarray(term.gradient), 6
            )
    lab.shot("expression")
    page.click("#all")
    page.wait_for_selector("#ledger p.sum")  # the last row completes a fan-out sum
    lab.close()


def test_a_wrong_derivative_shows_the_report(browser: Any, server: str) -> None:
    lab = Page(browser, server, "/expression")
    page = lab.page
    page.fill("#check-wrt", "a1")
    page.fill("#check-grad", "a3*sigmoid(alpha*a1*x)*x")
    page.click("#check")
    page.wait_for_selector("#verdict .bad")
    assert "DOES NOT HOLD" in page.inner_text("#report")
    assert "d/da1: yours" in page.inner_text("#report")
    lab.close()


def test_bad_input_shows_an_inline_message(browser: Any, server: str) -> None:
    lab = Page(browser, server, "/expression")
    lab.page.fill("#expr", "softplus(x)")
    lab.page.click("#build")
    lab.page.wait_for_selector("#error:not([hidden])")
    assert "unknown function 'softplus'" in lab.page.inner_text("#error")
    lab.close(allowed=("status of 400",))  # the browser logs the 400 it was answered
    net = Page(browser, server, "/network")
    net.page.fill("#hidden", "8,0")
    net.page.click("#build")
    net.page.wait_for_selector("#error:not([hidden])")
    assert "layer 2 has width 0" in net.page.inner_text("#error")
    net.close(allowed=("status of 400",))


def test_two_pages_train_moons_at_once(browser: Any, server: str) -> None:
    a = Page(browser, server, "/network")
    b = Page(browser, server, "/network?preset=000-ex3-network")
    assert b.page.input_value("#activation") == "relu"
    a.page.click("#play")
    b.page.click("#play")

    def accuracy(p: Page) -> float:
        value = p.page.get_attribute("#test-acc", "data-value")
        return float(value or 0)

    end = time.monotonic() + 30
    while accuracy(a) < 0.95 or accuracy(b) < 0.95:
        assert time.monotonic() < end, (
            f"test accuracy {accuracy(a)}, {accuracy(b)} after steps "
            f"{a.page.inner_text('#stepcount')}, {b.page.inner_text('#stepcount')}"
        )
        time.sleep(0.1)
    a.page.click("#pause")
    a.page.wait_for_selector("body[data-playing='false']")
    step_a = a.page.inner_text("#stepcount")
    steps_b = int(b.page.inner_text("#stepcount"))
    time.sleep(0.5)
    assert int(b.page.inner_text("#stepcount")) > steps_b  # b still trains, a is paused
    assert a.page.inner_text("#stepcount") == step_a
    b.page.click("#pause")
    a.page.locator("#net line").first.click()
    a.page.wait_for_function("document.querySelector('#inspect').textContent.startsWith('W1[')")
    assert "last gradient" in a.page.inner_text("#inspect")
    a.shot("network")
    a.close()
    b.close()


def test_exercise_preset_shows_its_closed_form(browser: Any, server: str) -> None:
    lab = Page(browser, server, "/expression?preset=001-1.1")
    assert lab.page.input_value("#expr") == "sum(g*(W@x + b))"
    text = lab.page.inner_text("#closed")
    assert (
        "outer(g, x)" in text
        and "closedform:[[0.5,-1],[-1,2]],autodiff:[[0.5,-1],[-1,2]]" in text.replace(" ", "")
    )
    lab.shot("exercise")
    lab.close()
