"""A thin, safe wrapper over durable-rules: one pass of facts through the ruleset.

durable-rules is not thread-safe (eight threads on one ruleset crashed the
interpreter here) and its stock Host runs actions on background threads. So the
ruleset is driven directly, from one lock: each pass asserts its facts under a
fresh session id, runs the actions synchronously, and always deletes that
session's state, even on error, so live sessions never pile up (durable-rules
holds at most 1024 per ruleset).
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import durable_rules_engine as dre

from decision_aid.engine.compiler import PATIENT, SCREEN, Action, compile_knowledge, read_states, screen_fields
from decision_aid.errors import EngineError
from decision_aid.knowledge.loader import Knowledge

log = logging.getLogger(__name__)

# Result codes of durable_rules_engine.assert_fact (see durable/engine.py)
_OK = 0
_ruleset_names = itertools.count(1)


@dataclass(frozen=True)
class PassResult:
    """What one pass derived: red flags, finding states, tags and the rules that fired."""

    red_flags: tuple[str, ...]
    findings: dict[str, str]
    tags: frozenset[str]
    fired: tuple[str, ...]  # rule ids in firing order, each once
    trace: tuple[str, ...]  # every red flag, finding and rule in firing order

    @property
    def urgent(self) -> bool:
        return bool(self.red_flags)


class _Pass:
    """The mutable record of one pass while it runs."""

    def __init__(self, sid: str):
        self.sid = sid
        self.red_flags: list[str] = []
        self.findings: dict[str, str] = {}
        self.tags: set[str] = set()
        self.fired: dict[str, None] = {}
        self.trace: list[str] = []
        self.refused = False  # durable-rules refused a fact: do not touch this session again


class Engine:
    """The compiled knowledge; create one per process (see `decision_aid.default_engine`)."""

    def __init__(self, knowledge: Knowledge):
        self.knowledge = knowledge
        self.definition, self._actions = compile_knowledge(knowledge)
        self._screen_fields = screen_fields(knowledge)
        self._read_states = read_states(knowledge)
        self._lock = threading.Lock()
        self._sids = itertools.count(1)
        name = f"decision_aid_{next(_ruleset_names)}"
        self._handle = dre.create_ruleset(name, json.dumps(self.definition))

    @property
    def rule_count(self) -> int:
        """How many durable-rules rules the knowledge compiled to."""
        return len(self.definition)

    def run(self, values: dict[str, Any]) -> PassResult:
        """One pass: red flags first; only without any, the elective findings and rules."""
        with self._lock:
            record = _Pass(str(next(self._sids)))
            finished = False
            try:
                screen = {k: values[k] for k in self._screen_fields if k in values}
                self._assert(record, {"t": SCREEN, **screen})
                if not record.red_flags:
                    self._assert(record, {"t": PATIENT, **values})
                finished = True
            finally:
                # No Python function calls here: Python raises KeyboardInterrupt on entry to one,
                # which would skip the delete and leak the session (with a helper function here,
                # random interrupts crashed the interpreter within a few thousand passes).
                if record.refused:
                    # Deleting a session that durable-rules refused a fact in has crashed the
                    # interpreter here; leaking one session (of 1,024) is the lesser harm.
                    log.error("durable-rules refused a fact; session %s left undeleted", record.sid)
                else:
                    try:
                        dre.delete_state(self._handle, record.sid)
                    except dre.error:
                        # A pass interrupted (by Ctrl-C, say) before its first fact has no session
                        # to delete (error 309): why it stopped is what the caller must see.
                        if finished:
                            raise
        missing = [c.spec.id for c in self.knowledge.findings if c.spec.id not in record.findings]
        if missing and not record.red_flags:
            raise EngineError(f"no state was derived for finding(s) {', '.join(missing)}")
        log.debug("pass %s fired %s", record.sid, record.trace)
        return PassResult(
            red_flags=tuple(sorted(record.red_flags)),
            findings=record.findings,
            tags=frozenset(record.tags),
            fired=tuple(record.fired),
            trace=tuple(record.trace),
        )

    def _assert(self, record: _Pass, fact: dict[str, Any]) -> None:
        """Assert a fact and run every action it (and what the actions assert) triggers."""
        state_handle = self._assert_raw(record, fact)
        result = dre.start_action_for_state(self._handle, state_handle)
        message = result[1] if result else None
        while message:
            try:
                rule_name = _rule_name(message)
                self._act(record, self._actions[rule_name])
            except BaseException as error:
                dre.abandon_action(self._handle, state_handle)
                if isinstance(error, EngineError) or not isinstance(error, Exception):
                    raise  # ours, or KeyboardInterrupt/SystemExit: pass it on unchanged
                raise EngineError(f"action for {message[:80]!r} failed: {error!r}") from error
            message = dre.complete_and_start_action(self._handle, state_handle)

    def _assert_raw(self, record: _Pass, fact: dict[str, Any]) -> Any:
        try:
            code, state_handle = dre.assert_fact(self._handle, fact_json({"sid": record.sid, **fact}))
        except dre.error as error:
            record.refused = True
            raise EngineError(f"durable-rules refused fact {fact}: {error}") from None
        if code != _OK:
            # Never expected: the compiler adds a rule for every fact kind, and derived
            # facts are asserted only when some rule reads them.
            record.refused = True
            raise EngineError(f"durable-rules refused fact {fact} (code {code})")
        return state_handle

    def _act(self, record: _Pass, action: Action) -> None:
        if action.kind == "red_flag":
            if action.id not in record.red_flags:
                record.red_flags.append(action.id)
                record.trace.append(action.id)
        elif action.kind == "finding":
            known = record.findings.get(action.id)
            if known is None:
                record.findings[action.id] = action.state
                record.trace.append(f"{action.id} is {action.state}")
                self._derive(record, action.id, action.state)
            elif known != action.state:
                raise EngineError(f"finding {action.id} derived as both {known} and {action.state}")
        else:
            if action.id not in record.fired:
                record.fired[action.id] = None
                record.trace.append(action.id)
            for tag in action.tags:
                if tag not in record.tags:
                    record.tags.add(tag)
                    self._derive(record, tag, "present")

    def _derive(self, record: _Pass, name: str, state: str) -> None:
        if (name, state) in self._read_states:  # a fact no rule reads would only cost time
            self._assert_raw(record, {"t": "derived", "id": name, "state": state})


def fact_json(fact: dict[str, Any]) -> str:
    """A flat fact as JSON that durable-rules can parse: it rejects exponent notation
    (1e-05), which json.dumps writes for small floats, so those are written in full."""
    if not any(type(v) is float and "e" in repr(v) for v in fact.values()):
        return json.dumps(fact)
    return "{" + ",".join(f"{json.dumps(k)}:{_json_value(v)}" for k, v in fact.items()) + "}"


def _json_value(value: Any) -> str:
    if type(value) is float and "e" in repr(value):
        return format(Decimal(repr(value)), "f")
    return json.dumps(value)


def _rule_name(message: str) -> str:
    """The rule a durable-rules action message is for: its first key.

    Compiled rule names contain no quotes or escapes, so the key can be cut out
    without parsing the whole message (which carries the patient fact).
    """
    if not message.startswith('{"'):
        return next(iter(json.loads(message)))
    return message[2 : message.index('"', 2)]
