"""flowstate.py: per-flow working state shared by the addons, kept beside the flow, never inside it.

flow.metadata may hold only JSON primitives (it is serialised with saved flows), so the rich
objects (RequestFacts, Decision, findings) live here, keyed weakly by the flow object; the
addons copy a primitive summary into flow.metadata["sg"].
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from typing import Any

from addons.model import Decision
from addons.model import RequestFacts


@dataclass
class FlowState:
    facts: RequestFacts
    event_id: str
    ruleset_fingerprint: str = ""
    inspect: bool = False  # body will be buffered and scanned
    decision: Decision | None = None
    decided_at: str = ""  # requestheaders | request
    redacted: bool = False
    error: str | None = None  # internal error while enforcing (fail mode applied)
    notes: list[str] = field(default_factory=list)
    logged: bool = False
    mcp_tools: tuple[str, ...] = ()  # tool names from a tools/list result (set by McpSessions)

    def update(self, **changes: Any) -> None:
        self.facts = replace(self.facts, **changes)


_STATES: weakref.WeakKeyDictionary[Any, FlowState] = weakref.WeakKeyDictionary()


def get_state(flow: Any) -> FlowState | None:
    return _STATES.get(flow)


def set_state(flow: Any, state: FlowState) -> None:
    _STATES[flow] = state


def drop_state(flow: Any) -> None:
    _STATES.pop(flow, None)
