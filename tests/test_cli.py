"""The `bench` command line: complexity CSV, config errors, help."""

import io
from contextlib import redirect_stderr, redirect_stdout

import pytest

from bench.cli import main


def run_cli(*argv):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def test_complexity_csv_matches_official_counts():
    code, out, _ = run_cli("complexity", "nb201", "--C", "16", "--N", "5", "--classes", "10")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "arch_str,params,flops"
    assert len(lines) == 1 + 15625
    rows = dict(line.rsplit(",", 2)[0:2] for line in lines[1:])
    all_conv3 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    all_none = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
    assert int(rows[all_conv3]) == 1_531_546
    assert int(rows[all_none]) == 73_306
    assert max(map(int, rows.values())) == 1_531_546 and min(map(int, rows.values())) == 73_306


def test_bad_override_is_a_clear_error_not_a_traceback():
    code, _, err = run_cli("run", "--set", "train.lr=-1")
    assert code == 2
    assert "train.lr = -1.0 is out of range; allowed: a float > 0.0" in err


def test_missing_config_file():
    code, _, err = run_cli("run", "no_such_config.yaml")
    assert code == 2 and "config file not found: no_such_config.yaml" in err


def test_print_config_shows_resolved_values():
    code, out, _ = run_cli("run", "--set", "train.epochs=3", "--print-config")
    assert code == 0 and "epochs: 3" in out and "dataset: digits" in out


def test_help_lists_commands_and_config_keys():
    code, out, _ = run_cli()
    assert code == 0 and "run" in out and "complexity" in out
    with pytest.raises(SystemExit):
        run_cli("run", "--help")


def test_complexity_rejects_bad_sizes():
    code, _, err = run_cli("complexity", "nb201", "--C", "0")
    assert code == 2 and "--C must be >= 1, got 0" in err
