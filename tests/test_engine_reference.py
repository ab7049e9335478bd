"""The engine makes the same image as the engine it replaced, for every template and example."""

import json

import numpy as np
import pytest

from .engine_reference import FIXTURE, cases, render

REFERENCE = json.loads(FIXTURE.read_text())
CASES = dict(cases())


def test_every_case_has_a_reference():
    assert sorted(REFERENCE) == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_image_as_reference(name, tiny_clip):
    got, want = render(CASES[name], tiny_clip), REFERENCE[name]
    assert got["shape"] == want["shape"]
    np.testing.assert_allclose(got["channel_means"], want["channel_means"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(got["samples"], want["samples"], rtol=0, atol=1e-6)
