"""Warnings about a legacy config as a whole (LEGACY_FORMAT.md section 7, last list).

These look at the built graph, because they depend on more than one key: the
transforms of a chain, the resolution, the number of epochs. Each one says
what CLIPig does with the config and what clipig-nodes does instead. Warnings
about single values (times > 1, quoted booleans, `scale` expressions, postproc
`active: false`) are given where the value is converted.
"""

from __future__ import annotations

from .build import Builder
from .schema import CLIPIG_RANDOM_FLAG


def _dynamic(value) -> bool:
    return isinstance(value, str) or (isinstance(value, list) and any(isinstance(v, str)
                                                                       for v in value))


def _get(b: Builder, node_id: str, name: str):
    node = b.graph.nodes[node_id]
    param = b.registry[node.type].param(name)
    return node.params.get(name, param.default if param is not None else None)


def legacy_warnings(b: Builder) -> None:
    pixels = b.pixels.id
    resolution = _get(b, pixels, "resolution")
    size = None if _dynamic(resolution) or not isinstance(resolution, list) else tuple(resolution)
    _init_image(b, size)
    for target, chain in b.chains.items():
        _batch(b, target, chain)
        _chain(b, chain, size)
        _constraints_of_ending_target(b, target)
    _chain(b, b.postproc, size)
    for node in b.graph:
        if node.type == "border_constraint":
            _border(b, node.id)


def _where(b: Builder, node_id: str, name: str | None = None):
    if name and (node_id, name) in b.param_loc:
        return b.param_loc[(node_id, name)]
    return b.node_loc[node_id]


def _init_image(b: Builder, size) -> None:
    if not _get(b, b.pixels.id, "init_image") or size is None or size[0] == size[1]:
        return
    if _get(b, b.pixels.id, "init_resolution"):
        what = "CLIPig loads it, but its intermediate crop is transposed"
    else:
        what = "CLIPig crashes (its cover-crop swaps width and height); set init.resolution " \
               "or use a square resolution"
    b.report.warn(_where(b, b.pixels.id, "init_image"),
                  f"init.image with the non-square resolution {size[0]}x{size[1]}: {what}; "
                  "clipig-nodes loads it correctly", b.pixels.id, "init_image")


def _batch(b: Builder, target: str, chain: list[str]) -> None:
    batch = _get(b, target, "batch_size")
    if not isinstance(batch, int) or batch <= 1:
        return
    types = [b.graph.nodes[n].type for n in chain]
    if any(b.registry[t].legacy_name in CLIPIG_RANDOM_FLAG for t in types):
        return
    random = [b.registry[t].legacy_name for t in types if b.registry[t].random]
    if random:
        message = (f"batch_size {batch}: CLIPig produces one sample here ({', '.join(random)} "
                   f"lack its randomness flag); clipig-nodes produces batch_size ({batch}) views, "
                   "each with its own random draws")
    else:
        message = (f"batch_size {batch} but no transform in the chain is random: every view is "
                   "the same, so CLIPig (and clipig-nodes) compute one")
    b.report.warn(_where(b, target, "batch_size"), message, target, "batch_size")


def _chain(b: Builder, chain: list[str], size) -> None:
    """Per-transform warnings, following the image size along the chain where it is known."""
    for node_id in chain:
        node = b.graph.nodes[node_id]
        loc = b.node_loc[node_id]
        if node.type == "edge":
            b.report.warn(loc, "the `edge` transform crashes in CLIPig unless the image is 3 "
                               "pixels wide (its `amount` is broadcast over the width); "
                               "clipig-nodes applies it per channel as documented", node_id)
        elif node.type == "fnoise" and size is not None and (size[0] * size[1]) % 2:
            b.report.warn(loc, f"fnoise on an odd pixel count ({size[0]}x{size[1]}) crashes in "
                               "CLIPig; clipig-nodes handles it", node_id)
        elif node.type == "border":
            _border(b, node_id)
        elif node.type in ("center_crop", "random_crop"):
            crop = _get(b, node_id, "size")
            if isinstance(crop, list) and not _dynamic(crop) and crop[0] != crop[1]:
                b.report.warn(loc, f"CLIPig reads the {node.type} size as [height, width], "
                                   f"clipig-nodes as [width, height] (as documented): the "
                                   f"{crop[0]}x{crop[1]} crop is transposed compared to CLIPig",
                              node_id, "size")
        size = _size_after(b, node_id, size)


def _border(b: Builder, node_id: str) -> None:
    border = _get(b, node_id, "size")
    if isinstance(border, list) and any(v == 0 and not isinstance(v, str) for v in border):
        b.report.warn(_where(b, node_id, "size"), "a border size of 0 crashes CLIPig; "
                                                   "clipig-nodes paints no border there",
                      node_id, "size")


def _size_after(b: Builder, node_id: str, size):
    """The [w, h] after a transform, or None when it cannot be known before the run."""
    node = b.graph.nodes[node_id]
    if size is None or not b.registry[node.type].changes_resolution:
        return size
    w, h = size
    if node.type in ("resize", "center_crop", "random_crop", "repeat", "pad"):
        name = {"repeat": "count"}.get(node.type, "size")
        value = _get(b, node_id, name)
        if not isinstance(value, list) or _dynamic(value):
            return None
        if node.type == "resize":
            return tuple(value)
        if node.type in ("center_crop", "random_crop"):
            return value[1], value[0]      # CLIPig's [h, w]; the pixel count is the same
        if node.type == "repeat":
            return w * value[0], h * value[1]
        return w + 2 * max(0, value[0]), h + 2 * max(0, value[1])
    if node.type == "crop":
        rect = _get(b, node_id, "rect")
        if not isinstance(rect, list) or _dynamic(rect):
            return None
        cw = int(rect[2] * w) if rect[2] < 1 else int(rect[2])
        ch = int(rect[3] * h) if rect[3] < 1 else int(rect[3])
        return cw, ch
    return None


def _constraints_of_ending_target(b: Builder, target: str) -> None:
    """CLIPig evaluates constraint expressions when it prints the final statistics; if the
    target is over by then, there is no similarity and it raises TypeError (4.3)."""
    if _get(b, target, "active") is False:
        return
    end, epochs = _get(b, target, "end"), _get(b, b.train.id, "epochs")
    ends_early = (end < epochs - 1) if isinstance(end, int) else (end < 1.0)
    if not ends_early:
        return
    for link in b.graph.links_into(target, "constraints"):
        node = b.graph.nodes[link.src]
        params = [n for n, v in node.params.items()
                  if _dynamic(v) and b.registry[node.type].param(n).numeric]
        if params:
            b.report.warn(b.node_loc[node.id], f"expression in `{params[0]}` of a constraint whose "
                                               "target ends before the last epoch: CLIPig raises "
                                               "TypeError when it prints the final statistics; "
                                               "clipig-nodes evaluates it only while the target "
                                               "runs", node.id, params[0])

