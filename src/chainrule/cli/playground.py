"""The `chainrule playground` subcommand: serve the live playground (the `web` extra).

chainrule playground [--port 8000] [--host 127.0.0.1] [--no-browser]
"""

from __future__ import annotations

import argparse
import importlib.util
import socket
import sys
import threading
import webbrowser
from collections.abc import Callable
from typing import Any

EXTRA_MESSAGE = (
    'the playground needs the web extra (Starlette and uvicorn): pip install "chainrule[web]"'
)


def add_parsers(sub: Any) -> None:
    """Add the playground subparser to `sub` (argparse subparsers)."""
    parser = sub.add_parser(
        "playground",
        help="serve the live playground (expression lab, network lab, exercises) in a browser",
        description="Serve the live playground on HOST:PORT and open it in the browser: the "
        "expression lab (step through backpropagation node by node), the network lab (train a "
        "small network on 2-D data live) and the course's exercises. Needs the web extra: "
        'pip install "chainrule[web]". Stop it with Ctrl-C.',
    )
    parser.add_argument("--port", type=int, default=0, help="the port (default: a free one)")
    parser.add_argument(
        "--host", default="127.0.0.1", help="the address to listen on (default: 127.0.0.1)"
    )
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser")


def free_port(host: str) -> int:
    """A port that is free on `host` now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def run_playground(args: argparse.Namespace) -> int:
    missing = [m for m in ("starlette", "uvicorn") if importlib.util.find_spec(m) is None]
    if missing:
        print(f"chainrule playground: error: {EXTRA_MESSAGE}", file=sys.stderr)
        return 2
    if not 0 <= args.port <= 65535:
        raise ValueError(f"--port must be 0 to 65535, got {args.port}")
    import uvicorn

    from chainrule.playground.app import create_app

    port = args.port or free_port(args.host)
    url = f"http://{args.host}:{port}/"
    print(f"chainrule playground: serving on {url} (Ctrl-C stops it)", flush=True)
    if not args.no_browser:
        threading.Timer(1.0, webbrowser.open, (url,)).start()
    # an open event stream never finishes on its own: give it 2 s at Ctrl-C, then close it
    uvicorn.run(
        create_app(), host=args.host, port=port, log_level="warning", timeout_graceful_shutdown=2
    )
    return 0


HANDLERS: dict[str, Callable[[argparse.Namespace], int]] = {"playground": run_playground}
