"""The playground's server through Starlette's test client: every page and endpoint, bad input
answered with HTTP 400 and a message naming the problem, the course presets' closed forms, and
two sessions training at once without disturbing each other."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

pytest.importorskip("starlette", reason="the playground needs the web extra (starlette)")
from starlette.testclient import TestClient

import chainrule as cr
from chainrule.cli import main
from chainrule.playground import network_lab
from chainrule.playground.app import create_app
from chainrule.playground.presets import PRESETS
from chainrule.playground.sessions import Sessions
from chainrule.viz.format import format_value

EX2 = "a3*sigmoid(alpha*a1*x + (1-alpha)*a2*x)"
EX2_AT = "a1=0.5, a2=-1, a3=2, alpha=0.25, x=1.5"
A, B = "session-a-0001", "session-b-0002"


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(create_app()) as c:  # the with block runs the lifespan (stops trainers)
        yield c


def post(client: TestClient, path: str, session: str = A, **body: Any) -> Any:
    return client.post(path, json={"session": session, **body})


def ok(client: TestClient, path: str, session: str = A, **body: Any) -> Any:
    r = post(client, path, session, **body)
    assert r.status_code == 200, r.text
    return r.json()


def ex2_tensor() -> cr.Tensor:
    env = {}
    for name, v in dict(a1=0.5, a2=-1.0, a3=2.0, alpha=0.25, x=1.5).items():
        env[name] = cr.tensor(v, dtype=cr.float64, requires_grad=True)
        env[name].name = name
    with cr.viz.record():
        u = env["alpha"] * env["a1"] * env["x"] + (1 - env["alpha"]) * env["a2"] * env["x"]
        return env["a3"] * cr.sigmoid(u)


# -- pages and files -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "needle"),
    [
        ("/", "Expression lab"),
        ("/expression", "expression.js"),
        ("/network", "network.js"),
        ("/exercises", "The course's exercises"),
        ("/static/common.js", "export async function api"),
        ("/static/vendor/viz-js/viz-global.js", "Viz.js 3.31.0"),
        ("/static/vendor/uplot/uPlot.esm.js", "uPlot"),
    ],
)
def test_pages_and_vendored_files_are_served(client: TestClient, path: str, needle: str) -> None:
    r = client.get(path)
    assert r.status_code == 200 and needle in r.text


def test_presets_are_listed(client: TestClient) -> None:
    ids = [p["id"] for p in client.get("/api/presets").json()]
    assert ids == ["000-ex1", "000-ex2", "000-ex3", "000-ex3-network", "001-1.1", "001-1.2"]


# -- the expression lab --------------------------------------------------------------------------
def test_ex2_builds_the_same_graph_as_draw_and_steps_like_explain(client: TestClient) -> None:
    data = ok(client, "/api/expression", expr=EX2, at=EX2_AT)
    out = ex2_tensor()
    assert data["boxes"] == len(cr.viz.draw(out).nodes) == 14
    ledger = cr.explain(out)
    assert data["count"] == 1 + 8 + len(ledger.rows)  # start, 8 ops forward, the ledger rows
    assert data["step"]["phase"] == "start" and "digraph" in data["step"]["dot"]
    for name, g in ledger.gradients.items():
        assert data["gradients"][name] == pytest.approx(float(g))
    # the first backward step finishes the forward pass, then shows the ledger's first row
    step = ok(client, "/api/expression/step", action="backward")
    row = ledger.rows[0]
    assert step["phase"] == "backward" and step["name"] == row.output == "L"
    assert step["ledger"]["upstream"] == format_value(np.asarray(row.upstream), 6)
    assert [t["gradient"] for t in step["ledger"]["terms"]] == [
        format_value(np.asarray(t.gradient), 6) for t in row.terms
    ]
    step = ok(client, "/api/expression/step", action="backward")
    assert step["name"] == ledger.rows[1].output
    assert ok(client, "/api/expression/step", action="back")["index"] == step["index"] - 1
    assert ok(client, "/api/expression/step", action="reset")["index"] == 0
    assert ok(client, "/api/expression/step", action="forward")["phase"] == "forward"
    last = ok(client, "/api/expression/step", action="all")
    assert last["index"] == data["count"] - 1 and last["name"] == ledger.rows[-1].output
    assert ok(client, "/api/expression/step", action="backward")["index"] == last["index"]


def test_matrices_and_default_values(client: TestClient) -> None:
    data = ok(
        client, "/api/expression", expr="sum(W@x)", at="W=[[1, 2], [3, 4]], x=[0.5, -1]", wrt="W"
    )
    assert data["names"] == ["W", "x"] and data["wrt"] == ["W"]
    assert data["gradients"]["W"] == [[0.5, -1], [0.5, -1]]
    data = ok(client, "/api/expression", expr="x*y", at="x=2")
    assert data["gradients"] == {"x": 0.5, "y": 2}  # y defaults to 0.5


def test_a_right_and_a_wrong_derivative_are_reported(client: TestClient) -> None:
    ok(client, "/api/expression", expr=EX2, at=EX2_AT)
    right = "a3*sigmoid(alpha*a1*x + (1-alpha)*a2*x)*(1 - sigmoid(alpha*a1*x + (1-alpha)*a2*x))"
    good = ok(client, "/api/expression/check", wrt="a1", grad=f"{right}*alpha*x")
    assert good["ok"] is True and "HOLDS" in good["report"]
    bad = ok(client, "/api/expression/check", wrt="a1", grad="a3*sigmoid(alpha*a1*x)*x")
    assert bad["ok"] is False and "DOES NOT HOLD" in bad["report"]
    assert "d/da1: yours" in bad["report"]


@pytest.mark.parametrize(
    "preset", [p for p in PRESETS if p["lab"] == "expression"], ids=lambda p: p["id"]
)
def test_each_exercise_closed_form_equals_autodiff(client: TestClient, preset: dict) -> None:
    data = ok(
        client,
        "/api/expression",
        expr=preset["expr"],
        at=preset["at"],
        wrt=preset["wrt"],
        closed=preset["closed"],
    )
    assert [c["wrt"] for c in data["closed"]] == list(preset["closed"])
    for c in data["closed"]:
        np.testing.assert_allclose(c["value"], c["autodiff"], rtol=1e-10, atol=1e-12)
    report = ok(client, "/api/expression/check", **preset["check"])
    assert report["ok"] is True, report["report"]


BAD_EXPRESSIONS = [
    ({"expr": "a3*sigmoid(a1*x"}, "expression: "),
    ({"expr": "softplus(x)"}, "unknown function 'softplus'"),
    ({"expr": "__import__('os').system('true')"}, "expression: "),
    ({"expr": "x" + "+x" * 200}, "characters long; the limit is 300"),
    ({"expr": ""}, "expr is missing"),
    ({"expr": "2+3"}, "it has no variables"),
    ({"expr": "x*y", "at": "z=1"}, "z not in the expression"),
    ({"expr": "sum(x)", "at": "x=" + str([0.5] * 65)}, "at most 64 entries"),
    ({"expr": "sum(eye(100)*x)"}, "eye(100) is too large"),
    ({"expr": "x*y", "wrt": "q"}, "wrt: q not in the expression"),
    ({"expr": "x@y", "at": "x=[1, 2], y=[1, 2, 3]"}, "expression: "),
]


@pytest.mark.parametrize(("body", "message"), BAD_EXPRESSIONS)
def test_bad_expressions_get_a_message_and_the_server_stays_up(
    client: TestClient, body: dict, message: str
) -> None:
    r = post(client, "/api/expression", **body)
    assert r.status_code == 400 and message in r.json()["error"]
    assert ok(client, "/api/expression", expr="x*x")["boxes"] == 2


def test_bad_requests_are_400_with_a_reason(client: TestClient) -> None:
    r = client.post("/api/expression", content=b"not json")
    assert r.status_code == 400 and r.json() == {"error": "the request is not JSON"}
    r = client.post("/api/expression", json=[1, 2])
    assert r.status_code == 400 and "JSON object" in r.json()["error"]
    r = post(client, "/api/expression", session="../etc", expr="x")
    assert r.status_code == 400 and "session must be an id" in r.json()["error"]
    r = post(client, "/api/expression/step", session="fresh-session-1", action="forward")
    assert r.status_code == 400 and "no expression yet" in r.json()["error"]
    ok(client, "/api/expression", expr="x*x")
    r = post(client, "/api/expression/step", action="sideways")
    assert r.status_code == 400 and "action must be" in r.json()["error"]
    r = post(client, "/api/expression/check", wrt="q", grad="1")
    assert r.status_code == 400 and "wrt must be one of" in r.json()["error"]
    r = post(client, "/api/expression/check", wrt="x", grad="2*x*y")
    assert r.status_code == 400 and "uses y" in r.json()["error"]
    r = client.post("/api/expression", content=b" " * 70_000)
    assert r.status_code == 400 and "the limit is 64000" in r.json()["error"]


# -- the network lab -----------------------------------------------------------------------------
BAD_NETWORKS = [
    ({"hidden": [8, 0]}, "hidden: layer 2 has width 0; widths must be 1 to 64"),
    ({"hidden": [100000]}, "hidden: layer 1 has width 100000"),
    ({"hidden": [4] * 7}, "7 layers; the limit is 6"),
    ({"hidden": "8,x"}, "hidden must be widths like 8,8"),
    ({"lr": -1}, "lr (the learning rate) must be positive, got -1"),
    ({"lr": "fast"}, "lr must be a number"),
    ({"points": 5000}, "points must be between 20 and 2000"),
    ({"dataset": "mnist"}, "dataset must be one of moons"),
    ({"activation": "gelu"}, "activation must be one of"),
    ({"noise": float("nan")}, "noise must be"),
    ({"batch": 0}, "batch must be between 1 and 2000"),
]


@pytest.mark.parametrize(("body", "message"), BAD_NETWORKS)
def test_bad_networks_get_a_message(client: TestClient, body: dict, message: str) -> None:
    r = client.post("/api/network", content=json.dumps({"session": A, **body}))
    assert r.status_code == 400 and message in r.json()["error"]


def test_network_build_step_inspect_and_stream(client: TestClient) -> None:
    r = post(client, "/api/network/control", action="step")
    assert r.status_code == 400 and "no network yet" in r.json()["error"]
    data = ok(client, "/api/network", hidden=[8, 8], points=200, seed=1)
    assert len(data["points"]["train"]) + len(data["points"]["test"]) == 200
    snap = data["snapshot"]
    assert snap["sizes"] == [2, 8, 8, 2] and snap["step"] == 0
    assert len(snap["boundary"]) == network_lab.GRID**2
    r = post(client, "/api/network/inspect", layer=0, row=0, col=0)
    assert r.status_code == 400 and "no backward yet" in r.json()["error"]
    snap = ok(client, "/api/network/control", action="step")
    assert snap["step"] == 1 and snap["layers"][1]["grad_weight"] is not None
    trainer = client.app.state.sessions.get(A).trainer  # type: ignore[attr-defined]
    info = ok(client, "/api/network/inspect", layer=1, row=2, col=3)
    assert info["name"] == "W2[2, 3]"
    assert info["grad"] == pytest.approx(float(trainer.last_grads[2][2, 3]), rel=1e-5)
    assert info["value"] == pytest.approx(float(trainer.last_weights[2][2, 3]))
    assert "Linear" in info["ledger"] and "dL/dW2" in info["ledger"]
    bias = ok(client, "/api/network/inspect", layer=2, row=1, col=None)
    assert bias["name"] == "b3[1]"
    assert bias["grad"] == pytest.approx(float(trainer.last_grads[5][1]), rel=1e-5)
    r = post(client, "/api/network/inspect", layer=1, row=9, col=0)
    assert r.status_code == 400 and "8x8 weight" in r.json()["error"]
    r = post(client, "/api/network/control", action="rewind")
    assert r.status_code == 400 and "action must be play, pause or step" in r.json()["error"]
    ok(client, "/api/network/control", action="play")
    events = []
    with client.stream("GET", f"/api/network/stream?session={A}&limit=3") as stream:
        for line in stream.iter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
    assert len(events) == 3
    assert [e["version"] for e in events] == sorted({e["version"] for e in events})
    assert events[-1]["step"] > 1  # training went on in its thread while the stream read it
    assert client.get("/api/network/stream?session=x").status_code == 400


def wait_for(condition: Any, timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.02)


def test_two_sessions_train_at_once_without_disturbing_each_other(client: TestClient) -> None:
    ok(client, "/api/network", A, dataset="moons", hidden=[8, 8], points=500)
    ok(client, "/api/network", B, dataset="circles", hidden=[4], points=300, seed=3)
    sessions = client.app.state.sessions  # type: ignore[attr-defined]
    a, b = sessions.get(A).trainer, sessions.get(B).trainer
    ok(client, "/api/network/control", A, action="play")
    ok(client, "/api/network/control", B, action="play")
    wait_for(lambda: a.step_count > 20 and b.step_count > 20)
    assert a.sizes == [2, 8, 8, 2] and b.sizes == [2, 4, 2]  # each its own network
    snap_b = ok(client, "/api/network/control", B, action="pause")
    assert snap_b["sizes"] == [2, 4, 2] and len(snap_b["layers"]) == 2
    paused_at, a_at = b.step_count, a.step_count
    wait_for(lambda: a.step_count > a_at + 20)  # A goes on while B is paused
    assert b.step_count == paused_at
    wait_for(lambda: a.snapshot()["test_acc"] >= 0.95)
    ok(client, "/api/network/control", A, action="pause")


def test_sessions_are_capped_and_a_dropped_one_stops_training() -> None:
    sessions = Sessions(limit=2)
    first = sessions.get("first-session")
    trainer = network_lab.Trainer(network_lab.config({"points": 50}))
    first.set_trainer(trainer)
    sessions.get("second-session")
    sessions.get("third-session")  # drops the least recently used: the first
    assert len(sessions) == 2 and trainer.closed.is_set()
    trainer.thread.join(2)
    assert not trainer.thread.is_alive()


# -- the command ---------------------------------------------------------------------------------
def test_command_without_the_web_extra_says_which_to_install(monkeypatch, capsys) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "uvicorn" else real(name, *a)
    )
    assert main(["playground", "--no-browser"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "chainrule playground: error: the playground needs the web extra (Starlette "
        'and uvicorn): pip install "chainrule[web]"'
    ]


def test_command_help_and_bad_port(capsys) -> None:
    with pytest.raises(SystemExit) as done:
        main(["playground", "--help"])
    assert done.value.code == 0 and "--no-browser" in capsys.readouterr().out
    with pytest.raises(SystemExit) as done:
        main(["playground", "--port", "70000", "--no-browser"])
    assert done.value.code == 2 and "--port must be 0 to 65535" in capsys.readouterr().err
