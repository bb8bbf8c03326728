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

A choice is one class, a subclass of its slot's :class:`Selection` (itself a
frozen dataclass), registered with :func:`register`: its class attributes are
the description, the source (paper and table or equation) and the taxonomy
tag; its dataclass fields, declared with :func:`param`, are its parameters
(type, default, constraints, help); :meth:`Selection.check` holds its
compatibility rules and :meth:`Selection.build` builds the component the
trainer calls (a sampler, an LR policy, ...), whose properties generic code
asks instead of the choice's name. Adding a heuristic is one such class in
one slot module (the pattern of timm's ``register_model``);
``bench/heuristics/__init__.py`` imports every slot module explicitly, in one
place.

The config keeps the selection as a plain dict (``{"name": "calr",
"gamma_prime": 4.0, ...}``: YAML, run keys and ``to_dict`` are that dict);
:func:`selection` turns it into the typed object, :func:`build` builds its
component::

    registry.selection(config.heuristics, "sampling")             # -> FairNASSampling()
    registry.build(config.heuristics, "bn").recalibration_batches  # -> 10 with {name: recalibrated}
    registry.build(config.heuristics, "momentum_buffers", search_space=get_space("nb201"))  # -> MomentumBuffers(5, 0, ...)
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, fields
from typing import Any, Callable, ClassVar, Mapping, get_type_hints

from bench.validation import ConfigError, check_value, describe_allowed, option, suggest

param = option  # a choice's parameter, declared like a config field: ``eta: float = param(0.0, "floor", low=0.0)``


@dataclass(frozen=True)
class Param:
    """One parameter of a choice: type, default, constraints, help (read off its :func:`param` field)."""

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


@functools.cache
def params_of(cls: type) -> dict[str, Param]:
    """The parameters of a selection class, in declaration order (the order of the config dict)."""
    hints = get_type_hints(cls)
    return {f.name: Param(hints[f.name], f.default, f.metadata["help"], f.metadata["choices"], f.metadata["low"],
                          f.metadata["high"], f.metadata["low_open"], f.metadata["words"])
            for f in fields(cls)}


@dataclass(frozen=True)
class Selection:
    """A registered choice, as the typed and checked selection of one config (a frozen dataclass).

    Each slot module defines a base class per slot (which sets ``slot`` and
    documents what ``build`` takes and returns), and each choice subclasses it
    with ``name``, ``description``, ``source`` (paper, section, table or
    equation; "ours" marks our operationalizations) and ``taxonomy``, its
    parameters as :func:`param` fields, and ``build``. Constructing one checks
    every value: ``CaLR(g="sqrt")`` raises a ConfigError naming the value and
    the allowed ones.
    """

    slot: ClassVar[str]
    name: ClassVar[str]
    description: ClassVar[str]
    source: ClassVar[str]
    taxonomy: ClassVar[str]

    def __post_init__(self) -> None:
        for pname, p in params_of(type(self)).items():
            value = check_value(f"heuristics.{self.slot}.{pname}", getattr(self, pname), p.type, p.meta)
            object.__setattr__(self, pname, value)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], path: str | None = None) -> Selection:
        """The selection of a config mapping (``name`` and parameters; missing parameters take their default)."""
        path = path or f"heuristics.{cls.slot}"
        params = params_of(cls)
        extra = [k for k in raw if k != "name" and k not in params]
        if extra:
            allowed = ", ".join(params) or "none"
            raise ConfigError(f"unknown parameter '{path}.{extra[0]}' of heuristic {cls.name!r}; allowed: {allowed}"
                              + suggest(extra[0], params))
        return cls(**{pname: check_value(f"{path}.{pname}", raw.get(pname, p.default), p.type, p.meta)
                      for pname, p in params.items()})

    def as_dict(self) -> dict:
        """The config form: ``{"name": ..., parameter: value, ...}``."""
        return {"name": self.name, **{pname: getattr(self, pname) for pname in params_of(type(self))}}

    def build(self, **context: Any) -> Any:
        """The component this choice contributes to the recipe (the slot's base class says what it takes)."""
        raise NotImplementedError(f"{type(self).__name__} builds nothing")

    def check(self, chosen: Mapping[str, Selection], config: Any) -> None:
        """This choice's compatibility rules against the other slots' selections (``chosen``) and the config
        (None when checked without one); raise ConfigError with the reason."""


@dataclass(frozen=True)
class Heuristic:
    """A registered heuristic, as ``bench heuristics`` lists it.

    ``slot`` is the part of the recipe it fills; ``params`` its parameters
    (choices only); ``config_key`` the key that sets it (knobs only);
    ``source`` the paper and table or equation; ``taxonomy`` its tag in the
    survey's taxonomy (Xie et al. / "Supernet optimization survey");
    ``selection_type`` the :class:`Selection` class of a choice.
    """

    name: str
    slot: str
    description: str
    source: str
    taxonomy: str
    params: Mapping[str, Param] = field(default_factory=dict)
    config_key: str | None = None
    selection_type: type[Selection] | None = None

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


Rule = Callable[[Mapping[str, Mapping[str, Any]], Any], None]

_SLOTS: dict[str, Slot] = {}
_CHOICES: dict[str, dict[str, Heuristic]] = {}
_KNOBS: dict[str, Heuristic] = {}
_RULES: list[Rule | type[Selection]] = []  # in registration order: rule functions and choices with a check


def register_slot(name: str, description: str, default: str) -> Slot:
    _SLOTS[name] = Slot(name, description, default)
    _CHOICES.setdefault(name, {})
    return _SLOTS[name]


def register(entry):
    """Register a choice (a :class:`Selection` subclass; usable as a class decorator) or a knob (a
    :class:`Heuristic` with ``config_key``); a name registered twice in one slot is a programming error."""
    if isinstance(entry, Heuristic):
        if entry.kind != "knob":
            raise ValueError(f"choice {entry.name!r}: register its Selection class, not a Heuristic")
        if entry.name in _KNOBS:
            raise ValueError(f"knob {entry.name!r} registered twice")
        _KNOBS[entry.name] = entry
        return entry
    cls = entry
    if cls.slot not in _SLOTS:
        raise ValueError(f"heuristic {cls.name!r} names unknown slot {cls.slot!r}")
    if cls.name in _CHOICES[cls.slot]:
        raise ValueError(f"heuristic {cls.name!r} registered twice in slot {cls.slot!r}")
    _CHOICES[cls.slot][cls.name] = Heuristic(cls.name, cls.slot, cls.description, cls.source, cls.taxonomy,
                                             params_of(cls), selection_type=cls)
    if cls.check is not Selection.check:
        _RULES.append(cls)
    return cls


def compatibility_rule(rule: Rule) -> Rule:
    """Register a check of a whole config (``rule(heuristics, config)``) that raises ConfigError with the
    reason: for rules of a slot rather than of one choice (those are :meth:`Selection.check`)."""
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
    return {slot.name: get(slot.name, slot.default).selection_type().as_dict() for slot in _SLOTS.values()}


def parse_selection(slot: str, raw: Any, path: str | None = None) -> Selection:
    """The typed selection of one slot from its config value: None (the slot's default), a name, or a
    mapping with ``name`` (default: the slot's default) and parameters."""
    path = path or f"heuristics.{slot}"
    default = _SLOTS[slot].default if slot in _SLOTS else None
    if raw is None:
        raw = {"name": default}
    elif isinstance(raw, str):
        raw = {"name": raw}
    elif not isinstance(raw, Mapping):
        raise ConfigError(f"{path}: expected a heuristic name or a mapping with 'name', got {raw!r}")
    return get(slot, raw.get("name", default)).selection_type.from_dict(raw, path)


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
    return {slot: parse_selection(slot, raw.get(slot), f"{path}.{slot}").as_dict() for slot in _SLOTS}


def selection(heuristics: Mapping[str, Any], slot: str) -> Selection:
    """The typed selection of ``slot`` in a ``heuristics`` section (``config.heuristics``)."""
    choices(slot)  # an unknown slot is refused with the allowed ones
    return parse_selection(slot, heuristics.get(slot))


def selections(heuristics: Mapping[str, Any]) -> dict[str, Selection]:
    """The typed selection of every slot."""
    return {slot: selection(heuristics, slot) for slot in _SLOTS}


def build(heuristics: Mapping[str, Any], slot: str, **context: Any) -> Any:
    """The component of the choice ``heuristics`` selects for ``slot``, built with ``context`` (see the slot's
    ``build``): ``build(config.heuristics, "momentum_buffers", search_space=...)``."""
    return selection(heuristics, slot).build(**context)


def check_rules(heuristics: Mapping[str, Mapping[str, Any]], config: Any) -> None:
    """Every compatibility rule, in registration order: slot rules, and the selected choices' checks."""
    chosen = selections(heuristics)
    for rule in _RULES:
        if isinstance(rule, type):
            if type(chosen[rule.slot]) is rule:
                chosen[rule.slot].check(chosen, config)
        else:
            rule(heuristics, config)
