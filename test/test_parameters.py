"""Node parameters, declared once: YAML files, the tables of docs/parameters.md and the
README's key-parameter table, validation, descriptors and the run-time tuning callback
(in-process node; the over-DDS tuning tests are in test_retarget_node.py and
test_node_integration.py, the namespaced YAML in test_sources.py)."""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path

import pytest
import yaml

from rejshand_ros.resources import config_path
from rejshand_ros.ros.image_source_params import ImageSourceConfig
from rejshand_ros.ros.node_params import HandPoseNodeConfig
from rejshand_ros.ros.param_specs import (ParamSpec, check_value, descriptor, markdown_table,
                                          readme_markers, replace_table)
from rejshand_ros.ros.retarget_params import RetargetNodeConfig

REPO_ROOT = Path(__file__).resolve().parents[1]
NODES = [("hand_pose_node", HandPoseNodeConfig, "hand_pose.yaml"),
         ("retarget_node", RetargetNodeConfig, "retarget.yaml"),
         ("image_source_node", ImageSourceConfig, "image_source.yaml")]


@pytest.mark.parametrize("node, config, yaml_name", NODES)
def test_yaml_holds_every_parameter_under_wildcard_with_its_default(node, config, yaml_name):
    document = yaml.safe_load(config_path(yaml_name).read_text())
    assert list(document) == ["/**"], "a namespaced or renamed node must read the file"
    values = document["/**"]["ros__parameters"]
    specs = config.specs()
    assert list(values) == [spec.name for spec in specs]
    for spec in specs:
        assert values[spec.name] == spec.default, spec.name
        assert type(values[spec.name]) is type(spec.default), spec.name  # typed params
    assert config.from_values(values) == config()


def _param_docs():
    spec = importlib.util.spec_from_file_location("param_docs",
                                                  REPO_ROOT / "scripts" / "param_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("node, config, yaml_name", NODES)
def test_docs_table_is_the_declaration(node, config, yaml_name):
    docs = (REPO_ROOT / "docs" / "parameters.md").read_text(encoding="utf-8")
    begin, end = readme_markers(node)
    block = docs[docs.index(begin) + len(begin):docs.index(end)].strip()
    assert block == markdown_table(config.specs()), \
        "docs/parameters.md table is stale: run .venv/bin/python scripts/param_docs.py"


def test_readme_key_parameter_table_is_the_declaration():
    param_docs = _param_docs()
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert param_docs.render_readme(readme) == readme, \
        "README key-parameter table is stale: run .venv/bin/python scripts/param_docs.py"
    assert "(docs/parameters.md)" in readme, "the README links the full tables"
    assert param_docs.main(["--check"]) == 0


@pytest.mark.parametrize("node, config, yaml_name", NODES)
def test_every_field_is_a_parameter_of_its_declared_type(node, config, yaml_name):
    specs = {spec.name: spec for spec in config.specs()}
    types = {"str": str, "int": int, "float": float, "bool": bool}
    for f in dataclasses.fields(config):
        assert f.name in specs, f"{f.name} is not declared with param()"
        assert types[f.type] is type(specs[f.name].default), f.name
        assert specs[f.name].description, f.name


def test_markdown_table_rows_and_readme_replacement():
    specs = (ParamSpec("rate", 10.0, "Hz | per second", 0.1, 240.0, tunable=True),
             ParamSpec("mode", "a", "<mode> name", choices=("a", "")))
    table = markdown_table(specs)
    assert table.splitlines()[2] == "| `rate` | 10.0 | [0.1, 240.0] | tunable | Hz \\| per second |"
    assert table.splitlines()[3] == '| `mode` | `a` | `a` \\| `""` | read-only | &lt;mode&gt; name |'
    begin, end = readme_markers("x_node")
    text = f"intro\n{begin}\nold\n{end}\nrest"
    assert replace_table(text, "x_node", "new") == f"intro\n{begin}\nnew\n{end}\nrest"
    with pytest.raises(ValueError, match="lacks"):
        replace_table("no markers", "x_node", "new")


@pytest.mark.parametrize("value, match", [
    (2.0, "must be an integer"), (True, "must be an integer"), ("2", "must be an integer"),
    (0, r"in \[1, 16\]"), (17, r"in \[1, 16\]")])
def test_check_value_refuses_wrong_types_and_ranges(value, match):
    spec = {s.name: s for s in HandPoseNodeConfig.specs()}["max_hands"]
    with pytest.raises(ValueError, match=match):
        check_value(spec, value)
    check_value(spec, 3)


def test_configs_validate_types_too():
    with pytest.raises(ValueError, match="smoothing must be a boolean"):
        HandPoseNodeConfig(smoothing="yes")
    with pytest.raises(ValueError, match="tf_prefix must be a string"):
        HandPoseNodeConfig(tf_prefix=3)
    assert HandPoseNodeConfig(smoothing_beta=1).smoothing_beta == 1  # ints are numbers
    with pytest.raises(ValueError, match="max_hands"):
        HandPoseNodeConfig().replaced({"max_hands": 0})
    with pytest.raises(ValueError, match="max_hand"):
        HandPoseNodeConfig().replaced({"max_hand": 1})


def test_tunable_parameters_are_the_intended_ones():
    tunable = {node: {s.name for s in config.specs() if s.tunable} for node, config, _ in NODES}
    assert tunable["hand_pose_node"] == {
        "max_hands", "detector_score_threshold", "detect_interval", "presence_threshold",
        "track_box_scale", "smoothing", "smoothing_min_cutoff", "smoothing_beta",
        "smoothing_d_cutoff", "publish_tf", "marker_display_depth"}
    assert tunable["retarget_node"] == {
        "low_pass_alpha", "max_rate", "max_joint_velocity", "hand_timeout", "max_input_age",
        "measured_state_timeout", "heartbeat_timeout"}
    assert tunable["image_source_node"] == set()
    for node, config, _ in NODES:
        for spec in config.specs():
            assert descriptor(spec).read_only is not spec.tunable, spec.name


@pytest.mark.ros
def test_tuning_callback_applies_valid_changes_and_refuses_others_with_a_reason(
        tmp_path, monkeypatch):
    import rclpy
    from rclpy.context import Context
    from rclpy.parameter import Parameter

    from rejshand_ros.ros.param_specs import add_tuning_callback

    monkeypatch.setenv("ROS_LOG_DIR", str(tmp_path))
    context = Context()
    rclpy.init(context=context, domain_id=232)
    try:
        node = rclpy.create_node("tuning_test", context=context)
        state = {"cfg": HandPoseNodeConfig.declare(node), "applied": []}

        def apply(cfg):
            if cfg.detect_interval == 13:
                raise ValueError("13 is refused by apply")
            state["applied"].append(cfg)
            state["cfg"] = cfg

        add_tuning_callback(node, lambda: state["cfg"], apply)

        def set_one(name, value):
            return node.set_parameters([Parameter(name, value=value)])[0]

        result = set_one("smoothing_min_cutoff", 0.25)
        assert result.successful, result.reason
        assert state["cfg"].smoothing_min_cutoff == 0.25
        assert node.get_parameter("smoothing_min_cutoff").value == 0.25
        result = node.set_parameters_atomically([Parameter("max_hands", value=1),
                                                 Parameter("smoothing", value=False)])
        assert result.successful and len(state["applied"]) == 2  # one apply for both
        assert (state["cfg"].max_hands, state["cfg"].smoothing) == (1, False)
        refused = {
            "model_path": set_one("model_path", "/elsewhere.safetensors"),  # read-only
            "range": set_one("max_hands", 0),  # outside the declared range
            "type": set_one("max_hands", 2.5),  # wrong type
            "apply": set_one("detect_interval", 13),  # refused by the node's apply
        }
        for case, result in refused.items():
            assert not result.successful and result.reason, case
        assert "13 is refused by apply" in refused["apply"].reason
        assert state["cfg"].max_hands == 1 and state["cfg"].detect_interval == 4
        assert node.get_parameter("max_hands").value == 1
        assert node.get_parameter("model_path").value == ""
        assert set_one("use_sim_time", True).successful  # rclpy's own: untouched
        node.destroy_node()
    finally:
        context.try_shutdown()
