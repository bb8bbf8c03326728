"""The heuristic registry: every supernet training heuristic as one registered object.

Two kinds of entry, both listed by ``bench heuristics``:

- a **choice** fills a *slot* of the training recipe (``sampling``,
  ``lr_schedule``, ``momentum_buffers``, ...): exactly one choice per slot is
  active, selected in the config's ``heuristics`` section by name, with its
  own parameters::

      heuristics:
        sampling: fairnas                       # short form: the name
        lr_schedule: {name: calr, gamma_prime: 4}

  on the command line: ``--set heuristics.sampling=fairnas``,
  ``--set heuristics.lr_schedule.gamma_prime=3``;
- a **knob** is a single value that lives in another config section
  (``train.lr``, ``supernet.C``, ...); the registry records where it comes from
  and which key sets it.

Adding a heuristic means registering one object in one slot module (the
pattern of timm's ``register_model``); ``bench/heuristics/__init__.py``
imports every slot module explicitly, in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from bench.validation import ConfigError, check_value, describe_allowed, suggest


@dataclass(frozen=True)
class Param:
    """One parameter of a choice: type, default, constraints, help."""

    type: Any
    default: Any
    help: str
    choices: tuple | None = None
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    words: tuple[str, ...] = ()  # strings a number parameter also accepts (e.g. "first")

    @property
    def meta(self) -> dict:
        return {"choices": self.choices, "low": self.low, "high": self.high, "low_open": self.low_open,
                "words": self.words}

    def allowed(self) -> str:
        return describe_allowed(self.type, self.meta)[len("allowed: "):]


@dataclass(frozen=True)
class Heuristic:
    """A registered heuristic.

    ``slot`` is the part of the recipe it fills; ``params`` its parameters
    (choices only); ``config_key`` the key that sets it (knobs only);
    ``source`` the paper and table or equation; ``taxonomy`` its tag in the
    survey's taxonomy (Xie et al. / "Supernet optimization survey").
    """

    name: str
    slot: str
    description: str
    source: str
    taxonomy: str
    params: Mapping[str, Param] = field(default_factory=dict)
    config_key: str | None = None

    @property
    def kind(self) -> str:
        return "knob" if self.config_key else "choice"

    def defaults(self) -> dict:
        return {name: p.default for name, p in self.params.items()}


@dataclass(frozen=True)
class Slot:
    name: str
    description: str
    default: str  # the choice used when a config does not name one


_SLOTS: dict[str, Slot] = {}
_CHOICES: dict[str, dict[str, Heuristic]] = {}
_KNOBS: dict[str, Heuristic] = {}
_RULES: list[Callable[[Mapping[str, Mapping[str, Any]], Any], None]] = []


def register_slot(name: str, description: str, default: str) -> Slot:
    _SLOTS[name] = Slot(name, description, default)
    _CHOICES.setdefault(name, {})
    return _SLOTS[name]


def register(heuristic: Heuristic) -> Heuristic:
    """Add a heuristic; a name registered twice in one slot is a programming error."""
    if heuristic.kind == "knob":
        if heuristic.name in _KNOBS:
            raise ValueError(f"knob {heuristic.name!r} registered twice")
        _KNOBS[heuristic.name] = heuristic
        return heuristic
    if heuristic.slot not in _SLOTS:
        raise ValueError(f"heuristic {heuristic.name!r} names unknown slot {heuristic.slot!r}")
    if heuristic.name in _CHOICES[heuristic.slot]:
        raise ValueError(f"heuristic {heuristic.name!r} registered twice in slot {heuristic.slot!r}")
    _CHOICES[heuristic.slot][heuristic.name] = heuristic
    return heuristic


def compatibility_rule(rule: Callable[[Mapping[str, Mapping[str, Any]], Any], None]):
    """Register a check of a whole config (``rule(heuristics, config)``) that raises ConfigError with the reason."""
    _RULES.append(rule)
    return rule


def slots() -> dict[str, Slot]:
    return dict(_SLOTS)


def choices(slot: str) -> dict[str, Heuristic]:
    if slot not in _CHOICES:
        raise ConfigError(f"unknown heuristic slot {slot!r}; allowed: {', '.join(_SLOTS)}" + suggest(slot, _SLOTS))
    return dict(_CHOICES[slot])


def get(slot: str, name: str) -> Heuristic:
    options = choices(slot)
    if name not in options:
        raise ConfigError(f"heuristics.{slot} = {name!r} is not a registered heuristic; allowed: "
                          f"{', '.join(options)}" + suggest(name, options))
    return options[name]


def all_heuristics() -> list[Heuristic]:
    """Every registered heuristic: choices slot by slot, then knobs."""
    listed = [h for slot in _SLOTS for h in _CHOICES[slot].values()]
    return listed + list(_KNOBS.values())


def default_selection() -> dict[str, dict]:
    return {slot.name: {"name": slot.default, **get(slot.name, slot.default).defaults()} for slot in _SLOTS.values()}


def validate_selection(raw: Any, path: str = "heuristics") -> dict[str, dict]:
    """Resolve the ``heuristics`` section: every slot gets a choice and every parameter a checked value."""
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{path}: expected a section mapping slots to heuristics, got {raw!r}")
    unknown = [s for s in raw if s not in _SLOTS]
    if unknown:
        raise ConfigError(f"unknown heuristic slot '{path}.{unknown[0]}'; allowed: {', '.join(_SLOTS)}"
                          + suggest(unknown[0], _SLOTS))
    resolved = {}
    for slot in _SLOTS.values():
        resolved[slot.name] = _resolve_choice(slot, raw.get(slot.name), f"{path}.{slot.name}")
    return resolved


def _resolve_choice(slot: Slot, raw: Any, path: str) -> dict:
    if raw is None:
        raw = {"name": slot.default}
    elif isinstance(raw, str):
        raw = {"name": raw}
    elif not isinstance(raw, Mapping):
        raise ConfigError(f"{path}: expected a heuristic name or a mapping with 'name', got {raw!r}")
    name = raw.get("name", slot.default)
    heuristic = get(slot.name, name)
    extra = [k for k in raw if k != "name" and k not in heuristic.params]
    if extra:
        allowed = ", ".join(heuristic.params) or "none"
        raise ConfigError(f"unknown parameter '{path}.{extra[0]}' of heuristic {name!r}; allowed: {allowed}"
                          + suggest(extra[0], heuristic.params))
    values = {"name": name}
    for pname, param in heuristic.params.items():
        value = raw.get(pname, param.default)
        values[pname] = check_value(f"{path}.{pname}", value, param.type, param.meta)
    return values


def check_rules(selection: Mapping[str, Mapping[str, Any]], config: Any) -> None:
    for rule in _RULES:
        rule(selection, config)
