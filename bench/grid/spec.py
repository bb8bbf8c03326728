"""Grid specs: one YAML file that expands into validated runs.

A spec (``ablations/*.yaml``; every key optional)::

    name: quick                       # letters, digits, '_', '-', '.' (default: the file name)
    description: >                    # free text: what the grid asks
      CaLR x MS on the embedded default.
    base:                             # a run config, the same schema as `bench run` YAML ...
      train: {epochs: 30}
    base_config: nb201_cifar10_proxy.yaml   # ... and/or a run config file, relative to the spec (base's keys
                                            # then override the file's)
    axes:                             # cartesian product: dotted key -> list of values
      heuristics.lr_schedule: [cosine, calr]
      heuristics.momentum_buffers: [shared, ms]
    zip:                              # groups of keys whose value lists vary together (equal lengths);
      - {train.epochs: [30, 60], train.lr: [0.05, 0.025]}   # each group is one more axis of the product
    seeds: [0, 1]                     # every setting once per seed (default: the base config's seed)
    exclude:                          # drop a run of the product when its resolved config matches every key
                                      # of a rule (include entries are always kept)
      - {heuristics.lr_schedule: calr, heuristics.momentum_buffers: shared}
    include:                          # extra settings: base + these overrides, once per seed
      - {heuristics.sampling: fairnas, train.epochs: 60}   # (or once, where the entry sets `seed`)
    paper_scale:                      # free-form notes: the paper's settings beside this proxy
      train.epochs: 250               # (recorded, never used)

Keys are the dotted keys of ``--set`` and values what ``--set`` accepts; a
heuristic is a name (``calr``) or a mapping (``{name: calr, gamma_prime: 3}``),
and a key below a heuristic (``heuristics.lr_schedule.gamma_prime``) sets
one of its parameters. Overrides are applied with
:func:`bench.config.apply_override`, the logic of ``--set``.

Matching (``exclude``): a rule value matches a heuristic by its name (a
string) or by the parameters it lists (a mapping); a list in a rule matches
any of its values; numbers compare as numbers. Rules see the resolved
config, so they may name keys that no axis varies (``seed: 1``).

Expansion: the product of the axes (in file order) and the zip groups (with
neither, the base config alone), seeds outermost (every setting's seed 0
comes before any seed 1, so a grid stopped early has covered the settings),
then ``include``; excluded runs are dropped, and of runs with identical
configs the first is kept. Every run's config is validated before anything
trains; all problems are reported together, each with the YAML path it comes
from (``axes.train.lr[2]``).

A run is named ``<grid name>-<label>``; the label lists the values that vary
(``lr_schedule=calr,momentum_buffers=ms,seed=0``). Its key (the name of its
run directory) is :func:`run_key`: the hash of the resolved config without
its name, so renaming a grid or relabelling its axes does not retrain
anything, and any change of a setting is a new run.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from bench.config import RunConfig, apply_override, build_config, load_yaml, to_dict
from bench.validation import ConfigError, suggest

SPEC_KEYS = ("name", "description", "base", "base_config", "axes", "zip", "seeds", "exclude", "include",
             "paper_scale")
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]+$")
MAX_REPORTED = 20  # problems listed in one error; the rest are counted


def _merged(config: dict, overrides: dict) -> dict:
    """``config`` with ``overrides`` applied section by section (a grid's ``base`` on its ``base_config``)."""
    out = dict(config)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and key != "heuristics":
            out[key] = _merged(out[key], value)
        elif key == "heuristics" and isinstance(out.get(key), dict) and isinstance(value, dict):
            out[key] = {**out[key], **value}  # a slot is replaced whole: its parameters belong to its choice
        else:
            out[key] = value
    return out


def run_key(config: RunConfig) -> str:
    """The run's key: :func:`bench.run.config_hash` of the resolved config with its ``name`` blanked.

    The name is a label (grid name + axis values); leaving it out means a
    renamed grid or a relabelled axis finds its finished runs.
    """
    from bench.run import config_hash  # bench.run imports torch; keep spec loading light

    return config_hash(dataclasses.replace(config, name=""))


@dataclass(frozen=True)
class Override:
    """One dotted key set by the spec, and the YAML path it came from (for error messages)."""

    key: str
    value: Any
    source: str


@dataclass(frozen=True)
class PlannedRun:
    """One run of a grid: its key, label, the overrides that made it, and its validated config."""

    key: str
    label: str
    overrides: tuple[Override, ...]
    config: RunConfig

    @property
    def seed(self) -> int:
        return self.config.seed

    def override_text(self) -> str:
        return ", ".join(f"{o.key}={_short_value(o.value)}" for o in self.overrides)


@dataclass(frozen=True)
class GridSpec:
    """A loaded, structurally checked spec (run configs are checked by :func:`expand`)."""

    path: Path
    name: str
    description: str
    base: dict
    base_config: Path | None
    base_config_ref: str | None  # base_config as written in the spec
    axes: dict[str, list]
    zip: list[dict[str, list]]
    seeds: list[int] | None
    exclude: list[dict]
    include: list[dict]
    paper_scale: Any
    text: str


@dataclass(frozen=True)
class Grid:
    """A spec and the runs it expands to, with notes on what expansion dropped."""

    spec: GridSpec
    runs: list[PlannedRun]
    notes: list[str]

    def by_key(self) -> dict[str, PlannedRun]:
        return {r.key: r for r in self.runs}


# ---------------------------------------------------------------------------
# Loading: the structure of the spec
# ---------------------------------------------------------------------------


def load_grid(path: str | Path) -> Grid:
    """Load a spec, expand it and validate every run's config (ConfigError on any problem)."""
    return expand(load_spec(path))


def is_grid_spec(path: str | Path) -> bool:
    """Whether a YAML file in ``ablations/`` is a grid spec (it has ``axes``, ``zip``, ``include`` or ``seeds``)."""
    data = load_yaml(path)
    return any(k in data for k in ("axes", "zip", "include", "seeds", "base", "base_config"))


def load_spec(path: str | Path) -> GridSpec:
    path = Path(path)
    data = load_yaml(path)  # rejects duplicate keys, non-mapping top level
    try:
        return _parse_spec(path, data)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def _parse_spec(path: Path, data: dict) -> GridSpec:
    unknown = [k for k in data if k not in SPEC_KEYS]
    if unknown:
        raise ConfigError(f"unknown key {unknown[0]!r} at the top level of the grid spec; allowed: "
                          f"{', '.join(SPEC_KEYS)}" + suggest(str(unknown[0]), dict.fromkeys(SPEC_KEYS)))
    name = data.get("name", path.stem)
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise ConfigError(f"name = {name!r}: a grid name is letters, digits, '_', '-' and '.' (it names the "
                          "results directory)")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise ConfigError(f"description: expected text, got {description!r}")

    base = data.get("base") or {}
    if not isinstance(base, dict):
        raise ConfigError(f"base: expected a run config (a mapping), got {base!r}")
    base_config = None
    if "base_config" in data:
        if not isinstance(data["base_config"], str):
            raise ConfigError(f"base_config: expected a file path, got {data['base_config']!r}")
        base_config = (path.parent / data["base_config"]).resolve()
        try:
            base = _merged(load_yaml(base_config), base)
        except ConfigError as exc:
            raise ConfigError(f"base_config: {exc}") from None

    axes = _value_lists(data.get("axes") or {}, "axes")
    zips = data.get("zip") or []
    if not isinstance(zips, list):
        raise ConfigError(f"zip: expected a list of groups ({{key: [values], key2: [values]}}), got {zips!r}")
    zip_groups = []
    for i, group in enumerate(zips):
        group = _value_lists(group, f"zip[{i}]")
        lengths = {k: len(v) for k, v in group.items()}
        if len(set(lengths.values())) > 1:
            shown = ", ".join(f"{k}: {n}" for k, n in lengths.items())
            raise ConfigError(f"zip[{i}]: the lists of one group vary together and must have equal lengths; "
                              f"got {shown}")
        zip_groups.append(group)
    _check_key_once(axes, zip_groups)

    seeds = data.get("seeds")
    if seeds is not None:
        if not isinstance(seeds, list) or not seeds:
            raise ConfigError(f"seeds: expected a non-empty list of ints >= 0, got {seeds!r}")
        for i, s in enumerate(seeds):
            if not isinstance(s, int) or isinstance(s, bool) or s < 0:
                raise ConfigError(f"seeds[{i}] = {s!r}: a seed is an int >= 0")
        if len(set(seeds)) != len(seeds):
            raise ConfigError(f"seeds: {seeds} lists a seed twice")

    exclude = _rules(data.get("exclude") or [], "exclude")
    include = _rules(data.get("include") or [], "include")
    for i, rule in enumerate(include):
        for key, value in rule.items():
            if isinstance(value, list):
                raise ConfigError(f"include[{i}].{key} = {value!r}: an include entry is one run's overrides "
                                  "(single values); put value lists in axes or zip")
        if "name" in rule:
            raise ConfigError(f"include[{i}].name: run names are made by the grid")
    return GridSpec(path=path, name=name, description=description.strip(), base=base, base_config=base_config,
                    base_config_ref=data.get("base_config"), axes=axes, zip=zip_groups, seeds=seeds,
                    exclude=exclude, include=include, paper_scale=data.get("paper_scale"), text=path.read_text())


def _value_lists(section: Any, where: str) -> dict[str, list]:
    if not isinstance(section, dict):
        raise ConfigError(f"{where}: expected a mapping of dotted keys to value lists, got {section!r}")
    out = {}
    for key, values in section.items():
        _check_dotted_key(key, f"{where}.{key}")
        if key in ("seed", "name"):
            hint = "use the top-level 'seeds' list" if key == "seed" else "run names are made by the grid"
            raise ConfigError(f"{where}.{key}: {hint}")
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{where}.{key}: expected a non-empty list of values, got {values!r}")
        out[key] = values
    return out


def _rules(section: Any, where: str) -> list[dict]:
    if not isinstance(section, list):
        raise ConfigError(f"{where}: expected a list of mappings ({{dotted.key: value, ...}}), got {section!r}")
    rules = []
    for i, rule in enumerate(section):
        if not isinstance(rule, dict) or not rule:
            raise ConfigError(f"{where}[{i}]: expected a non-empty mapping of dotted keys to values, got {rule!r}")
        for key in rule:
            _check_dotted_key(key, f"{where}[{i}].{key}")
        rules.append(rule)
    return rules


def _check_dotted_key(key: Any, where: str) -> None:
    if not isinstance(key, str) or not key or any(not part for part in key.split(".")):
        raise ConfigError(f"{where}: {key!r} is not a dotted config key like train.lr")


def _check_key_once(axes: dict, zips: list[dict]) -> None:
    seen = {key: f"axes.{key}" for key in axes}
    for i, group in enumerate(zips):
        for key in group:
            if key in seen:
                raise ConfigError(f"zip[{i}].{key}: the key is already varied by {seen[key]}; a key may be "
                                  "varied in one place only")
            seen[key] = f"zip[{i}].{key}"
    keys = list(seen)
    for a in keys:
        for b in keys:
            if b.startswith(a + "."):
                raise ConfigError(f"{seen[b]}: varies a part of {a!r}, which {seen[a]} also varies; vary one")


# ---------------------------------------------------------------------------
# Expansion: settings x seeds -> validated runs
# ---------------------------------------------------------------------------


def expand(spec: GridSpec) -> Grid:
    """Every run of the spec, each config validated; one ConfigError lists every problem found."""
    base_seed = _base_seed(spec)
    seeds = spec.seeds if spec.seeds is not None else [base_seed]

    settings: list[tuple[Override, ...]] = []
    axis_choices = [[Override(key, v, f"axes.{key}[{i}]") for i, v in enumerate(values)]
                    for key, values in spec.axes.items()]
    for g, group in enumerate(spec.zip):
        length = len(next(iter(group.values())))
        axis_choices.append([tuple(Override(key, values[i], f"zip[{g}].{key}[{i}]") for key, values in group.items())
                             for i in range(length)])
    for combo in itertools.product(*axis_choices):
        flat = []
        for item in combo:
            flat.extend(item if isinstance(item, tuple) else (item,))
        settings.append(tuple(flat))  # no axes and no zip: one setting, the base itself

    candidates: list[tuple[Override, ...]] = []
    for seed in seeds:
        for setting in settings:
            candidates.append(setting + (Override("seed", seed, "seeds"),))
    product_size = len(candidates)
    for i, rule in enumerate(spec.include):
        entry = tuple(Override(k, v, f"include[{i}].{k}") for k, v in rule.items())
        if "seed" in rule:
            candidates.append(entry)
        else:
            candidates.extend(entry + (Override("seed", s, "seeds"),) for s in seeds)

    label_keys = _short_keys([o.key for c in candidates for o in c])
    problems: dict[tuple[str, str], str] = {}
    base_problem = _check_base(spec)
    if base_problem:
        raise ConfigError(f"{spec.path}: base: {base_problem}")

    built: list[PlannedRun] = []
    included: set[int] = set()  # positions in `built` of runs that come from include (exclude spares them)
    for position, overrides in enumerate(candidates):
        label = ",".join(f"{label_keys[o.key]}={_short_value(o.value)}" for o in overrides)
        try:
            config = _build_run(spec, overrides, f"{spec.name}-{label}")
        except ConfigError as exc:
            source, message = _attribute(exc, overrides)
            problems.setdefault((source, message), label)
            continue
        if position >= product_size:
            included.add(len(built))
        built.append(PlannedRun(run_key(config), label, overrides, config))
    if problems:
        raise ConfigError(_format_problems(spec.path, problems))

    notes = []
    runs = built
    if spec.exclude:
        _check_rule_keys(spec, built)
        kept, matched = [], [0] * len(spec.exclude)
        for position, run in enumerate(built):
            if position in included:
                kept.append(run)
                continue
            hits = [i for i, rule in enumerate(spec.exclude) if _matches(rule, to_dict(run.config))]
            for i in hits:
                matched[i] += 1
            if not hits:
                kept.append(run)
        runs = kept
        notes.append(f"exclude dropped {len(built) - len(kept)} run(s)")
        notes.extend(f"warning: exclude[{i}] matches no run" for i, n in enumerate(matched) if n == 0)

    unique, seen = [], {}
    for run in runs:
        if run.key in seen:
            notes.append(f"run {run.label} has the same config as {seen[run.key]}; kept once")
            continue
        seen[run.key] = run.label
        unique.append(run)
    if not unique:
        raise ConfigError(f"{spec.path}: the grid expands to no run (exclude drops all of them)")
    return Grid(spec, unique, notes)


def _base_seed(spec: GridSpec) -> int:
    seed = spec.base.get("seed", 0)
    return seed if isinstance(seed, int) and not isinstance(seed, bool) else 0


def _check_base(spec: GridSpec) -> str | None:
    try:
        build_config(spec.base)
    except ConfigError as exc:
        return str(exc)
    return None


def _build_run(spec: GridSpec, overrides: tuple[Override, ...], name: str) -> RunConfig:
    raw = copy.deepcopy(spec.base)
    for o in overrides:
        apply_override(raw, o.key, copy.deepcopy(o.value))
    raw["name"] = name
    return build_config(raw)


def _attribute(exc: ConfigError, overrides: tuple[Override, ...]) -> tuple[str, str]:
    """The YAML path of the override a config error names (the longest key it mentions), else 'run'."""
    message = str(exc)
    best = None
    for o in overrides:
        pattern = rf"(?<![\w.]){re.escape(o.key)}(?!\w)"
        if re.search(pattern, message) and (best is None or len(o.key) > len(best.key)):
            best = o
    if best is None:
        return "run", message
    return f"{best.source} = {_short_value(best.value)}", message


def _format_problems(path: Path, problems: dict[tuple[str, str], str]) -> str:
    lines = [f"{path}: {len(problems)} problem(s) in the grid spec; nothing was run:"]
    for (source, message), label in list(problems.items())[:MAX_REPORTED]:
        lines.append(f"  {source} (run {label}): {message}")
    if len(problems) > MAX_REPORTED:
        lines.append(f"  ... and {len(problems) - MAX_REPORTED} more")
    return "\n".join(lines)


def _short_keys(keys: list[str]) -> dict[str, str]:
    """Each dotted key's shortest unambiguous suffix (``heuristics.lr_schedule`` -> ``lr_schedule``)."""
    unique = list(dict.fromkeys(keys))
    short = {}
    for key in unique:
        parts = key.split(".")
        for n in range(1, len(parts) + 1):
            candidate = ".".join(parts[-n:])
            clash = any(other != key and other.split(".")[-n:] == parts[-n:] for other in unique)
            if not clash:
                break
        short[key] = candidate
    return short


def _short_value(value: Any) -> str:
    if isinstance(value, dict):
        name = value.get("name")
        params = ",".join(f"{k}={_short_value(v)}" for k, v in value.items() if k != "name")
        if name is None:
            return "{" + params + "}"
        return f"{name}({params})" if params else str(name)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, list):
        return "[" + ",".join(_short_value(v) for v in value) + "]"
    return str(value)


# ---------------------------------------------------------------------------
# Exclude rules: matching against the resolved config
# ---------------------------------------------------------------------------

_MISSING = object()


def lookup(resolved: Mapping[str, Any], key: str) -> Any:
    """The value at a dotted key of a resolved config dict, or ``_MISSING``."""
    node: Any = resolved
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return _MISSING
        node = node[part]
    return node


def _matches(rule: Mapping[str, Any], resolved: Mapping[str, Any]) -> bool:
    return all(_value_matches(want, lookup(resolved, key)) for key, want in rule.items())


def _value_matches(want: Any, have: Any) -> bool:
    if have is _MISSING:
        return False
    if isinstance(want, list):
        return any(_value_matches(w, have) for w in want)
    if isinstance(have, Mapping):  # a resolved heuristic
        if isinstance(want, str):
            return have.get("name") == want
        if isinstance(want, Mapping):
            return all(_value_matches(v, have.get(k, _MISSING)) for k, v in want.items())
        return False
    if _is_number(want) and _is_number(have):
        return float(want) == float(have)
    return want == have


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_rule_keys(spec: GridSpec, runs: list[PlannedRun]) -> None:
    resolved = [to_dict(r.config) for r in runs]
    for i, rule in enumerate(spec.exclude):
        for key in rule:
            if all(lookup(d, key) is _MISSING for d in resolved):
                raise ConfigError(f"{spec.path}: exclude[{i}].{key}: no run's config has this key "
                                  "(a typo? `bench run --print-config` lists the keys)")
