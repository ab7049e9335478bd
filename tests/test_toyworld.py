"""The toy world's parts that need no trained model: scenes, the pixel judge, the
training's reproducibility and cache key, the CLI's refusals."""

import pytest
import torch

from clipig_nodes.toyworld import train
from clipig_nodes.toyworld.judge import (colour_shares, high_frequency_share, judge,
                                         nearest_colours)
from clipig_nodes.toyworld.scenes import PALETTE, Scene, all_scenes, draw


def test_world_has_every_shape_and_ordered_colour_pair():
    world = all_scenes()
    assert len(world) == len({s.caption for s in world}) == 3 * 8 * 7
    assert "a red square on a yellow background" in {s.caption for s in world}
    assert all(s.colour != s.background for s in world)


def test_drawn_scenes_are_judged_in_role_and_their_swaps_are_not():
    world = all_scenes() * 2
    images = draw(world, 64, torch.Generator().manual_seed(3))
    assert images.shape == (len(world), 3, 64, 64)
    assert 0 <= images.min() and images.max() <= 1
    verdicts = [judge(image, scene) for image, scene in zip(images, world)]
    # a small triangle pushed off the middle by the position jitter may miss the middle
    # square: about 1 scene in 1000
    assert sum(v.in_role for v in verdicts) >= 0.99 * len(world)
    assert all(v.colour_share > 0.9 for v in verdicts)
    assert not any(judge(image, scene.swapped()).in_role for image, scene in zip(images, world))


def test_one_colour_image_is_never_in_role():
    red = torch.tensor(PALETTE["red"]).view(1, 3, 1, 1).expand(1, 3, 32, 32)
    assert not judge(red, Scene("square", "red", "yellow")).in_role
    assert not judge(red, Scene("square", "yellow", "red")).in_role


def test_mid_grey_counts_as_no_colour():
    grey = torch.full((1, 3, 16, 16), 0.5)
    shares = colour_shares(nearest_colours(grey))
    assert shares["grey"] == 1.0 and shares["purple"] == 0.0


def test_high_frequency_share_separates_noise_from_scenes():
    noise = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    # white noise spreads evenly: the disc of radius 1/4 holds pi/16 of the square
    assert high_frequency_share(noise) == pytest.approx(1 - torch.pi / 16, abs=0.03)
    scene = draw([Scene("circle", "red", "blue")], 64, torch.Generator().manual_seed(0),
                 augment=False)
    assert high_frequency_share(scene) < 0.05
    assert high_frequency_share(torch.full((1, 3, 8, 8), 0.3)) == 0.0


def test_training_is_reproducible_and_the_seed_matters():
    config = dict(train.CONFIG, steps=2, pairs_per_batch=4)
    a, b = train.train(5, config), train.train(5, config)
    c = train.train(6, config)
    state_a, state_b, state_c = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(state_a[k], state_b[k]) for k in state_a)
    assert not all(torch.equal(state_a[k], state_c[k]) for k in state_a)


def test_cache_key_follows_seed_and_config():
    key = train.cache_key(0)
    assert key == train.cache_key(0)
    assert key != train.cache_key(1)
    assert key != train.cache_key(0, dict(train.CONFIG, steps=1))


def test_saved_model_loads_through_the_engine(tmp_path):
    from clipig_nodes.engine.clipmodel import load_clip
    config = dict(train.CONFIG, steps=1, pairs_per_batch=2)
    path = train.save(train.train(0, config), tmp_path / "toy.pt", config)
    model = load_clip(str(path), torch.device("cpu"))
    assert model.input_size == 32 and model.context_length == 16
    text = model.encode_text("a red square on a yellow background")
    assert text.shape == (64,) and abs(float(text.norm()) - 1) < 1e-5
    assert list(tmp_path.iterdir()) == [path]           # no temporary file left


def test_train_cli_never_overwrites(tmp_path, capsys):
    out = tmp_path / "toy.pt"
    out.write_bytes(b"keep")
    assert train.main(["--out", str(out), "--steps", "1"]) == 1
    assert out.read_bytes() == b"keep"
    assert "exists" in capsys.readouterr().err
