"""The guarded YAML reader takes what real sweep files use (a few anchors, merge keys, YAML 1.2 floats) and
refuses only what is hostile; the refusals themselves run through the CLI in tests/sweeps/cli."""

from __future__ import annotations

import pytest
import yaml

from sweeps.config.yaml_files import MAX_EXPANDED_VALUES, YamlFault, parse_yaml


def test_anchors_merge_keys_and_exponent_floats_read_as_in_plain_yaml():
    text = ("base: &base {lr: 1e-4, r: 8}\n"
            "wide: {<<: *base, r: 16}\n"  # a merged key given again is an override, not a duplicate
            "ranks: &ranks [4, 8]\n"
            "again: *ranks\n")
    assert parse_yaml(text) == {"base": {"lr": 1e-4, "r": 8}, "wide": {"lr": 1e-4, "r": 16}, "ranks": [4, 8],
                                "again": [4, 8]}


def test_expansion_is_counted_up_to_the_limit_and_refused_past_it():
    def nested(levels: int, width: int) -> str:
        text = f"l0: &l0 [{', '.join(['1'] * width)}]\n"
        return text + "".join(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]\n" for i in range(1, levels))

    assert MAX_EXPANDED_VALUES > 10 ** 4
    assert len(parse_yaml(nested(4, 10))["l3"]) == 10  # about 10^4 values once expanded
    with pytest.raises(YamlFault, match="expand to more than"):
        parse_yaml(nested(6, 10))  # about 10^6


def test_a_safe_loader_error_is_still_a_yaml_error():
    with pytest.raises(yaml.YAMLError):
        parse_yaml("a: [1,\n")
