"""A toy world for judging generated images: procedurally drawn scenes (a coloured
shape on a coloured background, with captions), a tiny CLIP trained on them on the
CPU (`python -m clipig_nodes.toyworld.train`), pixel statistics that check what a
picture shows without any CLIP, and the quality benchmark (`main.py bench --quality`).

Submodules import torch; this package file does not.
"""
