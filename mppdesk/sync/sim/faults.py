"""The fault SPEC of the reference agency server: grammar, parser and the seeded plan.

Grammar (whitespace around parts is ignored; an empty SPEC means no faults)::

    SPEC   := RULE ("," RULE)*
    RULE   := SCOPE ":" FAULT "=" VALUE (":" PARAM "=" VALUE)*
    SCOPE  := an agency code | "*"            (every agency)

    FAULT (VALUE)                 PARAMS         effect on that agency's endpoints
    drop_after_commit=P           -              POST/PUT: store and commit, then close the
                                                 connection without answering
    drop_midway=P                 -              POST/PUT: read half the body, then close
                                                 without storing or answering
    statusNNN=P (400 <= NNN <= 599)  retry_after=S  answer NNN {"error": "injected"} without
                                                 processing; Retry-After: S when given
    bad_billing=P                 -              POST/GET of a fee-bearing submission:
                                                 answer a malformed billing record (a
                                                 PNBP code one digit short, a negative
                                                 amount); a POST's answer is kept so, as
                                                 every replay of it
    slow=P                        delay=S (1.0)  wait S seconds before processing (a POST
                                                 holds its Idempotency-Key meanwhile)
    refuse_for=S                  -              for S seconds from when the SPEC is applied,
                                                 close every connection at once with a TCP
                                                 reset, without an answer
    unauthorized_for=S            -              for S seconds answer 401 (health excluded)
    forbidden_for=S               -              for S seconds answer 403 (health excluded)

P is a probability in [0, 1], drawn per request from one ``random.Random(seed)``; S is seconds
(>= 0). For each fault, a rule naming the agency replaces the ``*`` rule. A real refusal of
the TCP connection is only possible for the whole server (stop it); ``refuse_for`` is the
per-agency stand-in and the desk sees it as a reset.

Example: ``dukcapil:drop_after_commit=0.2,*:status500=0.1,bpjs:status429=0.1:retry_after=2,
*:slow=0.05:delay=1.5,imigrasi:refuse_for=10,polri:unauthorized_for=5``.
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass, field

_AGENCY = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_STATUS_FAULT = re.compile(r"^status([0-9]{3})$")

PROBABILITY_FAULTS = ("drop_after_commit", "drop_midway", "slow", "bad_billing")
WINDOW_FAULTS = ("refuse_for", "unauthorized_for", "forbidden_for")
_PARAMS = {"slow": {"delay"}, "status": {"retry_after"}}
DEFAULT_SLOW_DELAY_S = 1.0


class FaultSpecError(ValueError):
    """A SPEC that cannot be read; the message names the rule and what is wrong with it."""


@dataclass(frozen=True)
class FaultRule:
    scope: str  # agency code or "*"
    fault: str  # "drop_after_commit", "status503", "slow", "refuse_for" ...
    value: float  # probability, or seconds for the *_for faults
    params: tuple[tuple[str, float], ...] = ()

    def param(self, name: str, default: float | None = None) -> float | None:
        for key, value in self.params:
            if key == name:
                return value
        return default

    @property
    def status(self) -> int | None:
        match = _STATUS_FAULT.match(self.fault)
        return int(match.group(1)) if match else None

    def text(self) -> str:
        parts = [f"{self.scope}:{self.fault}={_number(self.value)}"]
        parts += [f"{key}={_number(value)}" for key, value in self.params]
        return ":".join(parts)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def parse_fault_spec(spec: str) -> tuple[FaultRule, ...]:
    """Read a SPEC (module docstring); raise FaultSpecError naming the bad part."""
    rules: list[FaultRule] = []
    seen: set[tuple[str, str]] = set()
    if not spec.strip():
        return ()
    for index, raw in enumerate(spec.split(","), start=1):
        part = raw.strip()
        where = f"fault rule {index} {part!r}"
        if not part:
            raise FaultSpecError(f"{where}: empty rule (two commas in a row or a trailing comma?)")
        pieces = [p.strip() for p in part.split(":")]
        if len(pieces) < 2:
            raise FaultSpecError(f"{where}: expected SCOPE:FAULT=VALUE, e.g. '*:status500=0.1'")
        scope = pieces[0]
        if scope != "*" and not _AGENCY.match(scope):
            raise FaultSpecError(
                f"{where}: scope {scope!r} is neither '*' nor an agency code "
                "(lower case letters, digits and -)"
            )
        fault, value_text = _key_value(pieces[1], where)
        kind = _fault_kind(fault, where)
        value = _read_number(value_text, where, fault)
        if kind in ("probability", "status") and not 0.0 <= value <= 1.0:
            raise FaultSpecError(f"{where}: {fault} is a probability, between 0 and 1")
        if kind == "window" and value < 0:
            raise FaultSpecError(f"{where}: {fault} is a number of seconds, not negative")
        allowed = _PARAMS.get("status" if kind == "status" else fault, set())
        params: list[tuple[str, float]] = []
        for piece in pieces[2:]:
            name, param_text = _key_value(piece, where)
            if name not in allowed:
                known = ", ".join(sorted(allowed)) or "none"
                raise FaultSpecError(
                    f"{where}: {fault} takes no parameter {name!r} (parameters: {known})"
                )
            if any(name == existing for existing, _ in params):
                raise FaultSpecError(f"{where}: parameter {name!r} given twice")
            number = _read_number(param_text, where, name)
            if number < 0:
                raise FaultSpecError(f"{where}: {name} is a number of seconds, not negative")
            params.append((name, number))
        if (scope, fault) in seen:
            raise FaultSpecError(f"{where}: {scope}:{fault} is given twice")
        seen.add((scope, fault))
        rules.append(FaultRule(scope, fault, value, tuple(params)))
    return tuple(rules)


def _key_value(piece: str, where: str) -> tuple[str, str]:
    key, sep, value = piece.partition("=")
    if not sep or not key.strip() or not value.strip():
        raise FaultSpecError(f"{where}: {piece!r} should be NAME=VALUE")
    return key.strip(), value.strip()


def _fault_kind(fault: str, where: str) -> str:
    if fault in PROBABILITY_FAULTS:
        return "probability"
    if fault in WINDOW_FAULTS:
        return "window"
    match = _STATUS_FAULT.match(fault)
    if match:
        if not 400 <= int(match.group(1)) <= 599:
            raise FaultSpecError(f"{where}: {fault}: injected statuses are 400 to 599")
        return "status"
    known = ", ".join((*PROBABILITY_FAULTS, "statusNNN", *WINDOW_FAULTS))
    raise FaultSpecError(f"{where}: unknown fault {fault!r} (known: {known})")


def _read_number(text: str, where: str, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise FaultSpecError(f"{where}: {name} needs a number, got {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise FaultSpecError(f"{where}: {name} needs a finite number, got {text!r}")
    return value


@dataclass(frozen=True)
class RequestFaults:
    """What the plan decided for one request; the server acts on it in this order."""

    refuse: bool = False
    status: int | None = None  # injected status (401/403 windows included)
    retry_after: float | None = None
    slow_delay: float | None = None
    drop_midway: bool = False
    drop_after_commit: bool = False
    bad_billing: bool = False
    names: tuple[str, ...] = field(default=())  # the faults that fired, for the stats

    @property
    def any(self) -> bool:
        return bool(self.names)


class FaultPlan:
    """The SPEC in force, with its seeded random draws and the start of its time windows.

    Thread-safe: requests are decided under one lock so a given seed and request order give
    the same faults.
    """

    def __init__(self, rules: tuple[FaultRule, ...], seed: int, applied_at: float) -> None:
        self.rules = rules
        self.seed = seed
        self.applied_at = applied_at
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    @classmethod
    def from_spec(cls, spec: str, seed: int, applied_at: float) -> FaultPlan:
        return cls(parse_fault_spec(spec), seed, applied_at)

    @property
    def spec(self) -> str:
        return ",".join(rule.text() for rule in self.rules)

    def rules_for(self, agency: str) -> list[FaultRule]:
        """The rules that apply to ``agency``: its own, else the ``*`` one, per fault."""
        chosen: dict[str, FaultRule] = {}
        for rule in self.rules:
            if rule.scope == "*" and rule.fault not in chosen:
                chosen[rule.fault] = rule
        for rule in self.rules:
            if rule.scope == agency:
                chosen[rule.fault] = rule
        return [rule for rule in self.rules if chosen.get(rule.fault) is rule]

    def decide(self, agency: str, *, has_body: bool, is_health: bool, now: float) -> RequestFaults:
        names: list[str] = []
        status: int | None = None
        retry_after: float | None = None
        slow: float | None = None
        drop_midway = drop_after = refuse = bad_billing = False
        elapsed = now - self.applied_at
        with self._lock:
            for rule in self.rules_for(agency):
                if rule.fault in WINDOW_FAULTS:
                    if elapsed >= rule.value:
                        continue
                    if rule.fault == "refuse_for":
                        refuse = True
                    elif not is_health and status is None:
                        status = 401 if rule.fault == "unauthorized_for" else 403
                    else:
                        continue
                    names.append(rule.fault)
                    continue
                # One draw per probabilistic rule and request, always, so the sequence of
                # draws (and so the faults) depends only on the seed and the requests.
                fires = self._random.random() < rule.value
                if not fires:
                    continue
                if rule.status is not None:
                    if status is not None:
                        continue
                    status = rule.status
                    retry_after = rule.param("retry_after")
                elif rule.fault == "slow":
                    slow = rule.param("delay", DEFAULT_SLOW_DELAY_S)
                elif rule.fault == "drop_midway":
                    if not has_body:
                        continue
                    drop_midway = True
                elif rule.fault == "bad_billing":
                    if is_health:
                        continue
                    bad_billing = True
                elif rule.fault == "drop_after_commit":
                    if not has_body:
                        continue
                    drop_after = True
                names.append(rule.fault)
        return RequestFaults(
            refuse=refuse,
            status=status,
            retry_after=retry_after,
            slow_delay=slow,
            drop_midway=drop_midway,
            drop_after_commit=drop_after,
            bad_billing=bad_billing,
            names=tuple(names),
        )
