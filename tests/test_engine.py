"""The engine on a tiny random CLIP loaded through clip.load: training, select modes,
schedules, resolution changes, determinism, errors."""

import threading

import pytest
import torch

from clipig_nodes.engine import EngineError, Run, RunOptions, Trainer, run_graph
from clipig_nodes.engine.clipmodel import load_clip, resolve_checkpoint
from clipig_nodes.engine.device import resolve_device
from clipig_nodes.graph.compile import compile_graph

from .graph_builders import chain, minimal
from .tiny_clip import build_tiny_clip


def trainer_for(graph, tiny_clip, **options):
    options.setdefault("device", "cpu")
    options.setdefault("seed", 0)
    return Trainer(compile_graph(graph), RunOptions(model=tiny_clip, **options))


def small(text="strawberries", epochs=20):
    g = minimal(text)
    g.set_param("pixels", "resolution", [40, 32])
    g.set_param("train", "epochs", epochs)
    return g


def sim_of(trainer, target="target"):
    """Similarity of the current image to the target's features (recomputed, no grad)."""
    plan = next(t for t in trainer.program.targets if t.id == target)
    ctx = trainer._context(trainer.epoch)
    with torch.no_grad():
        views = trainer.executor.views_of(plan, trainer.image(), ctx)
        z = trainer.clip.encode_views(views)
        embeddings = torch.stack(trainer.executor.embeddings[plan.id])
        return (z @ embeddings.T).mean(0) * 100


def test_clip_loads_through_the_real_loader(tiny_clip, tmp_path):
    clip = load_clip(tiny_clip, torch.device("cpu"))
    assert clip.input_size == 32
    assert not any(p.requires_grad for p in clip.model.parameters())
    assert not clip.model.training
    text = clip.encode_text("a red apple")
    assert text.shape == (32,) and torch.allclose(text.norm(), torch.tensor(1.0))
    assert clip.encode_text("a red apple") is text          # cached
    # a plain state dict checkpoint works as well, with another input size
    other = build_tiny_clip(tmp_path / "sd.pt", image_resolution=48, as_state_dict=True)
    assert load_clip(str(other), torch.device("cpu")).input_size == 48


def test_views_use_the_models_own_input_size(tmp_path):
    path = str(build_tiny_clip(tmp_path / "48.pt", image_resolution=48))
    trainer = trainer_for(small(epochs=2), path)
    trainer.step()
    plan = trainer.program.targets[0]
    ctx = trainer._context(1)
    assert trainer.executor.views_of(plan, trainer.image(), ctx).shape[-2:] == (48, 48)


def test_model_errors_are_clear(tmp_path, monkeypatch):
    with pytest.raises(EngineError, match="unknown CLIP model 'ViT-X/99'"):
        resolve_checkpoint("ViT-X/99")
    import clip.clip as clip_module

    def offline(url, root):
        raise OSError("network is unreachable")
    monkeypatch.setattr(clip_module, "_download", offline)
    with pytest.raises(EngineError) as info:
        resolve_checkpoint("ViT-B/32", download_root=tmp_path)
    message = str(info.value)
    assert str(tmp_path / "ViT-B-32.pt") in message and "--model PATH" in message
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a model")
    with pytest.raises(EngineError, match="cannot load CLIP checkpoint"):
        load_clip(str(bad), torch.device("cpu"))


def test_text_over_the_token_limit(tiny_clip):
    clip = load_clip(tiny_clip, torch.device("cpu"))
    with pytest.raises(EngineError, match="longer than CLIP's limit of 77 tokens"):
        clip.encode_text("word " * 100)


def test_cuda_asked_for_but_absent(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(EngineError, match="CUDA is not available"):
        resolve_device("cuda")
    assert resolve_device("auto").type == "cpu"
    with pytest.raises(EngineError, match="unknown device"):
        resolve_device("tpu")


def test_similarity_to_the_text_rises(tiny_clip):
    trainer = trainer_for(small(epochs=30), tiny_clip)
    trainer.step()
    before = sim_of(trainer)
    while not trainer.done:
        trainer.step()
    after = sim_of(trainer)
    assert after.item() > before.item() + 1.0


def test_negative_weight_pushes_away(tiny_clip):
    g = small(epochs=30)
    g.set_param("text_feature", "weight", -1.0)
    trainer = trainer_for(g, tiny_clip)
    trainer.step()
    before = sim_of(trainer)
    while not trainer.done:
        trainer.step()
    assert sim_of(trainer).item() < before.item() - 1.0


def test_same_seed_same_image_other_seed_differs(tiny_clip):
    images = []
    for seed in (5, 5, 6):
        result = run_graph(small(epochs=5), model=tiny_clip, device="cpu", seed=seed)
        images.append(result.pixels)
    assert torch.equal(images[0], images[1])
    assert not torch.equal(images[0], images[2])


def three_features(select):
    g = small(epochs=3)
    for name in ("a green pear", "a yellow banana"):
        node = g.add_node("text_feature", params={"text": name})
        g.connect(node.id, "feature", "target", "features")
    g.set_param("target", "select", select)
    return g


@pytest.mark.parametrize("select", ["all", "best", "worst", "mix"])
def test_select_modes_pick_what_they_should(tiny_clip, select):
    trainer = trainer_for(three_features(select), tiny_clip)
    trainer.step()
    (record,) = list(trainer.stats.window["target"])
    used, sims = record["used"], record["sim"]
    if select in ("all", "mix"):
        assert used.all()
    else:
        assert used.sum(dim=1).eq(1).all()
        pick = sims.argmax(dim=1) if select == "best" else sims.argmin(dim=1)
        assert used[torch.arange(len(pick)), pick].all()


def test_feature_schedule_disables_features(tiny_clip):
    g = three_features("all")
    g.set_param("text_feature", "start", 2)           # epoch index 2 of 0..2
    trainer = trainer_for(g, tiny_clip)
    trainer.step()
    trainer.step()
    trainer.step()
    records = list(trainer.stats.window["target"])
    assert [bool(r["used"][0, 0]) for r in records] == [False, False, True]
    assert all(bool(r["used"][0, 1]) for r in records)


def test_target_schedule_and_inactive_target(tiny_clip):
    g = small(epochs=4)
    g.set_param("target", "end", 1)                   # epochs 0 and 1 only
    trainer = trainer_for(g, tiny_clip)
    for _ in range(4):
        trainer.step()
    assert len(trainer.stats.window["target"]) == 2
    g.set_param("target", "active", False)
    assert trainer_for(g, tiny_clip).program.targets == ()


def test_resolution_change_keeps_training(tiny_clip):
    g = small(epochs=6)
    g.set_param("pixels", "resolution", ["32 if t < 0.5 else 64"])
    g.set_param("pixels", "interpolation", "linear")
    trainer = trainer_for(g, tiny_clip)
    sizes, optimizers = [], []
    while not trainer.done:
        trainer.step()
        sizes.append(tuple(trainer.pixels.shape[-2:]))
        optimizers.append(trainer.optimizer)
    assert sizes == [(32, 32)] * 3 + [(64, 64)] * 3
    assert optimizers[2] is not optimizers[3]         # a fresh optimizer, as CLIPig
    assert trainer.state["pixels"].grad is not None and trainer.state["pixels"].grad.abs().sum() > 0


def test_learnrate_schedule_and_optimizers(tiny_clip):
    g = small(epochs=3)
    g.set_param("train", "learnrate_scale", "1 - t")
    g.set_param("train", "optimizer", "sgd")
    trainer = trainer_for(g, tiny_clip)
    rates = [trainer.step().learnrate for _ in range(3)]
    assert rates == pytest.approx([10.0, 5.0, 0.0])
    for name in ("adam", "sparse_adam", "adadelta", "rmsprob", "rmsprop"):
        g.set_param("train", "optimizer", name)
        t = trainer_for(g, tiny_clip)
        t.step()
        assert t.state["pixels"].grad is not None


def test_init_image_and_missing_image(tiny_clip, tmp_path):
    from PIL import Image
    Image.new("RGBA", (20, 10), (255, 0, 0, 255)).save(tmp_path / "red.png")
    Image.new("L", (10, 10), 128).save(tmp_path / "gray.png")
    g = small(epochs=1)
    g.set_param("pixels", "init_image", "red.png")
    trainer = Trainer(compile_graph(g), RunOptions(model=tiny_clip, device="cpu", seed=0,
                                                   base_dir=tmp_path))
    trainer._setup(trainer._context(0))
    assert trainer.pixels.shape == (1, 3, 32, 40)
    assert torch.allclose(trainer.pixels[0, :, 5, 5], torch.tensor([1.0, 0.0, 0.0]), atol=1e-3)
    g.set_param("pixels", "init_image", "gray.png")
    trainer = Trainer(compile_graph(g), RunOptions(model=tiny_clip, device="cpu", base_dir=tmp_path))
    trainer._setup(trainer._context(0))
    assert torch.allclose(trainer.pixels[0, :, 10, 10], torch.full((3,), 128 / 255), atol=1e-3)
    g.set_param("pixels", "init_image", "nope.png")
    trainer = Trainer(compile_graph(g), RunOptions(model=tiny_clip, device="cpu", base_dir=tmp_path))
    with pytest.raises(EngineError, match="init_image: file not found"):
        trainer.step()


def test_hot_update_between_epochs(tiny_clip):
    g = small(epochs=6)
    job = Run(g, RunOptions(model=tiny_clip, device="cpu", seed=0), save=False)
    events = job.events()
    next(events)
    pixels_before = job.trainer.pixels.detach().clone()
    edited = g.copy()
    edited.set_param("text_feature", "text", "a blue whale")
    node = edited.add_node("text_feature", "second", params={"text": "the sea"})
    edited.connect(node.id, "feature", "target", "features")
    job.update(edited)
    next(events)
    assert len(job.trainer.program.targets[0].features) == 2
    # training went on from the pixels it had: one more step, not a new start
    assert (job.trainer.pixels.detach() - pixels_before).abs().max() < 0.2
    rest = list(events)
    assert rest[-1].kind == "done" and job.result.epochs == 6


def test_stop_and_pause_from_another_thread(tiny_clip, tmp_path):
    job = Run(small(epochs=10_000), RunOptions(model=tiny_clip, device="cpu", seed=0),
              output=str(tmp_path) + "/")
    seen = []
    for event in job.events():
        seen.append(event)
        if len(seen) == 3:
            threading.Thread(target=job.stop).start()
    assert seen[-1].kind == "stopped"
    assert job.result.stopped and job.result.epochs < 10_000
    assert job.result.output.is_file()


def test_out_of_memory_is_one_clear_error(tiny_clip, monkeypatch):
    trainer = trainer_for(small(epochs=3), tiny_clip)

    def exhausted():
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
    monkeypatch.setattr(trainer, "_step", exhausted)
    with pytest.raises(EngineError, match="out of CPU memory at epoch 0: lower batch_size"):
        trainer.step()


def test_the_python_api_checks_expressions_over_its_own_epochs(tiny_clip):
    """run_graph(epochs=N) validates the expressions over N epochs, as run --epochs does."""
    from clipig_nodes.problems import ProblemsError
    g = small(epochs=5)
    g.set_param("pixels", "resolution", ["16 * 2**epoch", 32])      # 256 at epoch 4: fine
    assert run_graph(g, model=tiny_clip, device="cpu", epochs=2, seed=0).epochs == 2
    with pytest.raises(ProblemsError, match="16384"):
        Run(g, RunOptions(model=tiny_clip, device="cpu", epochs=20), save=False)
