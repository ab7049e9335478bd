"""CLIP model nodes: the MODEL socket, OpenAI and OpenCLIP loading through the node, each
model's own input size and normalisation, and the clear messages for what goes wrong."""

import os
import subprocess
import sys

import pytest
import torch

from clipig_nodes.engine.errors import EngineError
from clipig_nodes.graph.connect import link_problem
from clipig_nodes.graph.model import Link
from clipig_nodes.graph.validate import validate
from clipig_nodes.registry import MODEL, MODEL_CAT, SOCKET_TYPES, default_registry

from .engine_helpers import stage_params
from .graph_builders import minimal
from .tiny_openclip import build_tiny_openclip

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def tiny_openclip(tmp_path_factory):
    """(config .json, checkpoint) of a tiny random OpenCLIP model (input 48, embeddings 24)."""
    return build_tiny_openclip(tmp_path_factory.mktemp("openclip"))


def load(params):
    node_type = default_registry()["clip_model"]
    return node_type.load(stage_params("clip_model", params), CPU)


def openclip_params(tiny_openclip):
    config, checkpoint = tiny_openclip
    return {"library": "openclip", "name": str(config), "pretrained": str(checkpoint)}


# --- declaration and graph level -------------------------------------------------------------

def test_model_socket_and_node_declared():
    registry = default_registry()
    assert MODEL in SOCKET_TYPES
    node_type = registry["clip_model"]
    assert node_type.category == MODEL_CAT
    assert [(s.name, s.type) for s in node_type.outputs] == [("model", MODEL)]
    for feature in ("text_feature", "image_feature"):
        socket = registry[feature].input("model")
        assert socket is not None and socket.type == MODEL and not socket.required


def model_graph(**model_params):
    g = minimal()
    g.add_node("clip_model", "model", params=model_params)
    g.connect("model", "model", "text_feature", "model")
    return g


def test_graph_with_a_model_node_validates_and_wrong_links_are_refused():
    g = model_graph()
    assert [p for p in validate(g)] == []
    registry = default_registry()
    assert link_problem(g, registry, Link("model", "model", "target", "image")) == \
        "MODEL cannot feed IMAGE (model.model -> target.image)"
    assert "cannot feed MODEL" in link_problem(g, registry,
                                               Link("pixels", "image", "text_feature", "model"))


def test_graph_without_a_model_node_still_validates():
    assert validate(minimal()) == []


@pytest.mark.parametrize("params, param, words", [
    ({"library": "openclip", "name": "ViT-B-32"}, "pretrained", "needs a pretrained tag"),
    ({"library": "openai", "pretrained": "laion2b_s34b_b79k"}, "pretrained", "only OpenCLIP"),
    ({"name": " "}, "name", "must not be empty"),
])
def test_model_params_checked_at_validation(params, param, words):
    problems = [p for p in validate(model_graph(**params)) if p.is_error]
    assert [(p.node, p.param) for p in problems] == [("model", param)]
    assert words in problems[0].message


# --- loading ---------------------------------------------------------------------------------

def test_openai_model_through_the_node(tiny_clip):
    model = load({"name": tiny_clip})
    assert (model.input_size, model.embed_dim) == (32, 32)
    views = torch.rand(3, 3, 32, 32, requires_grad=True)
    embeddings = model.encode_views(views)
    assert embeddings.shape == (3, 32)
    assert torch.allclose(embeddings.norm(dim=-1), torch.ones(3), atol=1e-5)
    embeddings.sum().backward()
    assert views.grad.abs().sum() > 0


def test_openclip_model_its_own_size_and_normalisation(tiny_openclip):
    model = load(openclip_params(tiny_openclip))
    assert (model.input_size, model.embed_dim) == (48, 24)
    assert model.key.startswith("openclip:tiny-openclip:")
    views = torch.rand(2, 3, 48, 48)
    mean = torch.tensor([0.48145466, 0.4578275, 0.40821073]).view(1, 3, 1, 1)
    std = torch.tensor([0.26862954, 0.26130258, 0.27577711]).view(1, 3, 1, 1)
    expected = model.model.encode_image((views - mean) / std)
    expected = expected / expected.norm(dim=-1, keepdim=True)
    assert torch.allclose(model.encode_views(views), expected, atol=1e-5)
    text = model.encode_text("a red square on a yellow background")
    assert text.shape == (24,) and abs(float(text.norm()) - 1) < 1e-5
    assert not torch.allclose(text, model.encode_text("a blue circle"))


def test_openclip_image_file_feature(tiny_openclip, tmp_path):
    from PIL import Image
    model = load(openclip_params(tiny_openclip))
    path = tmp_path / "photo.png"
    Image.new("RGB", (80, 60), (200, 30, 30)).save(path)
    embedding = model.encode_image_file(path)
    red = torch.zeros(1, 3, 48, 48)
    red[:, 0], red[:, 1], red[:, 2] = 200 / 255, 30 / 255, 30 / 255
    assert torch.allclose(embedding, model.encode_views(red)[0], atol=1e-4)


def test_text_feature_encodes_with_the_linked_model(tiny_openclip, tiny_clip):
    """The feature's encode takes whichever model it is given (OpenAI or OpenCLIP)."""
    feature = default_registry()["text_feature"]
    p = stage_params("text_feature", {"text": "a red square"})
    assert feature.encode(load(openclip_params(tiny_openclip)), p, None).shape == (24,)
    assert feature.encode(load({"name": tiny_clip}), p, None).shape == (32,)


# --- clear messages --------------------------------------------------------------------------

def error_of(params):
    with pytest.raises(EngineError) as info:
        load(params)
    message = str(info.value)
    assert "Traceback" not in message and "\n" not in message
    return message


def test_malformed_openclip_name_names_the_node():
    message = error_of({"library": "openclip", "name": "ViT-B-33", "pretrained": "openai"})
    assert message.startswith("clip_model_test: unknown OpenCLIP architecture 'ViT-B-33'")
    assert "did you mean" in message


def test_unknown_pretrained_tag_lists_the_known_ones():
    message = error_of({"library": "openclip", "name": "ViT-B-32", "pretrained": "laion9b"})
    assert message.startswith("clip_model_test: 'laion9b' is neither a checkpoint file nor")
    assert "laion2b_s34b_b79k" in message


def test_missing_model_config_file():
    message = error_of({"library": "openclip", "name": "/nowhere/tiny.json",
                        "pretrained": "x.pt"})
    assert message == "clip_model_test: OpenCLIP model config file not found: /nowhere/tiny.json"


def test_broken_openclip_checkpoint(tiny_openclip, tmp_path):
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not a checkpoint")
    message = error_of({"library": "openclip", "name": str(tiny_openclip[0]),
                        "pretrained": str(broken)})
    assert message.startswith(f"clip_model_test: cannot load OpenCLIP checkpoint {broken} as "
                              "tiny-openclip")


def test_unknown_openai_model_keeps_todays_message():
    message = error_of({"name": "ViT-Z/99"})
    assert message.startswith("clip_model_test: unknown CLIP model 'ViT-Z/99'")


def test_missing_pretrained_weights_offline_is_one_clear_message(tmp_path):
    """Offline with nothing cached (Hugging Face's offline mode stands for no network)."""
    code = ("import torch\n"
            "from clipig_nodes.engine.errors import EngineError\n"
            "from tests.engine_helpers import stage_params\n"
            "from clipig_nodes.registry import default_registry\n"
            "p = stage_params('clip_model', {'library': 'openclip', 'name': 'ViT-B-32', "
            "'pretrained': 'laion2b_s34b_b79k'})\n"
            "try:\n"
            "    default_registry()['clip_model'].load(p, torch.device('cpu'))\n"
            "except EngineError as e:\n"
            "    print('MESSAGE', e)\n")
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "hf"))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=300, cwd=os.getcwd())
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("MESSAGE")]
    assert len(lines) == 1
    assert lines[0].startswith("MESSAGE clip_model_test: OpenCLIP weights "
                               "ViT-B-32/laion2b_s34b_b79k are not cached")
    assert "pass a local checkpoint path as `pretrained`" in lines[0]
    assert "Traceback" not in done.stderr and "ERROR" not in done.stderr


def test_missing_open_clip_package_is_a_clear_message(monkeypatch):
    monkeypatch.setitem(sys.modules, "open_clip", None)     # import open_clip -> ImportError
    message = error_of({"library": "openclip", "name": "ViT-B-32", "pretrained": "openai"})
    assert "pip install 'clipig-nodes[openclip]'" in message


def test_two_model_ensemble_trains_each_feature_on_its_model(tiny_clip, tiny_openclip):
    """An OpenAI and an OpenCLIP model in one graph: each feature is encoded by its own
    model and scored on its own model's view embeddings, so models with different embedding
    sizes (32 and 24) train together."""
    from clipig_nodes.engine import Run, RunOptions
    config, checkpoint = tiny_openclip
    g = minimal("a red square")
    g.set_param("train", "model", tiny_clip)
    g.set_param("train", "epochs", 3)
    g.add_node("clip_model", "openclip", params={"library": "openclip", "name": str(config),
                                                 "pretrained": str(checkpoint)})
    g.add_node("text_feature", "second", params={"text": "a red square"})
    g.connect("openclip", "model", "second", "model")
    g.connect("second", "feature", "target", "features")
    assert validate(g) == []
    run = Run(g, RunOptions(device="cpu", seed=0), save=False)
    result = run.run()
    assert result.epochs == 3
    sizes = [tuple(e.shape) for e in run.trainer.executor.embeddings["target"]]
    assert sizes == [(32,), (24,)]


def test_legacy_export_names_the_model_node():
    from clipig_nodes.legacy.exporter import export_legacy
    result = export_legacy(model_graph())
    assert result.ok
    assert [(p.node, p.message) for p in result.problems] == [
        ("model", "legacy YAML has one CLIP model (train.model); this model node is not "
                  "exported, its features use train.model")]


def test_mixing_features_of_two_models_is_one_clear_message(tiny_clip, tiny_openclip):
    """select: mix averages feature embeddings, which only one model's can be."""
    from clipig_nodes.engine import Run, RunOptions
    config, checkpoint = tiny_openclip
    g = minimal("a red square")
    g.set_param("train", "model", tiny_clip)
    g.set_param("target", "select", "mix")
    g.add_node("clip_model", "openclip", params={"library": "openclip", "name": str(config),
                                                 "pretrained": str(checkpoint)})
    g.add_node("text_feature", "second", params={"text": "a blue circle"})
    g.connect("openclip", "model", "second", "model")
    g.connect("second", "feature", "target", "features")
    with pytest.raises(EngineError) as info:
        Run(g, RunOptions(device="cpu", seed=0, epochs=1), save=False).run()
    assert str(info.value).startswith("node 'target' (type target)")
    assert "select 'mix' needs every feature on one model" in str(info.value)
