"""Experiment configuration: a schema of frozen dataclasses, YAML loading, ``--set`` overrides.

Every field declares its type and constraints in its metadata (the
scikit-learn pattern: one table of constraints, one validator, one error
shape). A config is validated when it is loaded, before anything trains:
unknown keys, duplicate YAML keys, wrong types and out-of-range values fail
with the dotted key path and what is allowed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence, Union, get_type_hints

import yaml

from bench.heuristics import check_rules, choices, default_selection, slots, validate_selection
from bench.heuristics.partition import is_split
from bench.spaces import DEFAULT_SPACE, RegisteredSpaces, describe_spaces, get_space
from bench.validation import ConfigError, check_value, describe_allowed, option, suggest


def registered(opt: Any, choices: Sequence[str]) -> Any:
    """The config field ``opt`` whose allowed values are the live sequence ``choices`` (a registry that may
    grow after this module is imported: ``supernet.space``)."""
    return field(default=opt.default, metadata={**opt.metadata, "choices": choices})


def section(cls: type) -> Any:
    return field(default_factory=cls, metadata={"help": (cls.__doc__ or "").strip().splitlines()[0]})


@dataclass(frozen=True)
class DataConfig:
    """Images: which dataset, how the training set is split, augmentation."""

    dataset: str = option("digits", "image set: 'digits' (embedded 8x8, no download) or 'cifar10' "
                          "(from the data directory)", choices=("digits", "cifar10"))
    train_size: Union[int, None] = option(None, "images in the supernet-training part of the split "
                                          "(null: half the training set)", low=1)
    valid_size: Union[int, None] = option(None, "images in the held-out part (null: half when train_size is null "
                                          "too, else the rest)", low=1)
    eval_images: Union[int, None] = option(None, "held-out images used to score each subnet "
                                           "(null: the whole held-out part)", low=1)
    split_seed: int = option(0, "seed of the train/held-out split (fixed across runs so that runs compare)", low=0)
    portion: float = option(1.0, "fraction of the supernet-training part actually used (a budget heuristic)",
                            low=0.0, high=1.0, low_open=True)
    augment: bool = option(True, "random crop with padding (and horizontal flip) during supernet training")
    flip: Union[bool, None] = option(None, "horizontal flips when augmenting (null: the dataset's default, "
                                     "on for CIFAR-10, off for digits)")
    pad: Union[int, None] = option(None, "padding of the random crop in pixels (null: the dataset's default, "
                                   "4 on CIFAR-10, 1 on 8x8 digits, scaled down with data.resolution)",
                                   low=0, high=16)
    resolution: Union[int, None] = option(None, "side length the images are downsampled to by averaging square "
                                          "blocks of pixels (null: the dataset's own, 32 on CIFAR-10; 16 is "
                                          "2x2 blocks, 4x fewer pixels per image); must divide the native side",
                                          low=1)


@dataclass(frozen=True)
class SupernetConfig:
    """The weight-sharing network: search space, width, depth."""

    space: str = registered(option(DEFAULT_SPACE, f"search space: {describe_spaces()}; see bench.spaces"),
                            RegisteredSpaces())
    C: int = option(8, "channels of the first stage (the supernet's width; NB101: the stem's channels, DARTS: "
                    "C of the stem's 3C)", low=1, high=512)
    N: int = option(1, "cells per stage (the supernet's depth; NB101: cells per stack, 3 stacks; DARTS: normal "
                    "cells per stage, 3N + 2 cells with the 2 reductions)", low=1, high=20)
    drop_path: float = option(0.0, "drop-path rate: probability that an edge's output is dropped for an image "
                              "during training", low=0.0, high=0.9)
    channels: str = option("dynamic", "NB101 only: 'dynamic' (each vertex has the stand-alone network's channels, "
                           "sliced from shared max-width weights) or 'fixed' (full width everywhere, the output "
                           "vertex sums instead of concatenating); see bench.supernets.nb101",
                           choices=("dynamic", "fixed"))
    op_set: str = option("all", "candidate ops on every edge: 'all', or 'without_none' (the 4-op space of "
                         "GM-NAS Table 1; subnets and the evaluation pool then never use 'none')",
                         choices=("all", "without_none"))


@dataclass(frozen=True)
class TrainConfig:
    """Supernet training: SGD settings and budget (which subnets and schedule: see ``heuristics``)."""

    epochs: int = option(60, "training epochs", low=1)
    batch_size: int = option(64, "images per step", low=1)
    lr: float = option(0.025, "initial learning rate", low=0.0, low_open=True)
    warmup_epochs: int = option(0, "linear learning-rate warm-up epochs at the start of the schedule (not "
                                "heuristics.partition.warmup_epochs, the one-shot training before each split)",
                                low=0)
    label_smoothing: float = option(0.0, "label smoothing of the cross-entropy loss", low=0.0, high=0.5)
    momentum: float = option(0.9, "SGD momentum beta", low=0.0, high=0.999)
    nesterov: bool = option(True, "Nesterov momentum (needs momentum > 0)")
    weight_decay: float = option(5e-4, "L2 weight decay", low=0.0)
    grad_clip: Union[float, None] = option(5.0, "clip the gradient norm to this value (null: no clipping)",
                                           low=0.0, low_open=True)
    device: str = option("auto", "'auto' (CUDA when available), 'cpu' or 'cuda'", choices=("auto", "cpu", "cuda"))
    precision: str = option("fp32", "arithmetic of the forward pass in training and scoring: 'fp32', or 'bf16' "
                            "(bfloat16 autocast; weights and optimizer state stay fp32)", choices=("fp32", "bf16"))


@dataclass(frozen=True)
class EvalConfig:
    """Scoring subnets with the inherited weights, and the ground truth they are ranked against."""

    pool_size: Union[int, str] = option(200, "subnets scored: a number sampled uniformly, or 'all'", low=2,
                                       words=("all",))
    pool_seed: int = option(0, "seed of the evaluation pool (fixed across runs so that runs compare)", low=0)
    batch_size: int = option(256, "images per scoring batch", low=1)
    ground_truth_column: Union[str, None] = option(None, "ground-truth column to rank against (null: the "
                                                   "dataset's default, e.g. cifar10-valid_valid)")
    sparse_threshold: float = option(1.0, "bin width of the sparse Kendall tau, in accuracy points",
                                     low=0.0, low_open=True)
    track_every: int = option(0, "score the first track_pool subnets of the pool every k epochs and after the "
                              "last, to follow ranking quality over training (history.csv; 0: never)", low=0)
    track_pool: int = option(50, "subnets scored at each tracking point (the first of the evaluation pool)",
                             low=2)
    top_sample: int = option(0, "also score this many subnets drawn from each of the space's true top 1% and "
                             "top 5%, for the Spearman correlation among top subnets (scores_top.csv; 0: never)",
                             low=0)
    scoring: str = option("full", "'full' (every subnet on every held-out image, the papers' protocol) or "
                          "'adaptive' (a first slice for every subnet, then doubling slices only for subnets whose "
                          "rank among their neighbours is still uncertain; see bench.adaptive)",
                          choices=("full", "adaptive"))
    adaptive_first: int = option(500, "adaptive scoring: held-out images every subnet is scored on first "
                                 "(rounded up to whole scoring batches)", low=1)
    adaptive_confidence: float = option(0.95, "adaptive scoring: confidence at which two neighbours' order "
                                        "counts as settled (paired test by image)", low=0.0, high=0.999,
                                        low_open=True)
    adaptive_tolerance: float = option(2.0, "adaptive scoring: indifference zone in accuracy points: neighbours "
                                       "whose difference is known to within it are not scored further (0: none)",
                                       low=0.0)
    average_last: int = option(0, "our addition, beside the papers' estimator: also score the pool after each of "
                               "the last k epochs and rank subnets by their mean score over those k (the "
                               "*_averaged metrics; 0: off; one-shot runs with full scoring only)", low=0)


@dataclass(frozen=True)
class DiagnosticsConfig:
    """Gradient statistics collected during training (see bench.metrics.gradients)."""

    grad_stats: bool = option(True, "collect the windowed gradient std and successive cosine similarity")
    grad_tensor: str = option("stem.0.weight", "the shared tensor whose gradient is observed (default: the "
                              "first layer every subnet uses)")
    grad_window: int = option(20, "steps per window of the gradient std (W)", low=2)
    grad_interval: int = option(1, "observe every k-th step (thins the cost for large tensors)", low=1)
    gm_every: int = option(0, "compute the gradient-matching score matrix of gm_edge at the end of every k-th "
                           "epoch and of the last (0: never)", low=0)
    gm_edge: int = option(0, "edge whose ops the GM score matrix compares", low=0, high=5)
    gm_batches: int = option(10, "batches R the GM diagnostic probe (gm_every; it measures, decides nothing) "
                             "averages its scores over (GM-NAS used 100); not heuristics.partition.gm_batches, the "
                             "R of GM splitting's split decisions", low=1)


@dataclass(frozen=True)
class SeedConfig:
    """Seed streams that can be varied one at a time (null: the run's seed; see bench.seeds)."""

    init: Union[int, None] = option(None, "seed of the supernet's weight initialization (null: seed)", low=0)
    data: Union[int, None] = option(None, "seed of the batch order, augmentation and drop-path masks "
                                    "(null: seed)", low=0)
    sampling: Union[int, None] = option(None, "seed of the subnets each step trains (null: seed)", low=0)
    eval_images: Union[int, None] = option(None, "seed of a random draw of the data.eval_images scoring images "
                                           "from the held-out part (null: its first data.eval_images, the same "
                                           "for every run)", low=0)


@dataclass(frozen=True)
class RunConfig:
    """One experiment: train a supernet, score its subnets, compare with the ground truth.

    The defaults are the embedded default job (NB201 supernet on 8x8 digits, a
    few minutes on a CPU); ``ablations/`` holds CIFAR-10 configs at proxy and
    paper scale.
    """

    name: str = option("run", "a label for the run")
    seed: int = option(0, "seed of weight initialization, subnet sampling and augmentation (each can be set "
                       "apart in the seeds section)", low=0)
    data: DataConfig = section(DataConfig)
    supernet: SupernetConfig = section(SupernetConfig)
    train: TrainConfig = section(TrainConfig)
    eval: EvalConfig = section(EvalConfig)
    diagnostics: DiagnosticsConfig = section(DiagnosticsConfig)
    seeds: SeedConfig = section(SeedConfig)
    heuristics: dict = field(default_factory=default_selection, metadata={
        "help": "one registered heuristic per slot of the training recipe (bench heuristics lists them)",
        "validator": validate_selection})


# ---------------------------------------------------------------------------
# Loading and validation
# ---------------------------------------------------------------------------


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that rejects a key defined twice in one mapping (NASLib's silent-override trap)."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise ConfigError(f"duplicate key {key!r} at line {key_node.start_mark.line + 1} "
                              f"(first defined at line {seen[key] + 1})")
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        data = yaml.load(path.read_text(), Loader=_UniqueKeyLoader)
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not a text file, so not a YAML config ({exc.reason} at byte {exc.start})") \
            from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML {yaml_problem(exc)}") from None
    except ConfigError as exc:  # a duplicate key: the loader knows the line, not the file
        raise ConfigError(f"{path}: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys, got {type(data).__name__}")
    return data


def parse_override(text: str) -> tuple[str, Any]:
    """``train.lr=0.05`` -> (``train.lr``, 0.05); the value is read as YAML (``null``, ``true``, numbers)."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"an override must look like key.path=value, got {text!r}")
    try:
        parsed = yaml.safe_load(value) if value.strip() else ""
    except yaml.YAMLError as exc:
        # Not read as a plain string: a broken {..} would otherwise reach the schema as a misleading
        # "not a registered heuristic" instead of the syntax problem it is.
        raise ConfigError(f"--set {key.strip()}: the value {value!r} is not valid YAML "
                          f"{yaml_problem(exc, one_line=True)}; {_yaml_example(key.strip(), value)}") from None
    return key.strip(), parsed


def yaml_problem(exc: yaml.YAMLError, one_line: bool = False) -> str:
    """PyYAML's several-line report (which names ``<unicode string>``) as one phrase: where, and what.

    ``one_line``: the text was a single line (a ``--set`` value), so only the column is worth naming.
    """
    mark, problem = getattr(exc, "problem_mark", None), getattr(exc, "problem", None)
    if mark is None or problem is None:
        return f"({' '.join(str(exc).split())})"

    def where(m) -> str:
        return f"column {m.column + 1}" if one_line else f"line {m.line + 1}, column {m.column + 1}"

    context, start = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    if context and start is not None and (start.line, start.column) != (mark.line, mark.column):
        context = f"{context} that starts at {where(start)}"
    return f"at {where(mark)}: {problem}" + (f" ({context})" if context else "")


def _yaml_example(key: str, value: str) -> str:
    """The fix of a --set value that is not YAML, by what it looks like it meant."""
    if value.lstrip().startswith("{"):
        return "write a map as {key: value, ...} with the closing }, e.g. --set 'heuristics.lr_schedule={name: " \
               "calr, gamma_prime: 2}'"
    if value.lstrip().startswith("["):
        return "write a list as [a, b, c] with the closing ]"
    quote = "'" if '"' in value else '"'
    return f"to give it as text, quote it: --set '{key}={quote}{value}{quote}'"


def apply_override(raw: dict, key: str, value: Any) -> None:
    """Set a dotted key in a nested dict (creating sections); the schema check happens later."""
    parts = key.split(".")
    node = raw
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if isinstance(child, str) and parts[0] == "heuristics":
            # A heuristic given by name alone (sampling: fairnas) gains parameters: {name: fairnas, ...}.
            child = node[part] = {"name": child}
        if not isinstance(child, dict):
            raise ConfigError(f"cannot set {key!r}: {part!r} is a value, not a section")
        node = child
    node[parts[-1]] = value


def build_config(raw: Mapping[str, Any] | None = None, overrides: Sequence[str] = (), cls: type = RunConfig):
    """Validate a nested dict (from YAML) plus ``key=value`` overrides into a frozen config."""
    raw = _deep_copy(dict(raw or {}))
    for text in overrides:
        apply_override(raw, *parse_override(text))
    config = _build(cls, raw, path="")
    check_consistency(config)
    return config


def load_config(path: str | Path | None = None, overrides: Sequence[str] = ()) -> RunConfig:
    raw = load_yaml(path) if path is not None else {}
    try:
        return build_config(raw, overrides)
    except ConfigError as exc:
        where = f"{path}: " if path is not None else ""
        raise ConfigError(f"{where}{exc}") from None


def _deep_copy(value):
    if isinstance(value, dict):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value


def _build(cls: type, raw: Any, path: str):
    if not isinstance(raw, dict):
        raise ConfigError(f"{path or 'config'}: expected a section (mapping), got {raw!r}")
    hints = get_type_hints(cls)
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(raw) - set(known))
    if unknown:
        where = f"in section {path!r}" if path else "at the top level"
        raise ConfigError(f"unknown key {_join(path, unknown[0])!r} {where}; allowed: {', '.join(known)}"
                          + suggest(unknown[0], known))
    values = {}
    for name, f in known.items():
        key = _join(path, name)
        if name not in raw:
            continue
        if "validator" in f.metadata:
            values[name] = f.metadata["validator"](raw[name], key)
        elif is_dataclass(hints[name]):
            values[name] = _build(hints[name], raw[name], key)
        else:
            values[name] = check_value(key, raw[name], hints[name], f.metadata)
    return cls(**values)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def check_consistency(config: RunConfig) -> None:
    """Constraints between fields, refused with the reason."""
    if config.train.nesterov and config.train.momentum == 0:
        raise ConfigError("train.nesterov = true needs train.momentum > 0 (Nesterov momentum without momentum "
                          "is undefined); set train.nesterov=false or a momentum > 0")
    check_space_options(config)
    check_rules(config.heuristics, config)
    check_averaging(config)


def check_averaging(config: RunConfig) -> None:
    """``eval.average_last`` scores one supernet, fully, within the epochs it trains."""
    k = config.eval.average_last
    if k == 0:
        return
    if k > config.train.epochs:
        raise ConfigError(f"eval.average_last = {k} exceeds train.epochs = {config.train.epochs}; allowed: "
                          f"0 to {config.train.epochs}")
    if config.eval.scoring != "full":
        raise ConfigError(f"eval.average_last = {k} needs eval.scoring = 'full' (an average of adaptive scores "
                          "would mix image counts); set eval.average_last=0 or eval.scoring=full")
    if is_split(config.heuristics):
        raise ConfigError(f"eval.average_last = {k} averages one supernet's scores; a split run "
                          f"(heuristics.partition = {config.heuristics['partition']['name']!r}) scores each subnet "
                          "with its leaf at the end only; set eval.average_last=0")


def check_space_options(config: RunConfig) -> None:
    """Options that exist for some search spaces only are refused on the others, with the reason (each space
    says which: :meth:`bench.spaces.SearchSpace.check_options`)."""
    get_space(config.supernet.space).check_options(config)


# ---------------------------------------------------------------------------
# Output: resolved config as a dict / YAML, and a reference of every key
# ---------------------------------------------------------------------------


def to_dict(config) -> dict:
    return dataclasses.asdict(config)


def to_yaml(config) -> str:
    return yaml.safe_dump(to_dict(config), sort_keys=False)


def reference(cls: type = RunConfig, path: str = "") -> list[tuple[str, Any, str, str]]:
    """(key, default, allowed, help) for every field, for ``--help`` and the README."""
    rows = []
    hints = get_type_hints(cls)
    for f in fields(cls):
        key = _join(path, f.name)
        if "validator" in f.metadata:  # the heuristics section: one row per slot
            for slot in slots().values():
                names = ", ".join(repr(n) for n in choices(slot.name))
                rows.append((f"{key}.{slot.name}", slot.default, f"one of {names}", slot.description))
        elif is_dataclass(hints[f.name]):
            rows.extend(reference(hints[f.name], key))
        else:
            rows.append((key, f.default, describe_allowed(hints[f.name], f.metadata)[len("allowed: "):],
                         f.metadata.get("help", "")))
    return rows
