"""clipig-nodes: CLIP-guided image generation as a node graph.

The package splits into light layers (graph model, registry, expressions,
legacy converter: no torch, no GUI) and heavy ones (engine, gui) that are
imported only by the commands that need them.
"""

__version__ = "0.1.0"
