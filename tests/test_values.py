import pytest

from clipig_nodes.expressions import Expression
from clipig_nodes.registry import Float, Int, Param, Vector
from clipig_nodes.values import (ValueProblem, is_active_at, is_dynamic, parse_value, split_list,
                                 time_to_ratio, to_plain)


def p(registry, type_name, param):
    return registry[type_name].param(param)


@pytest.mark.parametrize("raw", ["640 480", "640, 480", [640, 480], "640,480", ["640", "480"]])
def test_vector_syntaxes_are_equivalent(registry, raw):
    assert parse_value(p(registry, "pixels", "resolution"), raw) == [640, 480]


def test_single_value_broadcasts(registry):
    assert parse_value(p(registry, "pixels", "resolution"), 224) == [224, 224]
    assert parse_value(p(registry, "noise", "std"), "0.1") == [0.1, 0.1, 0.1]
    assert parse_value(p(registry, "random_shift", "range"), 3) == [3.0, 3.0]


def test_allowed_lengths(registry):
    param = p(registry, "random_shift", "range")
    assert parse_value(param, "-1 1 -2 2") == [-1.0, 1.0, -2.0, 2.0]
    with pytest.raises(ValueProblem, match="expected 1 or 2 or 4 values, got 3"):
        parse_value(param, "1 2 3")


def test_expression_with_spaces_explains_the_split(registry):
    with pytest.raises(ValueProblem) as info:
        parse_value(p(registry, "pixels", "resolution"), "224 * 2")
    message = str(info.value)
    assert "split on whitespace" in message and "'224'" in message and "'*'" in message
    assert "224*2" in message
    # as a YAML list item it is one expression, folded to a constant
    assert parse_value(p(registry, "pixels", "resolution"), ["224 * 2"]) == [448, 448]


def test_int_truncates_and_constants_fold(registry):
    assert parse_value(p(registry, "train", "epochs"), 100.7) == 100
    assert parse_value(p(registry, "train", "epochs"), "10*3") == 30
    assert parse_value(p(registry, "train", "epochs"), " 480") == 480
    assert parse_value(p(registry, "quantize", "step"), "1/32") == [0.03125] * 3
    assert parse_value(p(registry, "train", "learnrate"), "1e3") == 1000.0


def test_variable_expressions_stay_expressions(registry):
    value = parse_value(p(registry, "train", "learnrate_scale"), "1. - .95 * t5")
    assert isinstance(value, Expression) and is_dynamic(value)
    assert value({"t": 1.0}) == pytest.approx(0.05)
    vec = parse_value(p(registry, "noise", "std"), "0.05*ti")
    assert all(isinstance(v, Expression) for v in vec) and is_dynamic(vec)
    assert to_plain(vec) == ["0.05*ti"] * 3


def test_random_constant_expressions_are_not_folded(registry):
    value = parse_value(p(registry, "train", "learnrate"), "uniform(1, 2)")
    assert isinstance(value, Expression) and value.uses_random and value.is_constant


def test_variables_outside_the_groups_are_refused(registry):
    with pytest.raises(ValueProblem, match="`sim` is not available"):
        parse_value(p(registry, "train", "learnrate"), "0.01 * sim")
    with pytest.raises(ValueProblem, match="constant"):
        parse_value(p(registry, "train", "epochs"), "100 * t")


def test_ranges(registry):
    with pytest.raises(ValueProblem, match=r"-5 is out of range: must be >= 0"):
        parse_value(p(registry, "train", "epochs"), -5)
    with pytest.raises(ValueProblem, match="must be <= 16384"):
        parse_value(p(registry, "pixels", "resolution"), "100000 100")
    with pytest.raises(ValueProblem, match="must be > 0"):
        parse_value(p(registry, "quantize", "step"), 0)
    with pytest.raises(ValueProblem, match="out of range"):
        parse_value(p(registry, "target", "batch_size"), 0)


@pytest.mark.parametrize("raw, expected", [
    (10, 10), (0.5, 0.5), ("30%", 0.3), ("12.5%", 0.125), ("10", 10), ("0.25", 0.25),
    ("300//2", 150), ("1e2", 100.0), (1.0, 1.0)])
def test_times(registry, raw, expected):
    value = parse_value(p(registry, "target", "start"), raw)
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize("raw", [True, "t", "abc%", -1, "random()", [1, 2]])
def test_bad_times(registry, raw):
    with pytest.raises(ValueProblem):
        parse_value(p(registry, "target", "end"), raw)


def test_enums_accept_aliases_and_case(registry):
    loss = p(registry, "text_feature", "loss")
    assert parse_value(loss, "MSE") == "l2"
    assert parse_value(loss, "mae") == "l1"
    with pytest.raises(ValueProblem, match="did you mean 'best'"):
        parse_value(p(registry, "target", "select"), "bets")


def test_bools_numbers_and_text(registry):
    active = p(registry, "target", "active")
    assert parse_value(active, "no") is False and parse_value(active, True) is True
    with pytest.raises(ValueProblem):
        parse_value(active, 2)
    with pytest.raises(ValueProblem, match="boolean"):
        parse_value(p(registry, "train", "learnrate"), True)
    assert parse_value(p(registry, "text_feature", "text"), 1984) == "1984"
    with pytest.raises(ValueProblem, match="must not be empty"):
        parse_value(p(registry, "text_feature", "text"), "  ")


def test_number_kind_keeps_int_and_float(registry):
    interval = p(registry, "train", "snapshot_interval")
    assert type(parse_value(interval, 10)) is int
    assert type(parse_value(interval, 10.0)) is float
    assert parse_value(interval, "5*2.") == 10.0


def test_split_list():
    assert split_list("1, 2 , 3") == ["1", "2", "3"]
    assert split_list("a  b") == ["a", "b"]
    assert split_list(5) == [5]
    assert split_list([1, "x"]) == [1, "x"]


def test_schedule_window_is_inclusive_and_mixes_units():
    assert is_active_at(0.0, 1.0, 0, 0.0) and is_active_at(0.0, 1.0, 9, 1.0)
    assert not is_active_at(10, 1.0, 9, 0.9) and is_active_at(10, 1.0, 10, 0.95)
    assert is_active_at(0.25, 60, 60, 0.5) and not is_active_at(0.25, 60, 61, 0.51)
    assert time_to_ratio(50, 101) == 0.5 and time_to_ratio(0.3, 10) == 0.3


def test_declared_constructors():
    assert Float("x").kind == "float" and Int("x").kind == "int"
    v = Vector("v", (2, 4), item="int")
    assert v.length == (2, 4) and v.describe_kind() == "2 or 4 x int"
    assert Param("s", "str").nullable
