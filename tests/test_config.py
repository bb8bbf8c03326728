from pathlib import Path

import pytest

from bench.config import ConfigError, RunConfig, load_config, reference, to_yaml


def test_defaults_are_the_embedded_default():
    config = load_config(None)
    assert isinstance(config, RunConfig)
    assert config.data.dataset == "digits"


def test_overrides_parse_yaml_values():
    config = load_config(None, ["train.lr=0.05", "eval.pool_size=all", "data.train_size=null",
                                "train.nesterov=false", "train.weight_decay=5e-4"])
    assert config.train.lr == 0.05 and config.eval.pool_size == "all"
    assert config.train.nesterov is False and config.train.weight_decay == 5e-4


@pytest.mark.parametrize("override, message", [
    ("train.lrr=1", "unknown key 'train.lrr' in section 'train'; allowed: .*did you mean 'lr'"),
    ("trian.lr=1", "unknown key 'trian' at the top level"),
    ("train.lr=-1", r"train.lr = -1.0 is out of range; allowed: a float > 0.0"),
    ("train.momentum=1.5", r"train.momentum = 1.5 is out of range; allowed: a float in \[0.0, 0.999\]"),
    ("heuristics.bn=foo", "heuristics.bn = 'foo' is not a registered heuristic; allowed: batch_stats, tracked, "
                          "recalibrated"),
    ("heuristics.lr_schedule={name: calr, gamma_prime: 0.5}",
     r"heuristics.lr_schedule.gamma_prime = 0.5 is out of range; allowed: a float >= 1.0"),
    ("heuristics.samplng=fairnas", "unknown heuristic slot 'heuristics.samplng'.*did you mean 'sampling'"),
    ("data.train_size=1.5", "data.train_size = 1.5 has the wrong type; allowed: an int >= 1 or null"),
    ("eval.pool_size=some", "eval.pool_size = 'some' is not allowed"),
    ("train.epochs=true", "train.epochs = True has the wrong type"),
    ("train=3", "train: expected a section"),
])
def test_bad_values_name_the_key_and_what_is_allowed(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(None, [override])


def test_inconsistent_combinations_are_refused():
    with pytest.raises(ConfigError, match="nesterov = true needs train.momentum > 0"):
        load_config(None, ["train.momentum=0"])
    assert load_config(None, ["train.momentum=0", "train.nesterov=false"]).train.momentum == 0
    with pytest.raises(ConfigError, match="needs train.momentum > 0"):
        load_config(None, ["heuristics.momentum_buffers=ms", "train.momentum=0", "train.nesterov=false"])


def test_yaml_duplicate_and_unknown_keys(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("train:\n  lr: 0.1\n  lr: 0.2\n")
    with pytest.raises(ConfigError, match="duplicate key 'lr' at line 3"):
        load_config(path)
    path.write_text("train:\n  epochs: 3\nsupernet:\n  width: 8\n")
    with pytest.raises(ConfigError, match=f"{path}: unknown key 'supernet.width'"):
        load_config(path)
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "missing.yaml")


def test_resolved_yaml_round_trips(tmp_path):
    config = load_config(None, ["train.epochs=3", "supernet.C=4"])
    path = tmp_path / "resolved.yaml"
    path.write_text(to_yaml(config))
    assert load_config(path) == config


def test_reference_lists_every_key_with_help():
    keys = [row[0] for row in reference()]
    assert "train.lr" in keys and "eval.sparse_threshold" in keys
    assert all(row[3] for row in reference())


def test_every_ablation_config_validates():
    from bench.grid import load_grid
    from bench.grid.spec import is_grid_spec

    configs = sorted((Path(__file__).resolve().parents[1] / "ablations").glob("*.yaml"))
    assert configs, "ablations/ holds no configs"
    for path in configs:
        if is_grid_spec(path):  # a grid spec: every run it expands to is validated
            assert load_grid(path).runs
        else:
            load_config(path)


def test_readme_documents_every_key():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    missing = [key for key, *_ in reference() if f"`{key}`" not in readme]
    assert not missing, f"README's config reference lacks {missing}"
