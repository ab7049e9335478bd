"""Range analysis: what validates also runs.

An expression's range over the whole run (t in [0, 1], epoch in [0, epochs - 1], the pixel
source's resolution, random draws over everything they can draw) is checked against its
param's range and for points where it fails, by `validate` and `run` alike.
"""

from __future__ import annotations

import math
import random
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clipig_nodes.expressions import (LEARNRATE, RESOLUTION, TARGET_FEATURE, TIME, ExpressionError,
                                      compile_expression)
from clipig_nodes.expressions.intervals import Interval
from clipig_nodes.expressions.ranges import RangeError, check_range, value_range
from clipig_nodes.graph.fileformat import save_graph
from clipig_nodes.graph.validate import validate

from .graph_builders import strawberries

ROOT = Path(__file__).resolve().parent.parent
GROUPS = (TIME, RESOLUTION, LEARNRATE, TARGET_FEATURE)
BOUNDS = {"t": Interval(0.0, 1.0), "epoch": Interval(0, 99, integral=True),
          "width": Interval(64, 512, integral=True), "height": Interval(64, 64, integral=True),
          "lr": Interval(0.001, 0.1), "lrs": Interval(0.05, 1.0), "sim": Interval(-100.0, 100.0)}


def rng(source):
    return value_range(compile_expression(source, GROUPS), BOUNDS)


def fails(source):
    with pytest.raises(RangeError) as info:
        rng(source)
    return str(info.value)


# ----------------------------------------------------------------------------- ranges

@pytest.mark.parametrize("source, lo, hi", [
    ("1 - .95*t5", 0.05, 1.0), ("0.05*ti", 0.0, 0.05), ("2*pi*t", 0.0, 2 * math.pi),
    ("0.5 + 0.5 * ts(0.5, 0.6)", 0.5, 1.0), ("224 if t < 0.5 else 448", 224, 448),
    ("1.5 - sim / 100", 0.5, 2.5), ("res[0] / 2", 32, 256), ("min(res)", 64, 64),
    ("max(res)", 64, 512), ("epoch % 7", 0, 6), ("48 * 2**epoch", 48, 48 * 2 ** 99),
    ("randint(3, 9)", 3, 9), ("random()", 0, 1), ("uniform(-1, 1) + t", -1, 2),
    ("randrange(10)", 0, 9), ("sin(t)", 0.0, math.sin(1.0)), ("cos(t * 4)", -1.0, 1.0),
    ("sqrt(width)", 8.0, math.sqrt(512)), ("log(lr)", math.log(0.001), math.log(0.1)),
    ("abs(sim)", 0, 100), ("floor(t * 3.5)", 0, 3), ("1/t if t > 0 else 0", 0, math.inf),
    ("factorial(epoch % 5)", 1, 24), ("comb(10, 3)", 120, 120),
])
def test_ranges(source, lo, hi):
    found = rng(source)
    assert found.lo <= lo + 1e-12 and found.hi >= hi - 1e-12, found
    # and not wider than needed for these simple forms
    assert found.lo >= lo - 1e-9 * max(1, abs(lo))
    assert found.hi <= hi + 1e-9 * max(1, abs(hi))


def test_random_functions_draw_within_the_limits_of_their_generators():
    # 1 - random() >= 2**-53: normal draws stay within 12.5 sigma, -log(u) within 36.74
    assert rng("gauss()") == Interval(-12.5, 12.5)
    assert rng("gauss(100, 2)") == Interval(75.0, 125.0)
    assert rng("gauss(5, 0)").is_point
    assert rng("expovariate(2)") == Interval(0.0, 53 * math.log(2) / 2)
    assert rng("gammavariate(2, 1)").hi == math.inf
    assert "cannot compute paretovariate(0.001)" in fails("paretovariate(0.001 + 0 * t)")
    assert "cannot compute lognormvariate" in fails("lognormvariate(0, 100)")
    rand = random.Random(0)
    for _ in range(20000):      # the limits hold for draws of the host's generator
        assert abs(rand.gauss()) < 12.5 and abs(rand.normalvariate()) < 12.5


@pytest.mark.parametrize("source, message", [
    ("1/t", "`1/t` divides by zero at t = 0"),
    ("1 / (t - 0.3)", "divides by zero near t = 0.3"),
    ("1/(epoch - 3)", "divides by zero at epoch = 3"),
    ("epoch // (epoch - 50)", "divides (//) by zero at epoch = 50"),
    ("width % (t > 0.5)", "takes a remainder (%) by zero"),
    # found by the property test below: a float % a huge int fails on the host
    ("t % factorial(width)", "can compute with about 10**1166, too large for a float"),
    ("factorial(width) % 0.5", "too large for a float"),
    ("log(t)", "cannot compute log(0) (math domain error) at t = 0"),
    ("sqrt(t - 0.5)", "cannot compute sqrt(-0.5) (math domain error) at t = 0"),
    ("acos(t * 2)", "cannot compute acos(2) (math domain error) at t = 1"),
    ("t ** -1", "raises 0 to a negative power"),
    ("(t - 0.5) ** 0.5", "negative number (-0.5) to a fractional power"),
    ("exp(epoch * 10)", "cannot compute exp(990) (result too large) at epoch = 99"),
    ("randint(epoch, 5)", "randint(a, b) with a > b"),
    ("randint(0, t)", "fractional number to `randint`"),
    ("uniform(0, 1/lr)", None),
    ("gammavariate(t, 1)", "alpha = 0"),
    ("factorial(t * 10)", "fractional number to `factorial`"),
    ("gamma(t * 3 - 1)", "cannot compute gamma(-1) (math domain error) at t = 0"),
    ("1/sim", "divides by zero at sim = 0"),
    ("exp(gauss() * 100)", "cannot compute exp(1250) (result too large)"),
])
def test_failures_are_found(source, message):
    if message is None:         # 1/lr is fine: lr > 0 here
        rng(source)
        return
    assert message in fails(source)


def test_guarded_branches_narrow():
    rng("1/t if t > 0 else 0")
    rng("0 if t == 0 else 1")
    rng("1/(epoch - 3) if epoch > 3 else 1")
    rng("log(t) if 0.1 <= t else 0")      # reversed comparison
    assert "divides by zero" in fails("1/t if t >= 0 else 0")


def test_check_range_against_a_param():
    def check(source, **kw):
        return check_range(compile_expression(source, GROUPS), BOUNDS, **kw)
    with pytest.raises(RangeError, match=r"`randint\(100000, 100000\)` can reach 100000, above "
                                         r"the maximum 4096"):
        check("randint(100000, 100000)", minimum=1, maximum=4096, whole=True)
    with pytest.raises(RangeError, match=r"can reach .* at epoch = 99, above the maximum 16384"):
        check("48 * 2**epoch", minimum=1, maximum=16384, whole=True)
    with pytest.raises(RangeError,
                       match=r"`48 - 100\*t` can reach -52 at t = 1, below the minimum 1"):
        check("48 - 100*t", minimum=1, maximum=16384, whole=True)
    with pytest.raises(RangeError, match=r"above the maximum 16384"):
        check("randint(0, 10**100)", minimum=1, maximum=16384, whole=True)
    with pytest.raises(RangeError, match="a whole number param needs a bounded one"):
        check("gammavariate(2, 1)", whole=True)
    check("gauss()", whole=True)
    with pytest.raises(RangeError, match="too large for a whole number param"):
        check("randint(0, 10**100)", whole=True)
    with pytest.raises(RangeError, match="NaN"):
        check("nan * t")
    # int params truncate, as CLIPig: 0.5 becomes 0, below 1; 1.5 becomes 1
    with pytest.raises(RangeError):
        check("0.5 + t", minimum=1, whole=True)
    check("1.5 + t", minimum=1, whole=True)
    assert check("gammavariate(1, 1)").hi == math.inf        # a float without bounds


# ---------------------------------------------------------------- soundness (property)

_LEAVES = st.sampled_from(["t", "epoch", "width", "sim", "ti", "t2", "1", "2", "0.5", "3",
                           "-1", "res[0]", "lr", "0"])
_UNARY = ["-({})", "abs({})", "sqrt({})", "log({})", "exp({})", "sin({})", "floor({})",
          "int({})", "round({})", "tanh({})", "erf({})", "cbrt({})", "gamma({})", "isqrt({})",
          "log1p({})", "expm1({})", "exp2({})", "lgamma({})", "factorial({})", "acos({})",
          "asin({})", "tan({})", "cosh({})", "atanh({})", "ulp({})", "isnan({})", "not ({})",
          "float({})", "bool({})", "ceil({})", "log2({})", "fabs({})", "perm({})",
          "randrange({})", "expovariate({})", "paretovariate({})", "gauss({})", "random() * ({})"]
_BINARY = ["({}) + ({})", "({}) - ({})", "({}) * ({})", "({}) / ({})", "({}) // ({})",
           "({}) % ({})", "({}) ** ({})", "min({}, {})", "max({}, {})", "pow({}, {})",
           "({}) if ({}) > 0.5 else 1", "uniform({}, {})", "randint({}, {})", "fmod({}, {})",
           "hypot({}, {})", "comb({}, {})", "({}) < ({})", "ldexp({}, {})", "remainder({}, {})",
           "copysign({}, {})", "atan2({}, {})", "gcd({}, {})", "lcm({}, {})", "perm({}, {})",
           "isclose({}, {})", "nextafter({}, {})", "round({}, {})", "log({}, {})",
           "({}) and ({})", "({}) or ({})", "ts({}, {})", "gauss({}, {})", "triangular({}, {})",
           "betavariate({}, {})", "gammavariate({}, {})", "weibullvariate({}, {})",
           "lognormvariate({}, {})", "vonmisesvariate({}, {})", "randrange({}, {})",
           "({}) if t > 0.3 else ({})", "({}) if epoch <= 10 else ({})"]


def _expressions():
    return st.recursive(
        _LEAVES,
        lambda inner: st.one_of(
            st.builds(lambda f, a: f.format(a), st.sampled_from(_UNARY), inner),
            st.builds(lambda f, a, b: f.format(a, b), st.sampled_from(_BINARY), inner, inner)),
        max_leaves=6)


def _points():
    for t in (0.0, 0.25, 0.5, 0.75, 1.0):
        for epoch in (0, 1, 49, 99):
            for width in (64, 100, 512):
                for sim in (-100.0, 0.0, 37.5, 100.0):
                    yield {"t": t, "epoch": epoch, "width": width, "height": 64,
                           "lr": 0.01, "lrs": 1.0, "sim": sim}


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(_expressions(), st.integers(0, 2 ** 32))
def test_what_validates_runs(source, seed):
    """If the analysis accepts an expression, evaluating it anywhere in range never fails,
    and every value lies in the range found."""
    try:
        expr = compile_expression(source, GROUPS)
        found = value_range(expr, BOUNDS)
    except ExpressionError:
        return
    rand = random.Random(seed)
    for ctx in _points():
        ctx = {**ctx, "lr": rand.uniform(0.001, 0.1)}
        value = expr(ctx, rand)         # must not raise
        if isinstance(value, float) and math.isnan(value):
            assert found.nan, (source, ctx)
            continue
        # float ends computed in another order may differ in the last bits
        is_float = isinstance(value, float) and math.isfinite(value)
        slack = 1e-9 * max(1.0, abs(value)) if is_float else 0
        assert (found.lo <= value or value - found.lo >= -slack) and \
            (value <= found.hi or value - found.hi <= slack), (source, ctx, value, found)


# ------------------------------------------------------------------- validate and the CLI

def _graph_with(node, param, value):
    g = strawberries()
    g.set_param(node, param, value)
    return g


ISSUE_CASES = [
    ("random_sampler", "batch_size", "randint(1, 4)", "this param is set once for the whole run"),
    ("train", "seed", "randint(1, 4)", "this param is set once for the whole run"),
    ("train", "snapshot_interval", "random()", "this param is set once for the whole run"),
    ("train", "learnrate_scale", "1/t", "`1/t` divides by zero at t = 0"),
    ("pixels", "resolution", ["48 - 100*t", 48],
     "item 1: `48 - 100*t` can reach -52 at t = 1, below the minimum 1"),
    ("pixels", "resolution", ["randint(0, 10**100)", 512],
     "item 1: `randint(0, 10**100)` can reach 1e+100, above the maximum 16384"),
    ("random_sampler", "batch_size", "randint(100000, 100000)",
     "`randint(100000, 100000)` can reach 100000, above the maximum 4096"),
    ("pixels", "resolution", ["48 * 2**epoch", 48],
     "item 1: `48 * 2**epoch` can reach 4.342e+76 at epoch = 249, above the maximum 16384"),
    ("center_crop", "size", ["res[0] * 100", 224], "above the maximum 16384"),
    ("blur_constraint", "weight", "log(sim)", "cannot compute log(-100) (math domain error)"),
]


@pytest.mark.parametrize("node, param, value, message", ISSUE_CASES)
def test_validate_refuses_what_would_fail_at_run_time(node, param, value, message, registry):
    problems = [p for p in validate(_graph_with(node, param, value), registry) if p.is_error]
    assert len(problems) == 1, problems
    assert problems[0].node == node and problems[0].param == param
    assert message in problems[0].message


def test_validate_command_exit_code_and_message(tmp_path):
    for index, (node, param, value, message) in enumerate(ISSUE_CASES[:8]):
        path = tmp_path / f"case{index}.graph.yaml"
        save_graph(_graph_with(node, param, value), path)
        out = subprocess.run([sys.executable, str(ROOT / "main.py"), "validate", str(path)],
                             capture_output=True, text=True, cwd=ROOT, timeout=60)
        assert out.returncode == 1, (value, out.stdout, out.stderr)
        assert f"node '{node}' param '{param}': " in out.stderr and message in out.stderr
        assert "Traceback" not in out.stderr


def test_epochs_of_the_run_decide_the_range(registry):
    g = _graph_with("pixels", "resolution", ["48 * 2**(epoch // 100)", 48])
    g.set_param("train", "epochs", 800)                # 48 * 2**7 = 6144: fine
    assert not [p for p in validate(g, registry) if p.is_error]
    problems = [p for p in validate(g, registry, epochs=1000) if p.is_error]   # 2**9: too big
    assert problems and "above the maximum 16384" in problems[0].message


def test_graph_ranges_flow_into_expressions(registry):
    # the resolution's range reaches the crop size through res[0]
    g = _graph_with("pixels", "resolution", ["256 + 256 * t", 256])
    g.set_param("center_crop", "size", ["res[0] - 200", 224])
    assert not [p for p in validate(g, registry) if p.is_error]
    g.set_param("center_crop", "size", ["res[0] - 300", 224])
    problems = [p for p in validate(g, registry) if p.is_error]
    assert problems and "below the minimum 1" in problems[0].message
    # lr is the base rate times learnrate_scale times learnrate: here never 0
    g = _graph_with("random_rotate", "degree", ["-1 / lr", "1 / lr"])
    assert not [p for p in validate(g, registry) if p.is_error]
    g.set_param("train", "learnrate_scale", "1 - t")          # lr reaches 0 at t = 1
    problems = [p for p in validate(g, registry) if p.is_error]
    assert problems and "divides by zero" in problems[0].message


def test_a_validated_graph_with_expressions_runs(tiny_clip, registry):
    """The property on the engine: expressions that validate, run."""
    from clipig_nodes.engine import run_graph
    g = strawberries()
    g.set_param("pixels", "resolution", ["64 + 32 * floor(t * 2)", 64])
    g.set_param("center_crop", "size", ["min(res) - 8 * (t > 0.5)", "res[1] / 2 + 8"])
    g.set_param("train", "learnrate_scale", "1/t if t > 0.1 else 1")
    g.set_param("train", "epochs", 4)
    g.set_param("random_sampler", "batch_size", 3)
    g.set_param("random_sampler", "weight", "1 + randint(0, 2) * sim / 100")
    g.set_param("blur_constraint", "weight", "exp(sim / 100) - 1")
    assert not [p for p in validate(g, registry) if p.is_error]
    result = run_graph(g, device="cpu", model=tiny_clip, seed=1)
    assert result.image.size == (128, 64)


# ------------------------------------------------------------------------- huge numbers

@pytest.mark.parametrize("node, param, value, message", [
    ("train", "learnrate", "int(1e308)**4", "about 10**1232 is too large"),
    ("train", "learnrate", 10 ** 999, "about 10**999 is too large"),
    ("train", "learnrate", "9" * 5000, "a 5000-digit number is too large"),
    ("random_sampler", "start", "10**1000", "is too large for an epoch"),
    ("blur_constraint", "kernel_size", [10 ** 100, 3], "item 1: 1e+100 is out of range"),
    ("train", "seed", "2**70", "1.181e+21 is out of range: must be <= 9.223e+18"),
    # the optimizer computes base x learnrate x learnrate_scale in float32 (fuzz: 2**140)
    ("train", "learnrate", "2**70", "1.18059e+21 is out of range: must be <= 1e+06"),
    ("train", "learnrate_scale", "-2**70", "is out of range: must be >= -1e+06"),
], ids=lambda v: str(v)[:30])
def test_huge_numbers_are_refused_where_written(node, param, value, message, registry):
    problems = [p for p in validate(_graph_with(node, param, value), registry) if p.is_error]
    assert len(problems) == 1 and problems[0].param == param, problems
    assert message in problems[0].message


def test_long_but_valid_numbers_pass(registry):
    g = _graph_with("text_feature", "weight", "12345678901234567890123")  # a float: 1.2e22
    assert not [p for p in validate(g, registry) if p.is_error]


def test_learnrate_bounds_cover_every_optimizer():
    from clipig_nodes.engine.optimizers import OPTIMIZERS, base_rate
    from clipig_nodes.graph.run_bounds import BASE_RATES
    assert all(BASE_RATES.contains(base_rate(name)) for name in OPTIMIZERS)


def test_round_digits_must_be_an_int():
    rng("round(t, 2)")
    rng("round(t, epoch % 3)")
    rng("round(t, min(res) // 100)")
    for source in ("round(t, t // 1)", "round(t, 2.0)", "round(t, epoch / 2)"):
        assert "needs an int" in fails(source)


def test_run_checks_the_range_with_its_own_epochs(tmp_path):
    g = _graph_with("pixels", "resolution", ["48 * 2**(epoch // 100)", 48])
    g.set_param("train", "epochs", 800)
    path = tmp_path / "grow.graph.yaml"
    save_graph(g, path)
    out = subprocess.run([sys.executable, str(ROOT / "main.py"), "run", str(path), "--epochs",
                          "1000", "-o", str(tmp_path / "out")],
                         capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "above the maximum 16384" in out.stderr and "not run" in out.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
