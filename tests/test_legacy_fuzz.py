"""Fuzzing the legacy converter: whatever a file holds, import gives problems, never an exception,
and the exporter never raises on a graph the importer produced (and round-trips it)."""

import copy
import os

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clipig_nodes.legacy import (ImportResult, dumps_legacy, export_legacy, import_legacy,
                                 import_legacy_texts)
from clipig_nodes.legacy import schema
from clipig_nodes.registry import default_registry
from tests.legacy_examples import VALID

REGISTRY = default_registry()
KEYS = sorted({*schema.TOP_KEYS, *schema.INIT, *schema.INIT_IGNORED, *schema.TARGET_KEYS,
               *schema.FEATURE_KEYS, *schema.SCHEDULE, *schema.transform_types(REGISTRY),
               *schema.constraint_types(REGISTRY), "above", "below", "kernel_size", "sigma",
               "size", "color", "mode", "std", "degree", "center", "amount", "min", "max"})
TEXTS = ["", " ", "1e3", "30%", "-5%", "t", "1 - t", "0.5*ti", "sim", "224 * 2", "1,2", "-1",
         "yes", "false", "fair", "equal", "rmsprop", "rmsprob", "wrap", "1/0", "10**10**10",
         "300//2", "random()", "ts(0.5, 0.6)", "a cat", "nan", "inf", "[0, 1]", "__import__('os')",
         "res[0]", "lr", "width/2", "L2", "mae", "best", "cubic"]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-300, 300), st.integers(),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(TEXTS), st.text(max_size=8))
keys = st.one_of(st.sampled_from(KEYS), st.text(max_size=6), st.integers(-3, 3), st.none(),
                 st.booleans())
yamlish = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=4),
    max_leaves=12)

# a fixed, quick run by default; LEGACY_FUZZ=N runs N random examples per test (a long hunt)
HUNT = int(os.environ.get("LEGACY_FUZZ", "0"))
FAST = settings(max_examples=HUNT or 600, deadline=None, derandomize=not HUNT, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
EXAMPLES = {name: yaml.safe_load(text) for name, text in VALID.items()}


def paths(data, prefix=()):
    """Every key path into nested dicts/lists."""
    out = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            out += paths(value, prefix + (key,))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            out += paths(value, prefix + (index,))
    return out


PATHS = [(name, path) for name, data in EXAMPLES.items() for path in paths(data) if path]


def check(result):
    assert isinstance(result, ImportResult)
    assert not [p for p in result.problems if "internal error" in p.message], result.problems
    if not result.ok:
        assert result.graph is None
        return
    assert result.graph is not None
    exported = export_legacy(result.graph)
    assert not [p for p in exported.problems if "internal error" in p.message]
    text, _ = dumps_legacy(result.graph)
    if text is not None:
        again = import_legacy_texts([("again.yaml", text)])
        assert again.ok, [str(p) for p in again.problems]
        assert again.graph == result.graph


@FAST
@given(st.dictionaries(st.sampled_from(KEYS) | keys, yamlish, max_size=6) | yamlish)
def test_arbitrary_data_at_the_top_level(data):
    check(import_legacy(data, source="fuzz.yaml"))


@FAST
@given(st.sampled_from(PATHS), yamlish, st.sampled_from(["replace", "add", "delete"]),
       st.sampled_from(KEYS))
def test_junk_spliced_into_valid_examples(where, value, mode, new_key):
    name, path = where
    data = copy.deepcopy(EXAMPLES[name])
    parent = data
    for key in path[:-1]:
        parent = parent[key]
    last = path[-1]
    if mode == "replace":
        parent[last] = value
    elif mode == "delete":
        del parent[last]
    elif isinstance(parent[last], dict):
        parent[last][new_key] = value
    elif isinstance(parent[last], list):
        parent[last].append(value)
    else:
        parent[last] = value
    check(import_legacy(data, source=f"{name}.yaml"))


@FAST
@given(st.text(max_size=200))
def test_arbitrary_text(text):
    check(import_legacy_texts([("fuzz.yaml", text)]))


@FAST
@given(st.sampled_from(sorted(VALID)), st.integers(0, 2000), st.integers(0, 20),
       st.text(alphabet=" \n-:[]{},#'\"%*01tab", max_size=6))
def test_mutated_example_text(name, at, cut, insert):
    text = VALID[name]
    at %= len(text) + 1
    check(import_legacy_texts([("fuzz.yaml", text[:at] + insert + text[at + cut:])]))
