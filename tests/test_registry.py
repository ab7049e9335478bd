import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from clipig_nodes.registry import (CATEGORIES, RegistryError, discover, node_dirs)

CLIPIG_TRANSFORMS = {
    "add", "mul", "mean", "clamp", "quantize", "saturation", "contrast", "blur", "border",
    "noise", "bwnoise", "rnoise", "fnoise", "edge", "rotate", "random_rotate", "random_scale",
    "random_translate", "shift", "random_shift", "resize", "center_crop", "random_crop", "crop",
    "repeat", "pad"}
CLIPIG_CONSTRAINTS = {"mean", "std", "saturation", "contrast", "edge_mean", "blur", "border",
                      "normalize", "noise"}
RESIZING = {"resize", "center_crop", "random_crop", "crop", "repeat", "pad", "cutouts"}
RANDOM = {"noise", "bwnoise", "rnoise", "fnoise", "random_rotate", "random_scale",
          "random_translate", "random_shift", "random_crop", "cutouts"}


def test_library_declares_every_clipig_node(registry):
    # transforms CLIPig lacks (cutouts) declare no legacy name
    transforms = {t.legacy_name for t in registry.by_category("transform") if t.legacy_name}
    constraints = {t.legacy_name for t in registry.by_category("constraint")}
    assert transforms == CLIPIG_TRANSFORMS
    assert constraints == CLIPIG_CONSTRAINTS
    assert {t.name for t in registry.by_category("feature")} == {"text_feature", "image_feature"}
    for name in ("pixels", "target", "train", "preview"):
        assert name in registry
    assert all(t.category in CATEGORIES for t in registry)


def test_transform_flags_match_behaviour(registry):
    for t in registry.by_category("transform"):
        assert t.changes_resolution == (t.name in RESIZING), t.name
        # the flag says what the transform does: CLIPig's missing flags (bug 5.6) are fixed
        assert t.random == (t.name in RANDOM), t.name


def test_stage_nodes_carry_active_start_end(registry):
    for t in registry:
        has_schedule = {"active", "start", "end"} <= set(t.param_map)
        assert has_schedule == (t.category in ("transform", "feature", "constraint", "target")), t.name


def test_single_param_transforms_name_their_value_param(registry):
    multi = {"blur", "border", "edge", "pad", "rnoise", "rotate", "random_rotate",
             "cutouts"}   # cutouts: no CLIPig twin, many params
    for t in registry.by_category("transform"):
        if t.name in multi:
            assert t.legacy_value is None
        else:
            assert t.legacy_value in t.param_map, t.name


def test_train_declares_the_run_settings(registry):
    train = registry["train"]
    assert set(train.param_map) == {"epochs", "start_epoch", "learnrate", "learnrate_scale",
                                    "optimizer", "model", "device", "snapshot_interval",
                                    "output", "seed"}
    assert set(train.param("optimizer").choices) >= {"adam", "sgd", "sparse_adam", "adadelta",
                                                     "rmsprob", "rmsprop"}


def test_every_param_has_a_doc_line(registry):
    for t in registry:
        assert t.doc(), t.name
        for p in t.param_list:
            assert p.doc, f"{t.name}.{p.name}"


def test_unknown_type_lookup_suggests(registry):
    with pytest.raises(KeyError, match="did you mean 'blur'"):
        registry["blurr"]


def _write(folder, name, text):
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def test_user_folder_adds_node_types(tmp_path, monkeypatch):
    _write(tmp_path, "my_nodes.py", """
        from clipig_nodes.nodebase import Transform
        from clipig_nodes.registry import TRL, Float

        class Invert(Transform):
            '''Inverts the image: amount * (1 - x) + (1 - amount) * x.'''
            name = "invert"
            params = (Float("amount", 1.0, "How much to invert.", groups=TRL),)

            @staticmethod
            def apply(x, p):
                a = p.tensor("amount")[:, None, None, None]
                return a * (1 - x) + (1 - a) * x
        """)
    monkeypatch.setenv("CLIPIG_NODES_PATH", str(tmp_path))
    assert node_dirs()[-1] == tmp_path
    registry = discover()
    invert = registry["invert"]
    assert invert.category == "transform"
    assert invert.module == str(tmp_path / "my_nodes.py")
    assert [p.name for p in invert.param_list] == ["amount", "active", "start", "end"]


def test_duplicate_type_names_are_refused(tmp_path):
    _write(tmp_path, "dup.py", """
        from clipig_nodes.nodebase import Transform
        class Blur2(Transform):
            '''Another blur.'''
            name = "blur"
            apply = staticmethod(lambda x, p: x)
        """)
    from clipig_nodes.registry import BUILTIN_NODES_DIR
    with pytest.raises(RegistryError, match="'blur' is declared twice"):
        discover([BUILTIN_NODES_DIR, tmp_path])


def test_broken_user_module_is_one_clear_error(tmp_path):
    _write(tmp_path, "broken.py", "import does_not_exist\n")
    with pytest.raises(RegistryError, match=r"broken.py:1: cannot load node module: "
                                            r"ModuleNotFoundError"):
        discover([tmp_path])


def test_bad_declaration_is_refused(tmp_path):
    _write(tmp_path, "bad.py", """
        from clipig_nodes.registry import NodeType, Param
        class Bad(NodeType):
            '''Bad.'''
            name = "bad"
            category = "transform"
            params = (Param("x", "complex"),)
        """)
    with pytest.raises(RegistryError, match="unknown kind 'complex'"):
        discover([tmp_path])


def test_missing_user_folder_is_named(tmp_path):
    with pytest.raises(RegistryError, match="does not exist"):
        discover([tmp_path / "nope"])


def test_light_layers_import_without_torch_or_dearpygui():
    code = ("import sys\n"
            "import clipig_nodes.graph, clipig_nodes.graph.validate, clipig_nodes.graph.compile\n"
            "import clipig_nodes.graph.fileformat, clipig_nodes.legacy, clipig_nodes.cli\n"
            "from clipig_nodes.registry import default_registry\n"
            "from tests.graph_builders import strawberries\n"
            "from clipig_nodes.graph.compile import compile_graph\n"
            "default_registry(); compile_graph(strawberries())\n"
            "heavy = [m for m in ('torch', 'dearpygui', 'torchvision', 'clip') if m in sys.modules]\n"
            "print(heavy)\n")
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=root)
    assert out.stdout.strip() == "[]"
