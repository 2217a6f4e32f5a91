"""One session per browser tab: its expression state and its trainer, kept by id.

The page makes its id (`crypto.randomUUID()`) and sends it with every request; the store keeps
at most `MAX_SESSIONS`, dropping (and stopping the trainer of) the least recently used.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from chainrule.playground.expression_lab import ExpressionState
from chainrule.playground.limits import MAX_SESSIONS, PlaygroundError
from chainrule.playground.network_lab import Trainer

SESSION_ID = re.compile(r"^[A-Za-z0-9-]{8,64}$")


@dataclass
class Session:
    id: str
    expression: ExpressionState | None = None
    trainer: Trainer | None = None
    used: float = field(default_factory=time.monotonic)

    def set_trainer(self, trainer: Trainer) -> None:
        if self.trainer is not None:
            self.trainer.close()
        self.trainer = trainer

    def close(self) -> None:
        if self.trainer is not None:
            self.trainer.close()


class Sessions:
    """The sessions of one server (thread-safe)."""

    def __init__(self, limit: int = MAX_SESSIONS) -> None:
        self.limit = limit
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def get(self, session_id: Any) -> Session:
        if not isinstance(session_id, str) or not SESSION_ID.match(session_id):
            raise PlaygroundError(
                f"session must be an id of 8 to 64 letters, digits or dashes, got {session_id!r}"
            )
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                session = self._sessions[session_id] = Session(session_id)
                if len(self._sessions) > self.limit:
                    oldest = min(self._sessions.values(), key=lambda s: s.used)
                    del self._sessions[oldest.id]
                    oldest.close()
            session.used = time.monotonic()
            return session

    def __len__(self) -> int:
        return len(self._sessions)

    def close(self) -> None:
        with self._lock:
            for session in self._sessions.values():
                session.close()
            self._sessions.clear()
