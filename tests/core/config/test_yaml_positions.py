"""Where each key of a YAML file was written, and the file errors that say so.

``support.yaml_source`` maps every config path to its line and column so that a
validation error can say ``deploy.yaml:12:7``; the same walk refuses duplicate keys
(PyYAML would silently keep the last one). The YAML features an operator can use
(anchors, merge keys, integer keys) must neither crash the walk nor lose positions.
"""

from __future__ import annotations

import pytest

from crypto_bot_core.support.yaml_errors import ConfigFileError
from crypto_bot_core.support.yaml_source import Position, parse_yaml


def _error(text: str) -> ConfigFileError:
    with pytest.raises(ConfigFileError) as caught:
        parse_yaml(text, source="cfg.yaml")
    return caught.value


def test_every_key_and_item_has_its_line_and_column() -> None:
    doc = parse_yaml(
        "run_id: demo\nexchanges:\n  - name: paper\n    config:\n      fee: 0.001\n",
        source="cfg.yaml",
    )
    assert doc.data == {
        "run_id": "demo",
        "exchanges": [{"name": "paper", "config": {"fee": 0.001}}],
    }
    assert doc.positions[("run_id",)] == Position(line=1, column=1)
    assert doc.positions[("exchanges", 0)] == Position(line=3, column=5)
    assert doc.positions[("exchanges", 0, "config", "fee")] == Position(line=5, column=7)


def test_an_unwritten_key_points_at_its_nearest_written_parent() -> None:
    doc = parse_yaml("exchanges:\n  - name: paper\n", source="cfg.yaml")
    # `config.fee` was never written: an error about it points at the exchange's entry.
    assert doc.position_of(("exchanges", 0, "config", "fee")) == Position(line=2, column=5)
    assert doc.position_of(()) == Position(line=1, column=1)


def test_an_empty_file_is_an_empty_mapping_with_no_positions() -> None:
    for text in ("", "# only a comment\n"):
        doc = parse_yaml(text, source="cfg.yaml")
        assert doc.data == {}
        assert doc.positions == {}
        assert doc.position_of(("anything",)) is None
    assert parse_yaml("null\n", source="cfg.yaml").data == {}


def test_a_duplicate_key_is_refused_with_both_lines() -> None:
    error = _error("risk:\n  max_order: 10\n  max_order: 20\nrun_id: a\nrun_id: b\n")
    assert [problem.key for problem in error.problems] == ["risk.max_order", "run_id"]
    assert str(error) == (
        "cfg.yaml has 2 problems:\n"
        "  cfg.yaml:3:3: risk.max_order: duplicate key (first written on line 2); keep one\n"
        "  cfg.yaml:5:1: run_id: duplicate key (first written on line 4); keep one"
    )


def test_integer_keys_keep_their_position_even_when_written_in_another_base() -> None:
    doc = parse_yaml("levels:\n  1: low\n  0x1F: high\n  0o7: odd\n", source="cfg.yaml")
    assert doc.data == {"levels": {1: "low", 31: "high", "0o7": "odd"}}
    assert doc.positions[("levels", 1)] == Position(line=2, column=3)
    # A hex integer key is recorded as written: the walk does not guess YAML 1.1's bases.
    assert doc.positions[("levels", "0x1F")] == Position(line=3, column=3)


def test_merge_keys_are_followed_and_not_reported_as_settings() -> None:
    doc = parse_yaml(
        "base: &fees {taker: 0.001}\nvenue:\n  <<: *fees\n  name: paper\n", source="cfg.yaml"
    )
    assert doc.data["venue"] == {"taker": 0.001, "name": "paper"}
    assert ("venue", "<<") not in doc.positions
    assert doc.positions[("venue", "name")] == Position(line=4, column=3)


def test_a_recursive_anchor_does_not_send_the_walk_round_for_ever() -> None:
    doc = parse_yaml("loop: &self [1, *self]\n", source="cfg.yaml")
    loop = doc.data["loop"]
    assert loop[0] == 1
    assert loop[1] is loop
    # An alias is the anchored node itself: its position is where the anchor was written.
    assert doc.positions[("loop", 1)] == Position(line=1, column=7)


def test_a_key_that_is_a_list_is_not_valid_yaml_for_a_config() -> None:
    error = _error("? [a, b]\n: 1\n")
    assert str(error) == "cfg.yaml:1:3: <yaml>: not valid YAML: found unhashable key"


def test_broken_syntax_is_named_with_its_line() -> None:
    error = _error("exchanges: [paper\n")
    assert error.key == "<yaml>"
    assert str(error) == (
        "cfg.yaml:2:1: <yaml>: not valid YAML: did not find expected ',' or ']'"
    )


def test_a_control_character_is_refused_without_a_line() -> None:
    error = _error("run_id: \x07\n")
    assert error.problems[0].line is None
    assert str(error).startswith(
        "cfg.yaml: <yaml>: not valid YAML: unacceptable character #x0007"
    )


@pytest.mark.parametrize(("text", "kind"), [("- a\n- b\n", "list"), ("42\n", "int")])
def test_a_file_that_is_not_a_mapping_is_refused(text: str, kind: str) -> None:
    assert str(_error(text)) == (
        f"cfg.yaml:1: <root>: the file must hold a mapping of settings, not a {kind}"
    )
