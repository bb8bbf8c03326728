"""The ``bench`` command: run, grid, collect, report, reproduce, baseline, heuristics, complexity, data, groundtruth,
perf."""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

from bench import __version__
from bench.errors import BenchError
from bench import metric_names as names


def _config_reference() -> str:
    from bench.config import reference

    lines = ["config keys (YAML sections, or --set key=value):"]
    for key, default, allowed, help_text in reference():
        lines.append(f"  {key} = {default!r}  ({allowed})")
        lines.extend(textwrap.wrap(help_text, 76, initial_indent="      ", subsequent_indent="      "))
    return "\n".join(lines)


def _add_run(sub) -> None:
    p = sub.add_parser(
        "run", help="train a supernet, score its subnets, rank them against the ground truth",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Train one supernet and score an evaluation pool of subnets with the inherited weights. "
                    "With no CONFIG it runs the embedded default (8x8 digits, no download).",
        epilog=_config_reference())
    p.add_argument("config", nargs="?", help="experiment config (YAML); omitted: the embedded default")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override one config key, e.g. --set train.lr=0.05 (repeatable)")
    p.add_argument("--data-dir", help="data directory (cifar10/, nb201/); default: $BENCH_DATA_DIR")
    p.add_argument("--out", help="run directory (default: runs/<name>-<config hash>)")
    p.add_argument("--print-config", action="store_true", help="print the resolved config and exit")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--restart", action="store_true",
                   help="discard the checkpoints of an unfinished run in the run directory (e.g. damaged ones) "
                        "and train from the first epoch; a complete run is kept")
    p.set_defaults(func=_cmd_run)


def _cmd_run(args) -> int:
    from bench.config import load_config, to_yaml
    from bench.run import execute_run

    config = load_config(args.config, args.overrides)
    if args.print_config:
        print(to_yaml(config), end="")
        return 0
    record = execute_run(config, data_dir=args.data_dir, out=args.out, progress=not args.quiet,
                         restart=args.restart)
    print(record.summary())
    return 0


_COMPLEXITY_HELP = """\
nb101 (NAS-Bench-101, 423,624 cells: not enumerated) needs the cells to price:
  --records PATH            a JSON list of objects with "matrix" and "ops" (the format of
                            nb101_records.json / nb101_sample.json): one CSV row per entry
  --matrix M --ops OPS      one cell: M is the adjacency matrix as n*n digits 0/1 row by row
                            (the official tfrecord form, e.g. 0110000110...) or rows joined by
                            commas (011,001,000); OPS the n ops joined by commas, e.g.
                            input,conv3x3-bn-relu,output (interior ops: conv3x3-bn-relu,
                            conv1x1-bn-relu, maxpool3x3)
Cells are pruned as the official ModelSpec prunes; arch_str is the official graph hash. Defaults
are the benchmark network (--stem 128 --stacks 3 --cells 3 --classes 10), whose parameter count
is the official trainable_parameters. flops = multiply-accumulates of convolutions and the dense
layer for one 32x32 image.

darts (DARTS space, about 1e18 genotypes: not enumerated) needs the genotypes to price:
  --records PATH            a JSON list of records holding genotypes: NDS records (genotype under
                            "net"), the NAS-Bench-301 sample ("normal", "reduce"), or bare genotypes
                            {"normal": [[op, input], ...8 pairs], "reduce": [...]}
  --genotype STRING         one genotype: the canonical string (the arch_str printed), e.g.
                            normal=|sep_conv_3x3~0|sep_conv_3x3~1|+|...|+|...|+|...|;reduce=|...|
                            (4 node groups per cell, inputs: 0, 1 the previous cells, j >= 2 node j),
                            a DARTS repr Genotype(normal=[('sep_conv_3x3', 0), ...], ...), or a JSON
                            object as above
Ops: max_pool_3x3, avg_pool_3x3, skip_connect, sep_conv_3x3, sep_conv_5x5, dil_conv_3x3,
dil_conv_5x5; the two inputs of a node differ; cells concatenate nodes 2..5. The network is DARTS's
NetworkCIFAR without auxiliary head; the defaults (--C 36 --layers 20 --classes 10) are the DARTS
CIFAR-10 evaluation network (DARTS_V2: 3,349,342 parameters). Every genotype is priced at the
same --C/--layers: an NDS record's own width and depth are not used.

examples:
  bench complexity nb201 > nb201_complexity.csv
  bench complexity nb101 --records nb101_sample.json
  bench complexity nb101 --matrix 011,001,000 --ops input,conv3x3-bn-relu,output
  bench complexity darts --records nb301_surrogate_sample.json
  bench complexity darts --records DARTS.json --C 16 --layers 8
"""


def _add_complexity(sub) -> None:
    p = sub.add_parser("complexity", help="parameter count and FLOPs of cells of a space (CSV)",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="Prints arch_str,params,flops: the stand-alone network's parameter count and "
                                   "multiply-accumulates, computed in closed form. nb201: every cell of the "
                                   "space; nb101: the cells given with --records or --matrix/--ops; darts: the "
                                   "genotypes given with --records or --genotype.",
                       epilog=_COMPLEXITY_HELP)
    p.add_argument("space", choices=list(_COMPLEXITY_HANDLERS), help="search space")
    p.add_argument("--C", type=int, default=None,
                   help="nb201: channels of the first stage (default 16); darts: initial channels (default 36)")
    p.add_argument("--N", type=int, default=None, help="nb201: cells per stage (default 5)")
    p.add_argument("--layers", type=int, default=None, help="darts: number of cells (default 20)")
    p.add_argument("--classes", type=int, default=10, help="number of classes (default 10)")
    p.add_argument("--input-size", type=int, default=32, help="input resolution (default 32)")
    p.add_argument("--in-channels", type=int, default=3, help="input channels (default 3)")
    p.add_argument("--stem", type=int, default=None, help="nb101: stem output channels (default 128)")
    p.add_argument("--stacks", type=int, default=None, help="nb101: stacks of cells (default 3)")
    p.add_argument("--cells", type=int, default=None, help="nb101: cells per stack (default 3)")
    p.add_argument("--records", metavar="PATH",
                   help="nb101: JSON list of cells (objects with matrix and ops); darts: JSON list of genotypes")
    p.add_argument("--genotype", metavar="STRING", help="darts: one genotype (see below)")
    p.add_argument("--matrix", help="nb101: one cell's adjacency matrix (see below)")
    p.add_argument("--ops", help="nb101: one cell's ops, comma-separated (see below)")
    p.set_defaults(func=_cmd_complexity)


def _cmd_complexity(args) -> int:
    from bench.config import ConfigError

    darts_only = [f"--{name}" for name in ("layers", "genotype") if getattr(args, name) is not None]
    if args.space != "darts" and darts_only:
        raise ConfigError(f"{', '.join(darts_only)}: option(s) of darts only")
    return _COMPLEXITY_HANDLERS[args.space](args)


def _standalone_defaults(space_name: str, args) -> dict:
    """The stand-alone network the space's ground truth refers to on CIFAR-10
    (:meth:`bench.spaces.SearchSpace.standalone_setting`), with ``--classes``, ``--input-size`` and
    ``--in-channels`` from the command line: the settings the size options of `bench complexity` override."""
    from bench.spaces import get_space
    from bench.tasks import get_task

    setting = get_space(space_name).standalone_setting(get_task("cifar10"))
    return dict(setting, num_classes=args.classes, input_size=args.input_size, in_channels=args.in_channels)


def _complexity_nb201(args) -> int:
    from bench.config import ConfigError
    from bench.spaces import get_space
    from bench.spaces import nb201

    given = [f"--{name}" for name in ("stem", "stacks", "cells", "records", "matrix", "ops")
             if getattr(args, name) is not None]
    if given:
        owner = "nb101 and darts" if given == ["--records"] else "nb101 only"
        raise ConfigError(f"{', '.join(given)}: option(s) of {owner}; nb201 takes --C, --N, --classes, "
                          "--input-size, --in-channels")
    settings = _standalone_defaults("nb201", args)
    for key in ("C", "N"):
        if getattr(args, key) is not None:
            settings[key] = getattr(args, key)
    _require_positive(("--C", "--N", "--classes", "--input-size", "--in-channels"),
                      [settings[k] for k in ("C", "N", "num_classes", "input_size", "in_channels")])
    space = get_space("nb201")
    archs = list(nb201.iter_archs())  # every cell of the space
    return _write_costs(archs, (space.complexity(arch, **settings) for arch in archs))


def _require_positive(flags, values) -> None:
    """Every size option of `bench complexity` is a count: >= 1."""
    from bench.config import ConfigError

    for flag, value in zip(flags, values):
        if value < 1:
            raise ConfigError(f"{flag} must be >= 1, got {value}")


def _write_costs(items, costs) -> int:
    """The CSV of `bench complexity`: one row per cell, its key, parameters and FLOPs."""
    out = sys.stdout
    out.write("arch_str,params,flops\n")
    for item, c in zip(items, costs):
        out.write(f"{item},{c.params},{c.flops}\n")
    return 0


def _parse_nb101_matrix(text: str) -> list[list[int]]:
    """'011,001,000' (rows) or '011001000' (n*n digits row by row) -> a list of rows of ints."""
    import math

    from bench.config import ConfigError

    rows = text.replace(";", ",").replace(" ", "").split(",")
    if len(rows) == 1:
        n = math.isqrt(len(text))
        if n * n != len(text):
            raise ConfigError(f"--matrix {text!r}: {len(text)} digits is not n*n; give n*n digits 0/1 row by "
                              "row, or rows joined by commas")
        rows = [text[r * n:(r + 1) * n] for r in range(n)]
    if any(set(row) - {"0", "1"} or len(row) != len(rows) for row in rows):
        raise ConfigError(f"--matrix {text!r}: expected {len(rows)} rows of {len(rows)} digits 0/1")
    return [[int(c) for c in row] for row in rows]


def _complexity_nb101(args) -> int:
    from bench.config import ConfigError
    from bench.groundtruth.nb101 import read_cells_json
    from bench.spaces import get_space, nb101

    if args.records is None and (args.matrix is None or args.ops is None):
        raise ConfigError("bench complexity nb101 needs --records PATH, or --matrix and --ops for one cell "
                          "(see bench complexity --help)")
    if args.records is not None and (args.matrix is not None or args.ops is not None):
        raise ConfigError("give either --records or --matrix/--ops, not both")
    settings = _standalone_defaults("nb101", args)
    for flag, key in (("stem", "stem_channels"), ("stacks", "num_stacks"), ("cells", "cells_per_stack")):
        if getattr(args, flag) is not None:
            settings[key] = getattr(args, flag)
    _require_positive(("--stem", "--stacks", "--cells", "--classes", "--input-size", "--in-channels"),
                      [settings[k] for k in ("stem_channels", "num_stacks", "cells_per_stack", "num_classes",
                                             "input_size", "in_channels")])
    try:
        if args.records is not None:
            cells = read_cells_json(args.records)
        else:
            cells = [nb101.make_cell(_parse_nb101_matrix(args.matrix), args.ops.split(","))]
        costs = [get_space("nb101").complexity(cell, **settings) for cell in cells]
    except nb101.CellError as exc:
        raise ConfigError(str(exc)) from None
    return _write_costs(cells, costs)


def _complexity_darts(args) -> int:
    from bench.config import ConfigError
    from bench.groundtruth.darts import read_genotypes_json
    from bench.spaces import darts, get_space

    foreign = [f"--{name}" for name in ("N", "stem", "stacks", "cells", "matrix", "ops")
               if getattr(args, name) is not None]
    if foreign:
        raise ConfigError(f"{', '.join(foreign)}: not option(s) of darts; darts takes --records or --genotype, "
                          "--C, --layers, --classes, --input-size, --in-channels")
    if args.records is None and args.genotype is None:
        raise ConfigError("bench complexity darts needs --records PATH or --genotype STRING "
                          "(see bench complexity --help)")
    if args.records is not None and args.genotype is not None:
        raise ConfigError("give either --records or --genotype, not both")
    settings = _standalone_defaults("darts", args)
    for key in ("C", "layers"):
        if getattr(args, key) is not None:
            settings[key] = getattr(args, key)
    _require_positive(("--C", "--layers", "--classes", "--input-size", "--in-channels"),
                      [settings[k] for k in ("C", "layers", "num_classes", "input_size", "in_channels")])
    try:
        if args.records is not None:
            genotypes = read_genotypes_json(args.records)
        else:
            genotypes = [darts.parse_genotype(args.genotype)]
        costs = [get_space("darts").complexity(g, **settings) for g in genotypes]
    except darts.GenotypeError as exc:
        raise ConfigError(str(exc)) from None
    return _write_costs(genotypes, costs)


# How `bench complexity` reads the cells of each space: NB201 enumerates its space; NB101 and DARTS take
# cells given in their own formats (--records, --matrix/--ops, --genotype).
_COMPLEXITY_HANDLERS = {"nb201": _complexity_nb201, "nb101": _complexity_nb101, "darts": _complexity_darts}


def _add_data(sub) -> None:
    p = sub.add_parser("data", help="data utilities (import the official NAS-Bench-201 file)")
    data_sub = p.add_subparsers(dest="data_command", required=True)
    imp = data_sub.add_parser("import-nb201", help="build the NB201 ground-truth CSV from "
                              "NAS-Bench-201-v1_1-096897.pth (needs: pip install nas-bench-201)")
    imp.add_argument("path", help="the official .pth file")
    imp.add_argument("--out", help="CSV to write (default: $BENCH_DATA_DIR/nb201/nb201_hp200.csv)")
    imp.add_argument("--hp", default="200", choices=["12", "200"], help="training protocol (default 200 epochs)")
    imp.set_defaults(func=_cmd_import_nb201)


def _cmd_import_nb201(args) -> int:
    from bench.data import DataError
    from bench.data.layout import resolve_data_dir
    from bench.groundtruth.nb201 import default_table_path, import_nb201_pth

    out = args.out
    if out is None:
        data_dir = resolve_data_dir(None)
        if data_dir is None:
            raise DataError("give --out CSV or set BENCH_DATA_DIR")
        out = default_table_path(data_dir)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    table = import_nb201_pth(args.path, out, hp=args.hp)
    print(f"wrote {len(table)} rows to {out}")
    return 0


def _add_groundtruth(sub) -> None:
    p = sub.add_parser("groundtruth", help="build a ground-truth table by training cells stand-alone")
    gt_sub = p.add_subparsers(dest="gt_command", required=True)
    b = gt_sub.add_parser("build", help="train a pool of NB201 cells stand-alone and write their accuracy",
                          description="Trains a seeded pool of NAS-Bench-201 cells from scratch on the "
                                      "supernet-training part of the dataset and writes their held-out "
                                      "accuracy (mean over seeds). Resumes an interrupted build.")
    b.add_argument("--dataset", default="digits", choices=["digits"], help="dataset (default digits)")
    b.add_argument("--archs", type=int, default=200, help="cells in the pool (default 200)")
    b.add_argument("--arch-seed", type=int, default=0, help="seed of the pool (default 0)")
    b.add_argument("--seeds", default="0,1", help="training seeds, comma separated (default 0,1)")
    b.add_argument("--epochs", type=int, help="stand-alone epochs (default: the embedded setting)")
    b.add_argument("--jobs", type=int, default=1, help="parallel processes (default 1)")
    b.add_argument("--out", required=True, help="CSV to write")
    b.set_defaults(func=_cmd_groundtruth_build)


def _cmd_groundtruth_build(args) -> int:
    import dataclasses

    from bench.config import TrainConfig
    from bench.groundtruth_builder import BuildSpec, build_table
    from bench.groundtruth.embedded import DIGITS_SETTING

    _require_positive(("--archs", "--jobs", "--epochs"),
                      (args.archs, args.jobs, 1 if args.epochs is None else args.epochs))
    seeds = _parse_seeds(args.seeds)
    train = TrainConfig(**DIGITS_SETTING["train"])
    if args.epochs is not None:
        train = dataclasses.replace(train, epochs=args.epochs)
    standalone = DIGITS_SETTING["standalone"]
    spec = BuildSpec(args.dataset, args.archs, args.arch_seed, seeds, standalone["C"], standalone["N"], train)
    table = build_table(spec, Path(args.out), DIGITS_SETTING["column"], jobs=args.jobs)
    print(f"wrote {len(table)} cells to {args.out}")
    return 0


def _parse_seeds(text: str) -> tuple[int, ...]:
    """--seeds 0,1,2: int() alone would let "0, a" end in a traceback instead of naming the flag."""
    from bench.config import ConfigError

    try:
        seeds = tuple(int(s) for s in text.split(","))
    except ValueError:
        raise ConfigError(f"--seeds {text!r}: expected integers >= 0 joined by commas, e.g. --seeds 0,1") from None
    if any(s < 0 for s in seeds):
        raise ConfigError(f"--seeds {text!r}: seeds must be >= 0, e.g. --seeds 0,1")
    return seeds


def _add_perf(sub) -> None:
    p = sub.add_parser("perf", help="training and scoring throughput of a supernet",
                       description="Measures supernet training throughput (images/s), scoring throughput "
                                   "(subnet-images/s), the ratio of the full training loop to the bare "
                                   "model's forward+backward on the same batches, and the achieved training FLOP/s "
                                   "against the attainable FLOP/s of a matmul and a supernet-shaped conv, in fp32 "
                                   "and/or bf16, in one run.")
    p.add_argument("--C", type=int, default=16, help="supernet width (default 16)")
    p.add_argument("--N", type=int, default=1, help="cells per stage (default 1)")
    p.add_argument("--batch", type=int, default=64, help="batch size (default 64)")
    p.add_argument("--steps", type=int, default=50, help="timed steps per repeat (default 50)")
    p.add_argument("--repeats", type=int, default=3, help="repeats; medians are reported (default 3)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="device (default auto)")
    p.add_argument("--compare", action="store_true",
                   help="also time SPOS without gradient statistics, SPOS+CaLR+MS and FairNAS+CaLR+MS, per image trained")
    p.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "both"],
                   help="arithmetic of training and scoring (train.precision); 'both' measures fp32 and bf16 "
                        "side by side in one run and prints the bf16/fp32 speed-ups (default fp32)")
    p.add_argument("--matmul-n", type=int, default=2048,
                   help="size of the square matmul that measures the attainable FLOP/s (default 2048)")
    p.set_defaults(func=_cmd_perf)


def _cmd_perf(args) -> int:
    from bench.perf import VARIANTS, format_report, measure

    _require_positive(("--C", "--N", "--batch", "--steps", "--repeats", "--matmul-n"),
                      (args.C, args.N, args.batch, args.steps, args.repeats, args.matmul_n))
    variants = tuple(VARIANTS) if args.compare else ("spos",)
    precisions = ("fp32", "bf16") if args.precision == "both" else (args.precision,)
    result = measure(C=args.C, N=args.N, batch_size=args.batch, steps=args.steps, repeats=args.repeats,
                     device=args.device, variants=variants, precisions=precisions, matmul_n=args.matmul_n)
    print(format_report(result))
    return 0


def _add_heuristics(sub) -> None:
    p = sub.add_parser("heuristics", help="list every registered training heuristic with its source",
                       description="Lists the heuristic registry: each heuristic's slot, how to set it, its "
                                   "parameters (type, default, allowed values), description, source and taxonomy tag.")
    p.add_argument("--format", choices=["table", "json"], default="table", help="output format (default table)")
    p.set_defaults(func=_cmd_heuristics)


def _cmd_heuristics(args) -> int:
    import json

    from bench.heuristics import all_heuristics

    rows = [_heuristic_record(h) for h in all_heuristics()]
    if args.format == "json":
        print(json.dumps(rows, indent=2))
        return 0
    print("\n".join(_heuristics_table(rows, _table_width())))
    return 0


TABLE_WIDTH = 100  # the widest table printed, even on a wider terminal: long lines read badly
MIN_TEXT_WIDTH = 24  # the details column never gets narrower, whatever the terminal


def _table_width() -> int:
    """The terminal's width ($COLUMNS first), capped at TABLE_WIDTH; TABLE_WIDTH when output is not a terminal."""
    import shutil

    return min(shutil.get_terminal_size((TABLE_WIDTH, 24)).columns, TABLE_WIDTH)


def _heuristics_table(rows: list[dict], width: int) -> list[str]:
    """`bench heuristics` as a table: a header, then per heuristic its slot, name and details (how to set it,
    description, parameters, source), the details wrapped to the width so that no text, however long, breaks
    the columns."""
    slot_w = max(len("SLOT"), *(len(r["slot"]) for r in rows)) + 2
    name_w = max(len("NAME"), *(len(r["name"]) for r in rows)) + 2
    text_w = max(width - slot_w - name_w, MIN_TEXT_WIDTH)

    def row(slot: str, name: str, texts: list[str]) -> list[str]:
        details = [line for text in texts
                   for line in textwrap.wrap(text, text_w, subsequent_indent="  ", break_on_hyphens=False) or [""]]
        return [f"{slot:{slot_w}}{name:{name_w}}{details[0]}".rstrip()] + \
            [f"{'':{slot_w + name_w}}{d}".rstrip() for d in details[1:]]

    lines = row("SLOT", "NAME", ["HOW TO SET, DESCRIPTION, SOURCE"])
    for r in rows:
        lines += row(r["slot"], r["name"], _heuristic_details(r))
    return lines


def _heuristic_details(r: dict) -> list[str]:
    params = ", ".join(f"{n}={p['default']!r} ({p['allowed']})" for n, p in r["params"].items())
    return [r["set"], r["description"]] + ([f"params: {params}"] if params else []) + \
        [f"source: {r['source']} [{r['taxonomy']}]"]


def _heuristic_record(h) -> dict:
    if h.kind == "knob":
        how = f"--set {h.config_key}=VALUE"
    else:
        how = f"--set heuristics.{h.slot}={h.name}"
    return {
        "name": h.name, "slot": h.slot, "kind": h.kind, "set": how, "description": h.description,
        "source": h.source, "taxonomy": h.taxonomy, "config_key": h.config_key,
        "params": {n: {"default": p.default, "allowed": p.allowed(), "help": p.help} for n, p in h.params.items()},
    }


def _add_grid(sub) -> None:
    p = sub.add_parser(
        "grid", help="run a grid of experiments (a spec in ablations/): only the runs not done yet",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Expand a grid spec (base config x axes x seeds, include/exclude) into runs, validate "
                    "every run's config, and execute the runs the grid directory does not hold yet: finished "
                    "runs are skipped, interrupted ones resume from their checkpoints, failed ones are recorded "
                    "and skipped (--retry-failed retries them). The spec format is documented in "
                    "bench/grid/spec.py and the README.",
        epilog="executors: local processes by default (--jobs N, each pinned to cores/N threads); "
               "--jobs-per-device K packs K local processes onto each CUDA device; "
               "--executor dask starts a local Dask cluster of N workers; --scheduler tcp://HOST:PORT sends "
               "the runs to an existing Dask cluster (e.g. SLURM through dask-jobqueue; see the README).")
    p.add_argument("spec", help="grid spec (YAML), or a grid directory (its spec.yaml)")
    p.add_argument("--out", help="grid directory (default: results/<spec name>)")
    p.add_argument("--jobs", type=int, default=None, help="runs at once (local processes or local Dask workers; "
                   "default 1; with --jobs-per-device K, default CUDA devices x K, and --jobs caps that)")
    p.add_argument("--jobs-per-device", type=int, default=None, metavar="K",
                   help="pack K runs onto each CUDA device (local processes only): up to devices x K runs at "
                        "once, each worker pinned to one device round-robin (CUDA_VISIBLE_DEVICES) and each run's "
                        "GPU memory bounded to 1/K; --dry-run's wall time assumes a packing efficiency unless "
                        "scripts/device_check.sh measured one. K > 1 needs CUDA devices. Default: not packed, "
                        "every run uses the default device; --jobs-per-device 1 puts one run on each device")
    p.add_argument("--threads", type=int, default=None,
                   help="torch threads per run (default: the cores' share, cores // jobs; on a remote Dask "
                        "cluster each worker's share of its host)")
    p.add_argument("--executor", choices=["local", "dask"], default=None,
                   help="local processes (default) or Dask (a local cluster, or --scheduler)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="address of a running Dask scheduler, "
                   "e.g. tcp://10.0.0.5:8786 (implies --executor dask)")
    p.add_argument("--transfer", choices=["shared", "return"], default=None,
                   help="shared: workers write run directories into the grid directory (they must see it at "
                        "the same path); return: workers send the run's files back (default with Dask)")
    p.add_argument("--data-dir", help="data directory (cifar10/, nb201/); default: $BENCH_DATA_DIR")
    p.add_argument("--retry-failed", action="store_true",
                   help="run the failed runs again: each resumes from its checkpoint, or starts afresh where its "
                        "checkpoints cannot be resumed from (damaged, or of another format)")
    p.add_argument("--dry-run", action="store_true",
                   help="list the runs, which are done, and a cost estimate; run nothing")
    p.add_argument("--no-measure", action="store_true",
                   help="with --dry-run: do not time a few steps where no finished run gives an estimate")
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.set_defaults(func=_cmd_grid)


def _cmd_grid(args) -> int:
    from bench.config import ConfigError
    from bench.grid import load_grid
    from bench.grid.executors import RETURN, SHARED, dask_backend, local_backend
    from bench.grid.runner import dry_run, run_grid
    from bench.grid.worker import usable_cpus

    spec = Path(args.spec)
    grid_dir = args.out
    if spec.is_dir():
        grid_dir = grid_dir or str(spec)
        spec = spec / "spec.yaml"
    grid = load_grid(spec)
    grid_dir = grid_dir or str(Path("results") / grid.spec.name)
    executor = args.executor or ("dask" if args.scheduler else "local")
    if args.scheduler and executor != "dask":
        raise ConfigError("--scheduler needs --executor dask (or no --executor)")
    if args.jobs is not None and args.jobs < 1:
        raise ConfigError(f"--jobs = {args.jobs}: at least 1")
    if args.threads is not None and args.threads < 1:
        raise ConfigError(f"--threads = {args.threads}: at least 1")
    packing = _grid_packing(args.jobs_per_device, executor)
    jobs = packing.jobs(args.jobs) if packing else (args.jobs or 1)
    if args.dry_run:
        threads = args.threads or (max(1, usable_cpus() // jobs) if not args.scheduler else None)
        print(dry_run(grid, grid_dir, slots=jobs, threads=threads, measure=not args.no_measure,
                      retry_failed=args.retry_failed, packing=_packing_efficiency(packing, jobs)))
        pilot = _pilot_power(grid_dir)
        if pilot:
            print(pilot)
        return 0
    if executor == "local":
        def backend():
            return local_backend(jobs, transfer=args.transfer or SHARED, threads=args.threads, packing=packing)
    else:
        def backend():
            return dask_backend(args.scheduler, jobs=jobs, transfer=args.transfer or RETURN, threads=args.threads)
    report = run_grid(grid, grid_dir, backend, data_dir=args.data_dir, retry_failed=args.retry_failed,
                      progress=not args.quiet)
    print(report.summary())
    if report.done_before + len(report.trained) == report.total:
        print(f"next: bench collect {grid_dir}")
    return 0 if report.complete else 1


def _grid_packing(per_device: int | None, executor: str):
    """``--jobs-per-device``, checked against the CUDA devices here (torch is asked only when it is given)."""
    from bench.grid.executors import cuda_devices, device_packing

    devices = cuda_devices() if per_device is not None and executor == "local" else ()
    return device_packing(per_device, executor, devices)


def _packing_efficiency(packing, jobs: int):
    """How much packed runs slow each other, for the dry run's wall time (None: not packed)."""
    from bench.grid.estimate import gpu_name, packing_efficiency, recorded_packing

    if packing is None:
        return None
    return packing_efficiency(packing.sharing(jobs), gpu_name(), recorded_packing())


def _pilot_power(grid_dir) -> str | None:
    """Where the grid directory already holds paired seeds of two or more settings, ``bench power``'s table
    for Kendall tau (a difference of 0.05), read without writing the collected tables; else None."""
    from bench.grid.store import GridDir, Status
    from bench.report.results import finished_runs
    from bench.report.tables import power_analysis

    if grid_dir is None or not GridDir(Path(grid_dir)).runs.is_dir():
        return None
    gd = GridDir(Path(grid_dir))
    if sum(gd.status(run.name) == Status.DONE for run in gd.runs.iterdir()) < 4:
        return None  # fewer than 2 settings x 2 seeds: no paired spread to learn from
    results = finished_runs(grid_dir)
    if names.KENDALL_TAU not in results.runs.columns or len(results.settings) < 2:
        return None
    table = power_analysis(results, names.KENDALL_TAU, 0.05)
    if not (table["pairs"] >= 2).any():
        return None
    return "power, with the finished runs as a pilot (bench power says more):\n" + \
        format_power(table, results.baseline, names.KENDALL_TAU, 0.05, 0.80)


def _add_collect(sub) -> None:
    p = sub.add_parser("collect", help="gather a grid's runs into tables (runs.parquet, scores.parquet)",
                       description="Writes GRID_DIR/runs.parquet (one row per run: config columns, metrics, cost, "
                                   "failure reason, code version), GRID_DIR/scores.parquet (one row per scored "
                                   "subnet) and GRID_DIR/history.parquet (one row per epoch); they read back with "
                                   "pandas.read_parquet.")
    p.add_argument("grid_dir", help="grid directory (bench grid --out)")
    p.add_argument("--metric", default=names.KENDALL_TAU, help="metric of the printed summary (default kendall_tau)")
    p.set_defaults(func=_cmd_collect)


def _cmd_collect(args) -> int:
    from bench.grid.collect import HISTORY_TABLE, RUNS_TABLE, SCORES_TABLE, collect, summary

    runs, scores = collect(args.grid_dir)
    ok = int((runs[names.STATUS] == "ok").sum()) if len(runs) else 0
    root = Path(args.grid_dir)
    print(f"collected {len(runs)} runs ({ok} ok, {len(runs) - ok} failed) and {len(scores)} subnet scores:")
    for name in (RUNS_TABLE, SCORES_TABLE, HISTORY_TABLE):
        print(f"  {root / name}")
    print(summary(runs, args.metric))
    return 0


def _add_power(sub) -> None:
    p = sub.add_parser(
        "power", help="how many seeds each comparison of a grid needs (the grid as a pilot)",
        description="Treat a grid's finished runs as a pilot: for each setting compared with the baseline (the "
                    "spec's first setting), the standard deviation of the paired per-seed differences gives the "
                    "smallest difference its seeds could detect (MDE, 80% power, two-sided 5% paired t-test) "
                    "and the paired seeds needed to detect --difference. Paired differences need the same seeds "
                    "in both settings; with 2 or 3 pilot seeds the figures are rough.")
    p.add_argument("results_dir", help="a grid directory (bench grid --out)")
    p.add_argument("--metric", default=names.KENDALL_TAU, help="metric compared (default kendall_tau)")
    p.add_argument("--difference", type=float, default=0.05,
                   help="the true difference to detect, in the metric's units (default 0.05)")
    p.add_argument("--power", type=float, default=0.80, help="probability of detecting it (default 0.80)")
    p.set_defaults(func=_cmd_power)


def _cmd_power(args) -> int:
    from bench.config import ConfigError
    from bench.report.results import load_results
    from bench.report.tables import power_analysis

    if not args.difference > 0:
        raise ConfigError(f"--difference must be > 0 (in the metric's units), got {args.difference}")
    if not 0 < args.power < 1:
        raise ConfigError(f"--power must be in (0, 1), got {args.power}")
    results = load_results(args.results_dir)
    print(format_power(power_analysis(results, args.metric, args.difference, args.power), results.baseline,
                       args.metric, args.difference, args.power))
    return 0


def format_power(table, baseline: str, metric: str, difference: float, power: float) -> str:
    """The table ``bench power`` and ``bench grid --dry-run`` print."""
    from bench.metrics.power import MAX_SEEDS

    lines = [f"paired comparisons with {baseline} in {metric}: seeds needed to detect {difference:g} at "
             f"{power:.0%} power (two-sided 5%, paired t-test; the pilot's sd of paired differences)",
             f"{'setting':40s} {'pairs':>5s} {'effect':>8s} {'sd diff':>8s} {'MDE now':>8s} {'seeds':>6s}"]
    for r in table.itertuples():
        needed = "n/a" if r.pairs < 2 else (f">{MAX_SEEDS}" if r.seeds_needed is None else f"{r.seeds_needed:d}")
        lines.append(f"{r.setting[:40]:40s} {r.pairs:5d} {r.effect:+8.3f} {r.sd_diff:8.3f} {r.mde:8.3f} {needed:>6s}")
    if not len(table):
        lines.append("(no setting besides the baseline has finished runs)")
    return "\n".join(lines)


def _add_reproduce(sub) -> None:
    p = sub.add_parser(
        "reproduce", help="a page setting every claim of the papers beside our measurement, with a verdict",
        description="Reads the runs.parquet of each STUDY_DIR (a published study under reports/, or a grid "
                    "directory after `bench collect`) and writes OUT/reproduction.md and OUT/reproduction.html "
                    "(the same content; the HTML is self-contained). One row per claim of the papers (the CaLR+MS "
                    "paper and its supplement, GM-NAS; listed in bench.report.reproduction.CLAIMS): the claim, its "
                    "source, the paper's number, ours with a 95% interval over seeds (differences paired by seed "
                    "within a study), the number of seeds, the smallest effect those seeds could detect at 80% "
                    "power (MDE), and a verdict: 'reproduced in direction' or 'contradicted' when the interval "
                    "excludes zero (or the metric's neutral value) on the paper's or the other side, "
                    "'inconclusive' otherwise, 'not measured' when no study has the settings. Our scale is a CPU "
                    "proxy: verdicts are about direction, not size.",
        epilog="example: bench reproduce reports/proxy16_seeds results/nb201_cifar10_core --out reports/")
    p.add_argument("studies", nargs="*", metavar="STUDY_DIR",
                   help="folders holding a runs.parquet (default: every folder under reports/ that has one)")
    p.add_argument("--out", default="reports/", help="directory of reproduction.md and reproduction.html "
                   "(default: reports/)")
    p.set_defaults(func=_cmd_reproduce)


def _cmd_reproduce(args) -> int:
    from bench.report.reproduction import command_line, render

    written = render(args.studies, args.out, command_line(args.studies, args.out))
    verdicts = ", ".join(f"{n} {v}" for v, n in sorted(_count_verdicts(written.findings).items()))
    print(f"reproduction page of {len(written.findings)} claims from {len(written.studies)} studies ({verdicts}):")
    for path in (written.markdown, written.html):
        print(f"  {path}")
    return 0


def _count_verdicts(findings) -> dict:
    from collections import Counter

    return dict(Counter(f.verdict for f in findings))


def _add_report(sub) -> None:
    p = sub.add_parser(
        "report", help="render a grid's results as an HTML and a PDF report (figures, tables, provenance)",
        description="Executes the analysis notebooks (analysis/NN_*.py) on RESULTS_DIR, a grid directory "
                    "(collected afresh first), and writes report.html (self-contained, code hidden), "
                    "report.pdf (A4) and the executed report.ipynb. A partly finished grid is reported as it "
                    "stands, with the missing runs named at the top.")
    p.add_argument("results_dir", help="grid directory (bench grid --out), e.g. results/quick")
    p.add_argument("--format", default="html,pdf", help="comma-separated: html, pdf (default: both)")
    p.add_argument("--out", default=None, help="directory of the report files (default: RESULTS_DIR/report)")
    p.add_argument("--show-code", action="store_true", help="keep the notebooks' code in the report")
    p.add_argument("--notebooks", default=None, help="directory of the analysis notebooks (default: analysis/)")
    p.add_argument("--timeout", type=int, default=600, help="seconds one notebook cell may take (default 600)")
    p.set_defaults(func=_cmd_report)


def _cmd_report(args) -> int:
    from bench.report.render import DEFAULT_NOTEBOOKS, parse_formats, render_report

    formats = parse_formats(args.format)
    _require_positive(("--timeout",), (args.timeout,))
    notebooks = Path(args.notebooks) if args.notebooks else DEFAULT_NOTEBOOKS
    report = render_report(args.results_dir, formats, args.out, notebooks, args.show_code, args.timeout)
    timing = ", ".join(f"{k} {v:.1f} s" for k, v in report.seconds.items())
    print(f"report of {report.results.name}: {len(report.results.runs)} runs ({timing})")
    for path in (report.html, report.pdf):
        if path is not None:
            print(f"  {path}")
    if len(report.results.missing):
        print(f"  note: {len(report.results.missing)} planned run(s) have no result yet; the report says which")
    return 0


def _add_baseline(sub) -> None:
    p = sub.add_parser(
        "baseline", help="regression baselines: a fresh run of the baseline grid against the stored metrics",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="A baseline (default tests/baselines/nb201_digits.json) stores, for each setting of a small "
                    "grid (tests/baselines/grid.yaml: embedded digits, cosine vs CaLR, 3 seeds) and each guarded "
                    "metric (Kendall tau, sparse Kendall tau, Spearman, CB, CB-matched, C3, final training loss "
                    "and accuracy), the per-seed values, and the mean, sd and tolerance over replicate runs "
                    "(more seeds, and a second torch thread count standing in for another machine). `check` "
                    "trains the grid afresh, one torch thread per run, fails where a mean over the grid's seeds "
                    "moved by more than its tolerance (which covers another machine or thread count), and says "
                    "whether the per-seed values match the stored ones exactly (the same machine, torch and "
                    "thread count do); `update` trains the grid and its replicates, prints the changes it "
                    "accepts and rewrites the baseline. bench/baseline.py explains the tolerance.",
        epilog="exit status: 0 every metric within tolerance (update: baseline written); 1 a metric moved, or a "
               "setting, seed or metric is missing; 2 bad input (a missing or malformed baseline, a bad option)")
    commands = p.add_subparsers(dest="baseline_command", required=True, metavar="{check,update}")
    check = commands.add_parser(
        "check", help="train the baseline grid and compare it with the stored baseline (exit 1 on a change)",
        description="Train the grid the baseline names (in a temporary directory, removed unless the check "
                    "fails), compare every (setting, metric) with the stored mean and tolerance, print the "
                    "table, exit 0 if all pass and 1 if any fails.")
    update = commands.add_parser(
        "update", help="train the baseline grid and rewrite the baseline (after an intended change)",
        description="Train the baseline grid and its replicates (more seeds at one thread, the grid's seeds "
                    "at two: 24 runs, 1-2 minutes on 2 idle cores, far longer on busy ones), print the "
                    "differences from the current baseline that this accepts (the table of `check`), and write "
                    "the new baseline. Run it only when a change of the numbers is intended, and say why in the "
                    "commit.")
    update.add_argument("--spec", help="grid spec to make the baseline of (default: the one the current "
                                       "baseline names, else tests/baselines/grid.yaml)")
    for c in (check, update):
        c.add_argument("--baseline", metavar="PATH", help="baseline file (default: tests/baselines/"
                                                          "nb201_digits.json of this checkout)")
        where = c.add_mutually_exclusive_group()
        where.add_argument("--work", metavar="DIR", help="train into this directory, which must be new or "
                           "empty (a grid directory skips finished runs), and keep it (default: a temporary "
                           "directory)")
        where.add_argument("--results", metavar="DIR", help="train nothing: use the finished runs of this grid "
                           "directory (e.g. the --work DIR of an earlier check)")
        c.add_argument("--jobs", type=int, default=None, help="runs at once, each on one torch thread (default: "
                       "the number of cores; fewer for update's 2-thread runs); the numbers do not depend on it")
        c.add_argument("--quiet", action="store_true", help="no progress display")
        c.set_defaults(func=_cmd_baseline)


def _cmd_baseline(args) -> int:
    from bench import baseline as bl
    from bench.config import ConfigError
    from bench.grid import load_grid
    from bench.grid.worker import usable_cpus

    if args.jobs is not None and args.jobs < 1:
        raise ConfigError(f"--jobs = {args.jobs}: at least 1")
    path = Path(args.baseline) if args.baseline else bl.DEFAULT_BASELINE
    updating = args.baseline_command == "update"
    stored = bl.load_baseline(path) if not updating or path.is_file() else None
    if updating and args.spec:
        spec = Path(args.spec)
    else:
        spec = bl.spec_path(stored, path) if stored else bl.DEFAULT_SPEC
    grid = load_grid(spec)
    if stored:
        print(f"baseline {path}: grid {spec}, seeds {stored['seeds']}, made {stored.get('created')} with torch "
              f"{stored.get('torch_version')}, {stored.get('torch_threads')} thread(s)")
    temporary = args.results is None and args.work is None
    work = Path(args.results or args.work) if not temporary else bl.fresh_work_dir()
    keep = not temporary
    try:
        if args.results is None:
            jobs = args.jobs or max(1, min(usable_cpus(), len(grid.runs)))
            print(bl.run_grid_fresh(grid, work, jobs, progress=not args.quiet, replicates=updating).summary())
        runs = bl.results_frame(work, grid)
        comparison = bl.compare(stored, runs) if stored else None
        if comparison is not None:
            print(comparison.table())
            print("\n".join(comparison.notes + [comparison.summary()]))
        if updating:
            return _baseline_write(bl, runs, grid, spec, path, comparison)
        if not comparison.ok:
            keep = True
            print(f"the runs are kept in {work}; `bench baseline check --results {work}` compares them again")
        return 0 if comparison.ok else 1
    finally:
        if not keep:
            bl.remove_work_dir(work)


def _baseline_write(bl, runs, grid, spec: Path, path: Path, comparison) -> int:
    finished = set(runs.loc[runs[names.STATUS] == "ok", names.KEY])
    missing = [r.label for r in grid.runs if r.key not in finished]
    if missing:  # a baseline of part of the grid would guard fewer seeds than its tolerance assumes
        print(f"bench: not writing {path}: run(s) failed or missing: {', '.join(missing)}", file=sys.stderr)
        return 1
    new = bl.compute_baseline(runs, grid, bl.spec_reference(spec, path))
    bl.save_baseline(new, path)
    if comparison is None:
        print(f"no baseline at {path} before")
    elif not comparison.ok:
        print("update accepts the FAIL rows above as the new baseline")
    print(bl.describe(new))
    print(f"wrote {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bench",
        description="Benchmark and analysis suite for weight-sharing NAS: train supernets with training "
                    "heuristics, score their subnets, and measure how well the scores rank the subnets "
                    "against tabular-benchmark ground truth.")
    parser.add_argument("--version", action="version", version=f"bench {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in (_add_run, _add_grid, _add_collect, _add_heuristics, _add_complexity, _add_data,
                _add_groundtruth, _add_perf):
        add(sub)
    _add_baseline(sub)
    _add_report(sub)
    _add_power(sub)
    _add_reproduce(sub)
    _remember_parsers(parser)
    return parser


def _remember_parsers(parser: argparse.ArgumentParser) -> None:
    """Each subcommand's parser as ``_parser`` in its namespace (the innermost wins), so that arguments no
    parser took are refused by the command they were given to, with its usage, not the top-level one."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                child.set_defaults(_parser=child)
                _remember_parsers(child)


def _check_leftovers(args, extras: list[str], argv: list[str]) -> None:
    """Arguments argparse could not place: a config key given as an option (``--epochs 5``) or a ``--set``
    pair written with a space (``--set train.epochs 5``) is named with its ``--set KEY=VALUE`` spelling;
    anything else is the command's own parser's error."""
    from bench.validation import ConfigError

    for pair in getattr(args, "overrides", None) or ():
        if "=" not in pair:
            value = _value_after(argv, pair, "--set")
            given = f"--set {pair}" + (f" {value}" if value else "")
            raise ConfigError(f"--set takes KEY=VALUE, got '{given}'; write --set {pair.strip()}={value or 'VALUE'}")
    if not extras:
        return
    if hasattr(args, "overrides"):  # the commands that take --set
        hints, rest = _set_spellings(extras, argv)
        if hints and not rest:
            options = [e for e in extras if e.startswith("-")]
            what = f"{options[0]} is not an option" if len(options) == 1 else f"{', '.join(options)} are not options"
            raise ConfigError(f"{what} of bench {args.command}; did you mean {' '.join(hints)}?")
    args._parser.error(f"unrecognized arguments: {' '.join(extras)}")


def _value_after(argv: list[str], token: str, option: str | None = None) -> str | None:
    """The word after ``token`` on the command line (``OPTION token`` or ``OPTION=token`` when an option is
    given): the value the user meant for it, or None where the next word is an option or a config file."""
    for i, word in enumerate(argv):
        if option is None:
            hit = word == token
        else:
            hit = word == f"{option}={token}" or (word == token and i > 0 and argv[i - 1] == option)
        if hit:
            following = argv[i + 1] if i + 1 < len(argv) else ""
            is_option = following.startswith("-") and not following[1:2].isdigit()  # -1 is a value
            return None if not following or is_option or following.endswith((".yaml", ".yml")) else following
    return None


def _set_spellings(extras: list[str], argv: list[str]) -> tuple[list[str], list[str]]:
    """``--epochs 5`` -> ``--set train.epochs=5`` for each unknown option named like a config field (or a
    knob of ``bench heuristics``); returns those spellings and the arguments left unexplained."""
    known = _config_options()
    hints, rest, values = [], [], []
    for word in extras:
        name, eq, value = word.lstrip("-").partition("=")
        keys = _lookup_option(known, name.replace("-", "_")) if word.startswith("-") else []
        if not keys:
            rest.append(word)
            continue
        if not eq:
            value = _value_after(argv, word) or "VALUE"
            values.append(value)
        hints.append(" or ".join(f"--set {key}={value}" for key in _accepting(keys, value)))
    for value in values:  # the value of a hinted option is explained by it (when argparse left it over)
        if value in rest:
            rest.remove(value)
    return hints, rest


def _accepting(keys: list[str], value: str) -> list[str]:
    """The keys that take ``value`` (``--sampling fairnas`` is a heuristic, not the sampling seed); all of them
    where none or every one does, or the value is unknown."""
    if value == "VALUE" or len(keys) < 2:
        return keys
    from bench.config import ConfigError, load_config  # lazy, as every command's imports: a fast --help

    taking = []
    for key in keys:
        try:
            load_config(None, [f"{key}={value}"])
        except ConfigError:
            continue
        taking.append(key)
    return taking or keys


def _lookup_option(known: dict[str, list[str]], name: str) -> list[str]:
    if name in known:
        return known[name]
    folded = [keys for field, keys in known.items() if field.lower() == name.lower()]
    return folded[0] if len(folded) == 1 else []


def _config_options() -> dict[str, list[str]]:
    """Each config field's own name (``epochs``, ``lr``, ``C``) and each knob's name (``width``) -> the dotted
    key(s) it is set by: what an unknown option of that name most likely meant."""
    from bench.config import reference
    from bench.heuristics import all_heuristics

    known: dict[str, list[str]] = {}
    pairs = [(key.rsplit(".", 1)[-1], key) for key, *_ in reference()]
    pairs += [(key, key) for _, key in pairs]  # --train.epochs 5 as well
    pairs += [(h.name, h.config_key) for h in all_heuristics() if h.kind == "knob" and h.config_key]
    for name, key in pairs:
        if key not in known.setdefault(name, []):
            known[name].append(key)
    return known


def _one_line(exc: Exception) -> str:
    """The message of a user error as one line, even where it quotes a several-line text."""
    return " ".join(line.strip() for line in str(exc).splitlines() if line.strip())


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args, extras = parser.parse_known_args(argv)
    if args.command is None:
        if extras:
            parser.error(f"unrecognized arguments: {' '.join(extras)}")
        parser.print_help()
        return 0
    try:
        _check_leftovers(args, extras, argv)
        return args.func(args)
    except BenchError as exc:  # every error the user can fix: one line, never a traceback
        print(f"bench: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("bench: interrupted; run the same command again to resume from the last checkpoint",
              file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of our output went away (`bench complexity nb201 | head`): stop quietly, as Unix tools do.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:
        if exc.filename is None:  # not about a path the user gave: a bug or the system, keep the traceback
            raise
        # A path that cannot be read or written (--out under a file, no permission, disk full): the user's to fix.
        print(f"bench: error: cannot use {exc.filename}: {exc.strerror or exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
