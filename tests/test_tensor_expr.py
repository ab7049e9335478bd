"""Tests for clipig_nodes.expressions.tensor: expressions evaluated per sample on the device."""

from __future__ import annotations

import builtins
import contextlib
import math
import random

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from clipig_nodes.expressions import tensor as tensor_expr
from clipig_nodes.expressions.tensor import evaluate_batch
from clipig_nodes.expressions import (LEARNRATE, RESOLUTION, TARGET_CONSTRAINT, TIME,
                                      ExpressionError, compile_expression)
from tests.engine_helpers import stage_params

GROUPS = (TIME, RESOLUTION, LEARNRATE, TARGET_CONSTRAINT)
SIMS = [0.0, -1.5, 0.25, 0.5, 1.0, 3.0, 42.0, -0.001, 2.675, 100.0, 7.0, -7.5]


def params(batch=len(SIMS), sim=None, seed=0, **ctx):
    if sim is None and batch == len(SIMS):
        sim = torch.tensor(SIMS)
    return stage_params("mean_constraint", {"above": 0.5}, batch=batch, sim=sim, seed=seed, **ctx)


def python_values(expr, p):
    """The Python evaluator per sample: a float, or None where it raises."""
    sims = p.sim.tolist() if p.sim is not None else [0.0] * p.B
    out = []
    for s in sims:
        variables = p.ctx.variables
        variables["sim"] = s
        try:
            value = expr(variables, random.Random(0))
        except ExpressionError:
            out.append(None)
            continue
        try:
            out.append(float(value))
        except OverflowError:
            out.append(math.inf if value > 0 else -math.inf)
    return out


def assert_matches_python(source, p, rtol=1e-5, atol=1e-6):
    expr = compile_expression(source, GROUPS)
    got = evaluate_batch(expr, p)
    assert got.shape == (p.B,) and got.dtype == torch.float32 and got.device == p.device
    expected = python_values(expr, p)
    checked = 0
    for i, want in enumerate(expected):
        if want is None:
            continue
        checked += 1
        with np.errstate(over="ignore"):
            want32 = float(np.float32(want))
        value = float(got[i])
        assert np.isclose(value, want32, rtol=rtol, atol=atol, equal_nan=True), \
            f"{source!r} sample {i} (sim={SIMS[i] if p.B == len(SIMS) else '?'}): " \
            f"torch {value} != python {want32}"
    return checked


# ------------------------------------------------------------------------- deterministic forms

SOURCES = [
    # numbers, variables and aliases
    "1.5", "7", "sim", "similarity", "t", "time", "epoch", "width", "height",
    "t2", "t3", "t4", "t5", "time2", "time5", "ti", "time_inverse", "ti2", "ti5",
    "time_inverse3", "lr", "learnrate", "lrs", "learnrate_scale",
    "res[0] + sim", "res[1] * sim", "resolution[0] - sim", "res[-1] + sim", "min(res) + sim",
    "max(resolution) * sim", "pi * sim", "e + sim", "tau - sim", "inf * (sim > 1000)",
    # arithmetic
    "sim + 1", "1 - sim", "sim * t", "sim / 3", "3 / sim", "sim // 2", "7 // sim",
    "sim % 3", "-7.5 % sim", "sim ** 2", "2 ** sim", "sim ** 0.5", "(-sim) ** 3", "-sim",
    "+sim", "1 - .95 * t5 + sim * 0", "epoch * 2 + sim", "width / height * sim",
    "(sim + 1) * (sim - 1) / (sim * sim + 1)", "sim * 1e300 * 1e300",
    # comparisons
    "sim > 0", "sim >= 0.5", "sim < 1", "sim <= 1", "sim == 1", "sim != 1",
    "0 < sim < 3", "0 <= sim <= 1 < 2", "-2 < sim <= t + 1", "1 < 2 < sim", "3 > 2 > sim",
    "t < 0 < sim", "(sim > 0) + (sim > 1) + (sim > 2)",
    # boolean operators
    "sim and 7", "sim or 7", "not sim", "not (sim > 1)", "0 or sim", "1 and sim",
    "sim and t", "sim or t or 5", "sim > 0 and sim < 10", "sim < 0 or sim > 40",
    "sim and sim - 1 and 9", "t and sim", "not t or sim",
    # conditionals
    "1 if sim > 0 else -1", "sim if sim > 1 else 0", "sim * 2 if t < 0.5 else sim * 3",
    "0.5 if sim else 0.25", "(1 if sim > 2 else 2) if sim > 0 else (3 if sim < -1 else 4)",
    "sim if sim > 0 else 1 / (t - 0.3)", "sim or 1 / (t - 0.3)",
    # time_step
    "ts(0.2, 0.6) + sim * 0", "ts(0.6, 0.2) + sim * 0", "time_step(0.1, 0.9) * sim",
    "ts(0.5, 0.5) + sim * 0", "ts(sim, 1)", "ts(1, sim)", "ts(sim / 10, sim / 5)",
    "ts(0.5, sim)",
    # functions
    "abs(sim)", "fabs(sim)", "min(sim, 1)", "min(sim, 1, 0.2)", "max(sim, 0)",
    "max(sim, -sim, 2)", "round(sim)", "round(sim + 0.5)", "round(sim, 1)", "round(sim / 3, 2)",
    "round(sim * 1000, -2)", "round(sim, 400)", "round(sim, -400)", "round(2.675 + 0 * sim, 2)",
    "round(sim, 2.0)", "int(sim)", "int(sim / 2)", "float(sim)", "bool(sim)", "pow(sim, 2)",
    "pow(2, sim)", "sqrt(sim)", "exp(sim / 10)", "log(sim)", "log(sim, 2)", "log(8, sim)",
    "log2(sim)", "log10(sim)", "sin(sim)", "cos(sim)", "tan(sim)", "asin(sim)",
    "acos(sim / 100)", "atan(sim)", "atan2(sim, 2)", "atan2(1, sim)", "sinh(sim / 10)",
    "cosh(sim / 10)", "tanh(sim)", "asinh(sim)", "acosh(sim)", "atanh(sim / 100)",
    "floor(sim)", "ceil(sim)", "trunc(sim)", "fmod(sim, 2)", "fmod(-7, sim)",
    "hypot(sim, 3)", "hypot(sim, 3, 4)", "degrees(sim)", "radians(sim)", "copysign(2, sim)",
    "copysign(sim, -1)", "min(res) / sim",
    # Python-only parts mixed in
    "sqrt(t) * sim", "floor(epoch / 2) + sim", "round(t * 7) + sim", "int(width / 3) * sim",
    "log(width) + sim", "10 ** 400 + sim", "2 ** 2000 * sim", "2 ** 1000 * sim", "epoch ** 100000 + sim",
]


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("t, epoch", [(0.0, 0), (0.3, 30), (1.0, 99)])
def test_matches_python_per_sample(source, t, epoch):
    p = params(t=t, epoch=epoch, width=320, height=200, lr=0.05, lrs=0.5)
    assert_matches_python(source, p)


def test_sim_none_is_zero():
    p = params(batch=4, sim=None)
    assert p.sim is None
    expr = compile_expression("sim + 1 if sim == 0 else 5", GROUPS)
    assert evaluate_batch(expr, p).tolist() == [1.0] * 4


def test_python_only_expression_is_broadcast():
    p = params(batch=3, t=0.25)
    got = evaluate_batch(compile_expression("t * 4 + 1", GROUPS), p)
    assert got.shape == (3,) and got.dtype == torch.float32
    assert got.tolist() == [2.0, 2.0, 2.0]


def test_division_by_zero_follows_torch():
    p = params(batch=3, sim=torch.tensor([0.0, 1.0, -0.0]))
    got = evaluate_batch(compile_expression("1 / sim", GROUPS), p)
    assert got[0] == math.inf and got[1] == 1.0 and got[2] == -math.inf
    got = evaluate_batch(compile_expression("sim / sim", GROUPS), p)
    assert math.isnan(got[0]) and got[1] == 1.0
    # a Python-only part that raises is computed with torch as well
    p = params(batch=2, sim=torch.tensor([1.0, 2.0]), t=0.5)
    got = evaluate_batch(compile_expression("sim + 1 / (t - 0.5)", GROUPS), p)
    assert got.tolist() == [math.inf, math.inf]
    got = evaluate_batch(compile_expression("sim + sqrt(t - 1)", GROUPS), p)
    assert torch.isnan(got).all()


def test_sim_is_detached():
    sim = torch.tensor([1.0, 2.0], requires_grad=True) * 2
    p = params(batch=2, sim=sim)
    got = evaluate_batch(compile_expression("sim * 3", GROUPS), p)
    assert not got.requires_grad
    assert got.tolist() == [6.0, 12.0]


def test_compiled_closure_is_cached():
    a = compile_expression("sim * 2 + uniform(0, 1)", GROUPS)
    b = compile_expression("sim * 2 + uniform(0, 1)", GROUPS)
    assert tensor_expr.compile_batch(a) is tensor_expr.compile_batch(b)


# ------------------------------------------------------------------------- random functions

N = 20000


def draw(source, n=N, seed=0, sim=None, **ctx):
    p = params(batch=n, sim=sim, seed=seed, **ctx)
    return evaluate_batch(compile_expression(source, GROUPS), p).double()


def python_draws(source, n=N):
    expr = compile_expression(source, GROUPS)
    rng = random.Random(1)
    variables = params(batch=1).ctx.variables
    return torch.tensor([float(expr(variables, rng)) for _ in range(n)], dtype=torch.float64)


RANDOM_SOURCES = {
    # source: (mean, std) of the distribution
    "random()": (0.5, math.sqrt(1 / 12)),
    "uniform(2, 5)": (3.5, 3 / math.sqrt(12)),
    "uniform(5, 2)": (3.5, 3 / math.sqrt(12)),
    "randint(1, 6)": (3.5, math.sqrt(35 / 12)),
    "randrange(10)": (4.5, math.sqrt(99 / 12)),
    "randrange(2, 12)": (6.5, math.sqrt(99 / 12)),
    "randrange(0, 10, 3)": (4.5, math.sqrt(11.25)),
    "randrange(10, 0, -3)": (5.5, math.sqrt(11.25)),
    "gauss()": (0.0, 1.0),
    "gauss(1, 2)": (1.0, 2.0),
    "normalvariate(-3, 0.5)": (-3.0, 0.5),
    "lognormvariate(0, 0.5)": (math.exp(0.125), math.sqrt((math.exp(0.25) - 1) * math.exp(0.25))),
    "triangular()": (0.5, math.sqrt(1 / 24)),
    "triangular(0, 1, 0.2)": (1.2 / 3, math.sqrt((1 + 0.04 - 0.2) / 18)),
    "triangular(2, 4)": (3.0, math.sqrt(3 / 18)),
    "expovariate()": (1.0, 1.0),
    "expovariate(2)": (0.5, 0.5),
    "betavariate(2, 3)": (0.4, 0.2),
    "betavariate(0.5, 0.5)": (0.5, math.sqrt(0.125)),
    "gammavariate(2, 3)": (6.0, math.sqrt(18)),
    "gammavariate(0.5, 1)": (0.5, math.sqrt(0.5)),
    "gammavariate(9, 0.5)": (4.5, 1.5),
    "paretovariate(5)": (1.25, math.sqrt(5 / (16 * 3))),
    "weibullvariate(1, 2)": (math.gamma(1.5), math.sqrt(1 - math.gamma(1.5) ** 2)),
    "weibullvariate(2, 1)": (2.0, 2.0),
}


@pytest.mark.parametrize("source", sorted(RANDOM_SOURCES))
def test_random_statistics(source):
    mean, std = RANDOM_SOURCES[source]
    values = draw(source)
    assert values.shape == (N,)
    assert torch.isfinite(values).all()
    assert len(torch.unique(values)) > 3                 # per-sample draws, not one value
    se = std / math.sqrt(N)
    assert abs(values.mean().item() - mean) < 5 * se + 1e-9, values.mean()
    assert values.std().item() == pytest.approx(std, rel=0.06)
    # and Python's random module agrees on the distribution
    reference = python_draws(source)
    assert abs(values.mean().item() - reference.mean().item()) < 7 * se
    assert values.std().item() == pytest.approx(reference.std().item(), rel=0.08)


def test_vonmises():
    values = draw("vonmisesvariate(1, 4)")
    assert ((values >= 0) & (values < 2 * math.pi)).all()
    # circular mean direction 1, mean resultant length I1(4) / I0(4)
    c, s = torch.cos(values).mean().item(), torch.sin(values).mean().item()
    assert math.atan2(s, c) == pytest.approx(1.0, abs=0.02)
    assert math.hypot(c, s) == pytest.approx(0.8635, abs=0.01)
    uniform = draw("vonmisesvariate(0, 0)")
    assert ((uniform >= 0) & (uniform < 2 * math.pi)).all()
    assert uniform.mean().item() == pytest.approx(math.pi, abs=0.05)


def test_bounds():
    u = draw("uniform(-1, 1)")
    assert u.min() >= -1 and u.max() <= 1 and u.min() < -0.99 and u.max() > 0.99
    ints = draw("randint(1, 6)")
    assert set(ints.tolist()) == {1.0, 2.0, 3.0, 4.0, 5.0, 6.0}       # inclusive
    assert set(draw("randint(-2, -2)").tolist()) == {-2.0}
    assert set(draw("randrange(0, 10, 3)").tolist()) == {0.0, 3.0, 6.0, 9.0}
    assert set(draw("randrange(10, 0, -3)").tolist()) == {10.0, 7.0, 4.0, 1.0}
    assert set(draw("randrange(5)").tolist()) == {0.0, 1.0, 2.0, 3.0, 4.0}
    r = draw("random()")
    assert r.min() >= 0 and r.max() < 1
    b = draw("betavariate(2, 3)")
    assert b.min() >= 0 and b.max() <= 1
    assert draw("gammavariate(0.3, 1)").min() >= 0
    assert draw("expovariate(3)").min() >= 0
    tri = draw("triangular(1, 3, 2.5)")
    assert tri.min() >= 1 and tri.max() <= 3
    assert set(draw("triangular(2, 2, 2)").tolist()) == {2.0}
    # arguments that differ per sample
    sim = torch.linspace(1, 10, N)
    v = draw("uniform(0, sim)", sim=sim)
    assert (v >= 0).all() and (v <= sim.double()).all()
    k = draw("randint(0, sim)", sim=torch.full((N,), 3.0))
    assert set(k.tolist()) == {0.0, 1.0, 2.0, 3.0}


def test_invalid_random_arguments_give_nan():
    sim = torch.tensor([-1.0, 2.0])
    assert torch.isnan(draw("gammavariate(sim, 1)", n=2, sim=sim))[0]
    assert not torch.isnan(draw("gammavariate(sim, 1)", n=2, sim=sim))[1]
    assert torch.isnan(draw("randint(3, sim)", n=2, sim=sim))[0]


def test_random_per_sample_and_reproducible():
    a = draw("uniform(0, 1) + gauss(0, 1)", n=64, seed=5)
    b = draw("uniform(0, 1) + gauss(0, 1)", n=64, seed=5)
    c = draw("uniform(0, 1) + gauss(0, 1)", n=64, seed=6)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    assert len(torch.unique(a)) == 64
    # every call site draws anew
    d = draw("random() - random()", n=64)
    assert (d != 0).all()
    for source in RANDOM_SOURCES:
        assert torch.equal(draw(source, n=50, seed=3), draw(source, n=50, seed=3)), source
    assert torch.equal(draw("vonmisesvariate(1, 4)", n=50, seed=3),
                       draw("vonmisesvariate(1, 4)", n=50, seed=3))


def test_random_with_conditionals_on_sim():
    sim = torch.tensor([0.0, 1.0] * 500)
    v = draw("uniform(10, 11) if sim > 0.5 else uniform(-11, -10)", n=1000, sim=sim)
    assert ((v[1::2] >= 10) & (v[1::2] <= 11)).all()
    assert ((v[0::2] >= -11) & (v[0::2] <= -10)).all()


# ------------------------------------------------------------------------- no host sync

@contextlib.contextmanager
def no_host_sync(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("host sync")
    with monkeypatch.context() as m:
        for name in ("item", "__float__", "__bool__", "__int__", "tolist", "numpy", "__index__"):
            m.setattr(torch.Tensor, name, refuse)
        yield


def test_no_host_sync(monkeypatch):
    sources = SOURCES + sorted(RANDOM_SOURCES) + [
        "vonmisesvariate(sim, 2)", "randint(0, sim)", "round(sim, randint(0, 2))",
        "triangular(0, sim, 0.5)", "betavariate(sim + 2, 1)", "uniform(0, 1) or sim",
        "random() if random() < 0.5 else 0",
    ]
    exprs = [compile_expression(s, GROUPS) for s in sources]
    p = params(t=0.3, epoch=3)
    tensor_expr._compile.cache_clear()
    with no_host_sync(monkeypatch):
        results = [evaluate_batch(e, p) for e in exprs]
    assert all(r.shape == (len(SIMS),) for r in results)


def test_never_runs_code(monkeypatch):
    """Compiling walks the parsed tree only: no eval, exec or compile() of code."""
    real_compile = builtins.compile

    def checked_compile(source, filename, mode, flags=0, *args, **kwargs):
        if not flags & 0x400:     # ast.PyCF_ONLY_AST: parsing only
            raise AssertionError("compile() of code")
        return real_compile(source, filename, mode, flags, *args, **kwargs)

    def refuse(*args, **kwargs):
        raise AssertionError("eval/exec called")

    exprs = [compile_expression(s, GROUPS) for s in SOURCES[:40] + ["uniform(0, sim)"]]
    tensor_expr._compile.cache_clear()
    with monkeypatch.context() as m:
        m.setattr(builtins, "compile", checked_compile)
        m.setattr(builtins, "eval", refuse)
        m.setattr(builtins, "exec", refuse)
        for e in exprs:
            evaluate_batch(e, params())


@pytest.mark.parametrize("source", [
    "().__class__", "__import__('os')", "[1, 2]", "'a'", "x", "open('f')", "(lambda: 1)()",
    "sim @ sim", "1 << 2", "sim in (1, 2)", "f'{sim}'",
])
def test_whitelist_refuses_unchecked_sources(source):
    """Even a source that never went through compile_expression is only walked, and refused."""
    with pytest.raises(ExpressionError):
        tensor_expr._compile(source, frozenset(GROUPS))


# ------------------------------------------------------------------------- hypothesis

_numbers = st.one_of(
    st.integers(min_value=0, max_value=12).map(str),
    st.floats(min_value=-5, max_value=5, allow_nan=False).map(lambda f: repr(round(f, 3))),
)
_leaves = st.one_of(_numbers, st.sampled_from(["t", "sim", "sim", "t2", "epoch"]))


def _extend(children):
    binary = st.tuples(children, st.sampled_from(["+", "-", "*", "/", "<", ">", "<=", "==", "!="]),
                       children).map(lambda x: f"({x[0]} {x[1]} {x[2]})")
    ifexp = st.tuples(children, children, children).map(
        lambda x: f"({x[0]} if {x[1]} else {x[2]})")
    calls = st.one_of(
        st.tuples(st.sampled_from(["min", "max"]), st.lists(children, min_size=2, max_size=3))
        .map(lambda x: f"{x[0]}({', '.join(x[1])})"),
        st.tuples(st.sampled_from(["abs", "sqrt", "-"]), children).map(lambda x: f"{x[0]}({x[1]})"),
    )
    logic = st.tuples(children, st.sampled_from(["and", "or"]), children).map(
        lambda x: f"({x[0]} {x[1]} {x[2]})")
    return st.one_of(binary, ifexp, calls, logic, children.map(lambda c: f"(not {c})"))


_expressions = st.recursive(_leaves, _extend, max_leaves=12)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=_expressions, t=st.sampled_from([0.0, 0.25, 1.0]),
       sims=st.lists(st.floats(min_value=-10, max_value=10, allow_nan=False, width=32),
                     min_size=1, max_size=6))
def test_hypothesis_agrees_with_python(source, t, sims):
    try:
        compile_expression(source, GROUPS)
    except ExpressionError:
        assume(False)
    sims = sims + [0.0, 1.0]
    p = stage_params("mean_constraint", {"above": 0.5}, batch=len(sims),
                     sim=torch.tensor(sims, dtype=torch.float32), t=t, epoch=7)
    assert_matches_python(source, p, rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------------- CUDA (where present)

cuda = pytest.mark.cuda   # run on a GPU machine: python -m pytest -m cuda


@cuda
def test_cuda_no_sync_and_same_values_as_cpu():
    """On the GPU: no synchronising call at all (CUDA's sync debug mode raises on one), the
    deterministic results equal the CPU ones, and seeded draws repeat."""
    extra = ["vonmisesvariate(sim, 2)", "randint(0, sim)", "round(sim, randint(0, 2))",
             "triangular(0, sim, 0.5)", "betavariate(sim + 2, 1)", "uniform(0, 1) or sim"]
    sources = SOURCES + sorted(RANDOM_SOURCES) + ["vonmisesvariate(1, 4)"] + extra
    exprs = [compile_expression(s, GROUPS) for s in sources]
    gpu_params = lambda seed: stage_params(
        "mean_constraint", {"above": 0.5}, batch=len(SIMS), sim=torch.tensor(SIMS).cuda(),
        seed=seed, device="cuda", t=0.3, epoch=3)
    p_gpu, p_again = gpu_params(1), gpu_params(1)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        results = [evaluate_batch(e, p_gpu) for e in exprs]
        again = [evaluate_batch(e, p_again) for e in exprs]
    finally:
        torch.cuda.set_sync_debug_mode(0)
    p_cpu = params(t=0.3, epoch=3)
    for source, expr, got, repeat in zip(sources, exprs, results, again):
        assert got.device.type == "cuda" and got.shape == (len(SIMS),) and \
            got.dtype == torch.float32, source
        assert torch.equal(got, repeat) or torch.allclose(got, repeat, equal_nan=True), source
        if not expr.uses_random:
            want = evaluate_batch(expr, p_cpu)
            assert torch.allclose(got.cpu(), want, rtol=1e-5, atol=1e-6, equal_nan=True), source


@cuda
@pytest.mark.parametrize("source", sorted(RANDOM_SOURCES))
def test_cuda_random_statistics(source):
    mean, std = RANDOM_SOURCES[source]
    values = draw(source, device="cuda")
    assert values.device.type == "cuda" and torch.isfinite(values).all()
    assert abs(values.mean().item() - mean) < 5 * std / math.sqrt(N) + 1e-9
    assert values.std().item() == pytest.approx(std, rel=0.06)
