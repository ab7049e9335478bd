"""Fingerprints of the images the engine makes for every template and legacy example.

`python -m tests.engine_reference` (re)writes tests/fixtures/engine_reference.json from the
engine as it is; tests/test_engine_reference.py checks that the engine still makes the same
images (max abs difference at most 1e-6 over the sampled pixels and the channel means). The file
was first written by the engine before the step-program rewrite, so that rewrite is held to it.
"""

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "engine_reference.json"
EPOCHS = 3
SAMPLES = 256


def cases():
    """(name, how to get the file path in a folder) for every template and legacy example."""
    from .legacy_examples import VALID
    from .tiny_openclip import with_tiny_models
    out = [(p.name, lambda folder, p=p: with_tiny_models(p, folder))
           for p in sorted((ROOT / "graphs").glob("*.graph.yaml"))]
    for name in sorted(VALID):
        def write(folder, name=name):
            shutil.copytree(ROOT / "graphs" / "photos", folder / "photos", dirs_exist_ok=True)
            config = folder / f"{name}.yaml"
            config.write_text(VALID[name])
            return config
        out.append((f"legacy-{name}", write))
    return out


def fingerprint(pixels) -> dict:
    """Shape, per-channel means and SAMPLES pixels at fixed positions of a [1,3,H,W] image."""
    array = np.asarray(pixels, dtype=np.float32)
    flat = array.reshape(-1)
    positions = np.random.RandomState(0).randint(0, flat.size, SAMPLES)
    return {"shape": list(array.shape),
            "channel_means": [float(array[0, c].astype(np.float64).mean()) for c in range(3)],
            "samples": [float(v) for v in flat[positions]]}


def render(make_path, clip_path) -> dict:
    from clipig_nodes.engine import run_graph
    with tempfile.TemporaryDirectory() as folder:
        path = make_path(Path(folder))
        result = run_graph(path, model=clip_path, device="cpu", epochs=EPOCHS, seed=0)
        return fingerprint(result.pixels.numpy())


def main():
    from .tiny_clip import build_tiny_clip
    with tempfile.TemporaryDirectory() as folder:
        clip_path = str(build_tiny_clip(Path(folder) / "tiny-clip.pt"))
        reference = {name: render(make, clip_path) for name, make in cases()}
    FIXTURE.write_text(json.dumps(reference, indent=1) + "\n")
    print(f"wrote {len(reference)} fingerprints to {FIXTURE}")


if __name__ == "__main__":
    main()
