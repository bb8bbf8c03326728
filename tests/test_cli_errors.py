"""Bad input at the command line: one line naming the problem and the fix, exit 2, never a traceback."""

import importlib
import inspect
import io
import pkgutil
from contextlib import redirect_stderr, redirect_stdout

import pytest

import bench
from bench import cli
from bench.cli import main
from bench.errors import BenchError


def run_cli(*argv):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def one_error_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("bench: error: ") and "Traceback" not in err, err
    return lines[0]


# ---------------------------------------------------------------------------
# bench collect on a folder that is not a grid
# ---------------------------------------------------------------------------


def test_collect_refuses_a_folder_that_is_not_a_grid_and_writes_nothing(tmp_path):
    (tmp_path / "notes.txt").write_text("not a grid")
    code, out, err = run_cli("collect", tmp_path)
    line = one_error_line(err)
    assert code == 2 and out == ""
    assert f"{tmp_path} is not a grid results folder" in line and "grid.json" in line and "runs/" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_collect_of_a_missing_folder_names_it(tmp_path):
    code, _, err = run_cli("collect", tmp_path / "nowhere")
    assert code == 2 and "nowhere is not a grid directory" in one_error_line(err)


# ---------------------------------------------------------------------------
# --set: KEY=VALUE, and its value's YAML
# ---------------------------------------------------------------------------


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("train:\n  epochs: 3\n")
    return path


@pytest.mark.parametrize("with_config", [False, True])
def test_set_with_a_space_instead_of_equals_shows_the_corrected_form(with_config, config_file):
    argv = ([config_file] if with_config else []) + ["--set", "train.epochs", "5", "--print-config"]
    code, out, err = run_cli("run", *argv)
    line = one_error_line(err)
    assert code == 2 and out == ""
    assert "--set takes KEY=VALUE, got '--set train.epochs 5'; write --set train.epochs=5" in line
    assert "config file not found" not in line


def test_set_without_a_value_shows_the_form():
    code, _, err = run_cli("run", "--set", "train.epochs")
    assert code == 2 and "write --set train.epochs=VALUE" in one_error_line(err)


def test_a_broken_flow_map_in_set_is_a_yaml_syntax_error_naming_the_value():
    code, _, err = run_cli("run", "--set", "heuristics.lr_schedule={name: calr, gamma: ", "--print-config")
    line = one_error_line(err)
    assert code == 2
    assert "--set heuristics.lr_schedule: the value '{name: calr, gamma: ' is not valid YAML at column 21" in line
    assert "not a registered heuristic" not in line and "<unicode string>" not in line


def test_a_set_value_that_is_not_yaml_says_how_to_quote_it():
    code, _, err = run_cli("run", "--set", "name=@home", "--print-config")
    line = one_error_line(err)
    assert code == 2 and "the value '@home' is not valid YAML" in line and """--set 'name="@home"'""" in line


# ---------------------------------------------------------------------------
# Config files: YAML errors name the file and the line
# ---------------------------------------------------------------------------


def test_a_yaml_syntax_error_names_the_file_line_and_column(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("train:\n  epochs: [3\n  lr: 1\n")
    code, _, err = run_cli("run", path, "--print-config")
    line = one_error_line(err)
    assert code == 2 and "<unicode string>" not in line
    assert f"{path}: not valid YAML at line 3, column 5: expected ',' or ']'" in line
    assert "flow sequence that starts at line 2, column 11" in line


def test_a_duplicate_key_names_the_file(tmp_path):
    path = tmp_path / "dup.yaml"
    path.write_text("train:\n  lr: 0.1\n  lr: 0.2\n")
    code, _, err = run_cli("run", path)
    assert code == 2 and f"{path}: duplicate key 'lr' at line 3 (first defined at line 2)" in one_error_line(err)


def test_a_binary_config_file_is_one_line(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    code, _, err = run_cli("run", path)
    assert code == 2 and f"{path}: not a text file" in one_error_line(err)


# ---------------------------------------------------------------------------
# Unknown options: a config key gets its --set spelling, anything else the subcommand's usage
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("argv, hint", [
    (["--epochs", "5"], "--epochs is not an option of bench run; did you mean --set train.epochs=5?"),
    (["--lr=0.1"], "did you mean --set train.lr=0.1?"),
    (["--C", "16"], "did you mean --set supernet.C=16?"),
    (["--seed", "3"], "did you mean --set seed=3?"),
    (["--batch-size", "32"], "did you mean --set train.batch_size=32 or --set eval.batch_size=32?"),
    (["--sampling", "fairnas"], "did you mean --set heuristics.sampling=fairnas?"),
    (["--width", "16"], "did you mean --set supernet.C=16?"),  # a knob of `bench heuristics`
    (["--epochs"], "did you mean --set train.epochs=VALUE?"),
])
def test_an_option_named_like_a_config_key_points_to_set(argv, hint, config_file):
    for args in (argv, [config_file] + argv):
        code, out, err = run_cli("run", *args)
        assert code == 2 and out == "" and hint in one_error_line(err)


def test_two_config_options_get_both_spellings(config_file):
    code, _, err = run_cli("run", config_file, "--epochs", "5", "--lr", "0.1")
    assert code == 2
    assert "--epochs, --lr are not options of bench run; did you mean --set train.epochs=5 --set train.lr=0.1?" \
        in one_error_line(err)


@pytest.mark.parametrize("argv, usage", [
    (["run", "--foo", "5"], "usage: bench run "),
    (["run", "--epochs", "5", "--foo"], "usage: bench run "),  # not all of them config keys: no guess
    (["collect", "results", "--epochs", "5"], "usage: bench collect "),  # collect takes no --set
    (["data", "import-nb201", "x.pth", "--bar"], "usage: bench data import-nb201 "),
])
def test_other_unknown_options_get_the_subcommands_own_usage(argv, usage, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    err = capsys.readouterr().err
    prog = usage[len("usage: "):].strip()
    assert exit_.value.code == 2 and err.startswith(usage) and f"{prog}: error: unrecognized arguments: " in err
    assert "did you mean" not in err


def test_an_unknown_option_before_the_command_is_the_top_level_error(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--foo"])
    assert exit_.value.code == 2 and "bench: error: unrecognized arguments: --foo" in capsys.readouterr().err


# ---------------------------------------------------------------------------
# bench heuristics: a header and no line wider than the terminal (at most 100 columns)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("columns, width", [("200", 100), ("80", 80)])
def test_heuristics_table_has_a_header_and_fits_the_width(columns, width, monkeypatch):
    monkeypatch.setenv("COLUMNS", columns)
    code, out, _ = run_cli("heuristics")
    lines = out.splitlines()
    assert code == 0 and lines[0].split()[:2] == ["SLOT", "NAME"]
    assert max(map(len, lines)) <= width
    assert any(line.startswith("sampling") and "fairnas" in line for line in lines)
    assert any("--set heuristics.sampling=fairnas" in line for line in lines)


def test_heuristics_table_holds_any_text():
    row = {"slot": "sampling", "name": "x", "set": "--set heuristics.sampling=x", "description": "word " * 80,
           "params": {"p": {"default": 1, "allowed": "an int >= 1"}}, "source": "y" * 250, "taxonomy": "t"}
    for width in (100, 60):
        lines = cli._heuristics_table([row], width)
        assert max(map(len, lines)) <= width and len(lines) > 5
        assert "".join(line.strip() for line in lines).count("y") == 250


# ---------------------------------------------------------------------------
# Every error class of the package is a BenchError, and main() prints it as one line
# ---------------------------------------------------------------------------

# Exceptions that never reach the user, each with the reason; every other one must be a BenchError.
INTERNAL = {
    # A damaged checkpoint file: caught inside bench.checkpoint, which loads the previous one instead.
    "bench.checkpoint._Damaged",
}


def _classes_of(owner, module_name: str):
    for obj in vars(owner).values():
        if inspect.isclass(obj) and obj.__module__ == module_name:
            yield obj
            yield from _classes_of(obj, module_name)


def package_exceptions() -> list[type]:
    found = set()
    for info in pkgutil.walk_packages(bench.__path__, "bench."):
        module = importlib.import_module(info.name)
        found.update(c for c in _classes_of(module, module.__name__) if issubclass(c, BaseException))
    return sorted(found, key=lambda c: f"{c.__module__}.{c.__qualname__}")


EXCEPTIONS = package_exceptions()
USER_FACING = [c for c in EXCEPTIONS if f"{c.__module__}.{c.__qualname__}" not in INTERNAL]


def test_the_walk_finds_the_known_errors():
    names = {c.__name__ for c in EXCEPTIONS}
    assert {"BenchError", "ConfigError", "DataError", "GroundTruthError", "TFRecordError", "ArchError",
            "CellError", "GenotypeError", "SplitError"} <= names


@pytest.mark.parametrize("cls", USER_FACING, ids=lambda c: f"{c.__module__}.{c.__qualname__}")
def test_every_error_class_is_a_bench_error(cls):
    assert issubclass(cls, BenchError)


def an_instance(cls: type) -> BaseException:
    """``cls`` built with a message (or with one text per required argument, e.g. problem and fix)."""
    try:
        params = inspect.signature(cls).parameters.values()
    except ValueError:  # Exception's own __init__: any message
        params = []
    required = [p for p in params if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    texts = [f"the {p.name} of a {cls.__name__}" for p in required] or [f"a {cls.__name__} from the handler"]
    return cls(*texts)


@pytest.mark.parametrize("cls", [c for c in USER_FACING if issubclass(c, BenchError)],
                         ids=lambda c: f"{c.__module__}.{c.__qualname__}")
def test_every_error_raised_by_a_handler_is_one_line_and_exit_2(cls, monkeypatch):
    error = an_instance(cls)

    def handler(args):
        raise error

    monkeypatch.setattr(cli, "_cmd_heuristics", handler)
    code, _, err = run_cli("heuristics")
    assert code == 2 and one_error_line(err) == f"bench: error: {error}"


def test_a_several_line_message_is_printed_as_one_line(monkeypatch):
    def handler(args):
        raise BenchError("first line\n  second line")

    monkeypatch.setattr(cli, "_cmd_heuristics", handler)
    code, _, err = run_cli("heuristics")
    assert code == 2 and one_error_line(err) == "bench: error: first line second line"


# ---------------------------------------------------------------------------
# Other bad input that used to end in a traceback
# ---------------------------------------------------------------------------


def test_a_path_that_cannot_be_used_is_one_line(monkeypatch):
    def handler(args):
        raise NotADirectoryError(20, "Not a directory", "/dev/null/run.partial")

    monkeypatch.setattr(cli, "_cmd_heuristics", handler)
    code, _, err = run_cli("heuristics")
    assert code == 2 and one_error_line(err) == "bench: error: cannot use /dev/null/run.partial: Not a directory"


def test_an_os_error_without_a_path_keeps_its_traceback(monkeypatch):
    def handler(args):
        raise OSError("something of the system")

    monkeypatch.setattr(cli, "_cmd_heuristics", handler)
    with pytest.raises(OSError, match="something of the system"):
        run_cli("heuristics")


@pytest.mark.parametrize("argv, message", [
    (["groundtruth", "build", "--seeds", "0,a", "--out", "x.csv"],
     "--seeds '0,a': expected integers >= 0 joined by commas, e.g. --seeds 0,1"),
    (["groundtruth", "build", "--jobs", "0", "--out", "x.csv"], "--jobs must be >= 1, got 0"),
    (["perf", "--repeats", "0"], "--repeats must be >= 1, got 0"),
    (["perf", "--steps", "0"], "--steps must be >= 1, got 0"),
    (["report", ".", "--timeout", "0"], "--timeout must be >= 1, got 0"),
])
def test_bad_counts_and_lists_name_the_flag(argv, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(*argv)
    assert code == 2 and message in one_error_line(err)
    assert not (tmp_path / "x.csv").exists()


def test_an_unknown_gradient_tensor_is_a_config_error():
    from torch import nn

    from bench.config import ConfigError
    from bench.metrics.gradients import GradientStats

    with pytest.raises(ConfigError, match=r"diagnostics.grad_tensor = 'nope' is not a parameter of the supernet; "
                                          r"allowed: a parameter name, e.g. weight, bias"):
        GradientStats(nn.Linear(2, 2), tensor="nope")


def test_an_unknown_gradient_tensor_is_refused_before_the_run_directory_exists(tmp_path):
    out = tmp_path / "run"
    argv = ["run", "--set", "diagnostics.grad_tensor=nope", "--set", "train.epochs=1", "--set", "supernet.C=4",
            "--set", "eval.pool_size=5", "--out", out]
    code, _, err = run_cli(*argv)
    assert code == 2 and "diagnostics.grad_tensor = 'nope' is not a parameter" in one_error_line(err)
    assert not out.exists() and not (tmp_path / "run.partial").exists()  # so the fixed command needs no --restart
