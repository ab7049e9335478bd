"""Batched image operations shared by the transforms and the constraints.

Every function takes a batch `x` [B,C,H,W] (float) and returns a new tensor on
the same device. Per-sample quantities (angles, offsets, colors, sigmas) are
tensors with a leading batch dimension, so one call handles the whole batch
with no Python loop over samples and no host sync. Shape-setting quantities
(kernel sizes, crop sizes, pad sizes) are plain Python ints.

Coordinates of the geometric helpers follow torchvision's convention: the
centre of pixel (row i, column j) sits at (j + 0.5 - W/2, i + 0.5 - H/2), so
(0, 0) is the centre of the image and y points down.

The precision-sensitive parts (blur kernels, sampling grids) run with autocast
switched off, in float32: a sampling grid in bfloat16 is off by whole pixels.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Sequence

import functools

import torch
import torch.nn.functional as F

__all__ = [
    "grayscale", "blend",
    "sanitize_kernel_size", "default_sigma", "gaussian_kernel1d", "gaussian_blur",
    "reflect_pad", "paint_border", "affine_sample", "rotation_matrix", "scale_matrix",
    "translation_matrix", "roll", "crop_window", "crop_batch", "pad", "as_batch",
    "fraction_or_pixels", "wrap_offset", "host_value", "optional_tensor", "no_autocast",
]


# --- small utilities --------------------------------------------------------------------------

@contextmanager
def no_autocast(x: torch.Tensor):
    """Switch autocast off for the device of `x` (a no-op where it is not on)."""
    with torch.autocast(device_type=x.device.type, enabled=False):
        yield


def _fp32(x: torch.Tensor) -> torch.Tensor:
    return x if x.dtype == torch.float32 else x.float()


@functools.lru_cache(maxsize=256)
def host_constant(value, device: torch.device) -> torch.Tensor:
    """A float32 tensor of host numbers, made once per value and device: a step captured as a
    CUDA graph then reads a tensor made before the capture instead of copying from the host."""
    return torch.as_tensor(value, dtype=torch.float32).to(device, non_blocking=True)


def as_batch(value, x: torch.Tensor, n: int) -> torch.Tensor:
    """`value` (a number, a sequence of n numbers, a tensor [n] or [B, n]) as a float32
    tensor [B or 1, n] on the device of `x`. Python values travel with a non-blocking copy
    (torch.tensor(..., device="cuda") would count as a synchronising operation)."""
    if isinstance(value, torch.Tensor):
        t = value.to(x.device, torch.float32)
    else:
        t = host_constant(tuple(value) if isinstance(value, (list, tuple)) else float(value),
                          x.device)
    if t.dim() == 0:
        t = t.expand(n)
    if t.dim() == 1:
        t = t.unsqueeze(0)
    return t


# --- color ------------------------------------------------------------------------------------

def grayscale(x: torch.Tensor) -> torch.Tensor:
    """torchvision's rgb_to_grayscale: 0.2989 R + 0.587 G + 0.114 B, as [B,1,H,W]."""
    return 0.2989 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]


def blend(x: torch.Tensor, other: torch.Tensor, factor) -> torch.Tensor:
    """torchvision's _blend: factor * x + (1 - factor) * other, clamped to [0, 1]."""
    return (factor * x + (1.0 - factor) * other).clamp(0.0, 1.0)


# --- gaussian blur ----------------------------------------------------------------------------

def sanitize_kernel_size(k) -> int:
    """CLIPig's rule: at least 1, even sizes grow to the next odd one."""
    k = max(int(k), 1)
    return k + 1 if k % 2 == 0 else k


def default_sigma(k: int) -> float:
    """torchvision's sigma for a kernel size k: 0.3 * ((k - 1) / 2 - 1) + 0.8."""
    return 0.3 * ((k - 1) * 0.5 - 1) + 0.8


def gaussian_kernel1d(k: int, sigma: torch.Tensor) -> torch.Tensor:
    """Normalised gaussian kernels [N, k] for the sigmas [N] (as torchvision builds them)."""
    half = (k - 1) * 0.5
    grid = torch.linspace(-half, half, k, device=sigma.device, dtype=torch.float32)
    pdf = torch.exp(-0.5 * (grid / sigma.unsqueeze(-1)) ** 2)
    return pdf / pdf.sum(-1, keepdim=True)


def _reflect_index(n: int, pad: int, device) -> torch.Tensor:
    """Source indices of a reflect ("mirror without repeating the edge") padding of any size."""
    index = torch.arange(-pad, n + pad, device=device)
    if n == 1:
        return torch.zeros_like(index)
    period = 2 * (n - 1)
    index = index.remainder(period)
    return torch.where(index >= n, period - index, index)


def reflect_pad(x: torch.Tensor, px: int, py: int) -> torch.Tensor:
    """Reflect padding by px columns and py rows on each side, also where the padding is as
    large as the image or larger (torch's own reflect padding refuses that)."""
    H, W = x.shape[-2:]
    if px < W and py < H:
        return F.pad(x, (px, px, py, py), mode="reflect") if px or py else x
    x = x.index_select(-1, _reflect_index(W, px, x.device))
    return x.index_select(-2, _reflect_index(H, py, x.device))


def gaussian_blur(x: torch.Tensor, kernel_size: Sequence[int],
                  sigma: Sequence[float] | torch.Tensor | None = None) -> torch.Tensor:
    """Gaussian blur of x [B,C,H,W], as torchvision.transforms.functional.gaussian_blur.

    kernel_size: (kx, ky) ints; each is sanitised (minimum 1, even -> next odd).
    sigma: None (per axis 0.3 * ((k - 1) / 2 - 1) + 0.8), a pair (sx, sy) of floats, or a
    tensor [2] or [B, 2] (a sigma per sample). Sigmas are clamped to >= 1e-4.
    Reflect padding; separable (one horizontal, one vertical depthwise convolution).
    Differentiable w.r.t. x (and a tensor sigma). Runs in float32.
    """
    kx, ky = (sanitize_kernel_size(k) for k in kernel_size)
    if sigma is None:
        sigma = (default_sigma(kx), default_sigma(ky))
    B, C, H, W = x.shape
    with no_autocast(x):
        x = _fp32(x)
        s = as_batch(sigma, x, 2)
        if s.shape[0] > 1 and s.stride(0) == 0:             # one sigma broadcast to the batch
            s = s[:1]
        s = s.clamp_min(1e-4)                               # [1 or B, 2]
        wx = gaussian_kernel1d(kx, s[:, 0])                 # [N, kx]
        wy = gaussian_kernel1d(ky, s[:, 1])                 # [N, ky]
        x = reflect_pad(x, kx // 2, ky // 2)
        if s.shape[0] == 1:
            groups, out = C, x
            wx, wy = wx.expand(C, kx), wy.expand(C, ky)
        else:   # a kernel per sample: fold the batch into the channels
            if s.shape[0] != B:
                raise ValueError(f"gaussian_blur: {s.shape[0]} sigmas for a batch of {B}")
            groups, out = B * C, x.reshape(1, B * C, *x.shape[-2:])
            wx, wy = wx.repeat_interleave(C, 0), wy.repeat_interleave(C, 0)
        if kx > 1:
            out = F.conv2d(out, wx.reshape(groups, 1, 1, kx), groups=groups)
        if ky > 1:
            out = F.conv2d(out, wy.reshape(groups, 1, ky, 1), groups=groups)
        return out.reshape(B, C, H, W)


# --- painting ---------------------------------------------------------------------------------

def paint_border(x: torch.Tensor, size_xy: Sequence[int], color) -> torch.Tensor:
    """x with the top and bottom min(size_y, H) rows and the left and right min(size_x, W)
    columns set to `color` (3 numbers, a tensor [3] or a tensor [B, 3]: one color per sample).
    Sizes of 0 (or below) paint nothing. The gradient reaches the unpainted pixels."""
    H, W = x.shape[-2:]
    sx = min(max(int(size_xy[0]), 0), W)
    sy = min(max(int(size_xy[1]), 0), H)
    if sx == 0 and sy == 0:
        return x
    rows = torch.arange(H, device=x.device).unsqueeze(1)
    cols = torch.arange(W, device=x.device).unsqueeze(0)
    mask = (rows < sy) | (rows >= H - sy) | (cols < sx) | (cols >= W - sx)     # [H, W]
    color = as_batch(color, x, x.shape[1]).to(x.dtype)[:, :, None, None]
    return torch.where(mask, color, x)


# --- geometry ---------------------------------------------------------------------------------

def rotation_matrix(degrees: torch.Tensor, center: torch.Tensor | None = None) -> torch.Tensor:
    """Output -> input matrices [B,2,3] of a counter-clockwise rotation (as seen on screen) by
    `degrees` [B] about `center` [B,2] (centred pixel coordinates; None: the image centre).
    The same matrix as torchvision's rotate."""
    with no_autocast(degrees):
        rad = torch.deg2rad(_fp32(degrees))
        cos, sin = torch.cos(rad), torch.sin(rad)
        if center is None:
            tx = ty = torch.zeros_like(cos)
        else:   # in = R (out - c) + c, written out (a matmul would run in bf16 under autocast)
            cx, cy = _fp32(center[..., 0]), _fp32(center[..., 1])
            tx = cx - (cos * cx - sin * cy)
            ty = cy - (sin * cx + cos * cy)
        return torch.stack([torch.stack([cos, -sin, tx], -1),
                            torch.stack([sin, cos, ty], -1)], -2)


def scale_matrix(scale: torch.Tensor) -> torch.Tensor:
    """Output -> input matrices [B,2,3] of a zoom by `scale` [B] about the image centre
    (2 = twice as large)."""
    inv = 1.0 / _fp32(scale)
    zero = torch.zeros_like(inv)
    return torch.stack([torch.stack([inv, zero, zero], -1),
                        torch.stack([zero, inv, zero], -1)], -2)


def translation_matrix(dx: torch.Tensor, dy: torch.Tensor) -> torch.Tensor:
    """Output -> input matrices [B,2,3] of a move by (dx, dy) [B] pixels (right, down)."""
    dx, dy = _fp32(dx), _fp32(dy)
    one, zero = torch.ones_like(dx), torch.zeros_like(dx)
    return torch.stack([torch.stack([one, zero, -dx], -1),
                        torch.stack([zero, one, -dy], -1)], -2)


def affine_sample(x: torch.Tensor, matrix: torch.Tensor, mode: str = "nearest") -> torch.Tensor:
    """Resample x [B,C,H,W] through per-sample output -> input matrices [B,2,3] in centred
    pixel coordinates: one affine_grid and one grid_sample for the batch, zero (black) fill,
    same size. Matches torchvision's rotate/affine on tensors. On Warped views (nearest
    mode) only the pixel map is composed; nothing is sampled yet."""
    B, C, H, W = x.shape
    if isinstance(x, Warped):
        if mode != "nearest":
            return affine_sample(x.tensor(), matrix, mode)
        m = matrix.float().expand(B, 2, 3)[:, :, :, None, None]       # [B,2,3,1,1]

        def where_from(rows, cols):
            u = cols.float() + (0.5 - W / 2)                          # centred coordinates
            v = rows.float() + (0.5 - H / 2)
            src_u = m[:, 0, 0] * u + m[:, 0, 1] * v + m[:, 0, 2]
            src_v = m[:, 1, 0] * u + m[:, 1, 1] * v + m[:, 1, 2]
            # grid_sample's nearest pixel: round half to even of the unnormalised coordinate
            return torch.round(src_v + (H / 2 - 0.5)).long(), torch.round(src_u + (W / 2 - 0.5)).long()
        return x.then(where_from, (H, W))
    with no_autocast(x):
        x = _fp32(x)
        m = _fp32(matrix).expand(B, 2, 3)
        # centred pixels -> normalised coordinates (align_corners=False): divide by (W/2, H/2)
        theta = torch.stack([
            torch.stack([m[:, 0, 0], m[:, 0, 1] * (H / W), m[:, 0, 2] * (2.0 / W)], -1),
            torch.stack([m[:, 1, 0] * (W / H), m[:, 1, 1], m[:, 1, 2] * (2.0 / H)], -1),
        ], -2)
        grid = F.affine_grid(theta, [B, C, H, W], align_corners=False)
        return F.grid_sample(x, grid, mode=mode, padding_mode="zeros", align_corners=False)


def roll(x: torch.Tensor, dx: torch.Tensor, dy: torch.Tensor) -> torch.Tensor:
    """Wrap-around roll by per-sample integer offsets dx, dy [B] (any int dtype, any sign):
    content moves right/down; what leaves one side re-enters on the other."""
    B, C, H, W = x.shape
    cols = (torch.arange(W, device=x.device) - dx.long().reshape(-1, 1)).remainder(W)   # [B,W]
    rows = (torch.arange(H, device=x.device) - dy.long().reshape(-1, 1)).remainder(H)   # [B,H]
    if isinstance(x, Warped):
        sx, sy = dx.long().view(-1, 1, 1), dy.long().view(-1, 1, 1)
        return x.then(lambda r, c: ((r - sy).remainder(H), (c - sx).remainder(W)), (H, W))
    x = x.gather(3, cols[:, None, None, :].expand(B, C, H, W))
    return x.gather(2, rows[:, None, :, None].expand(B, C, H, W))


# --- crops and pads ---------------------------------------------------------------------------

def crop_window(x: torch.Tensor, left: int, top: int, width: int, height: int) -> torch.Tensor:
    """The window [left, left + width) x [top, top + height) of x (the same for every
    sample); the parts outside the image are zeros (black)."""
    if width < 1 or height < 1:
        raise ValueError(f"a crop of {width} x {height} pixels is empty")
    B, C, H, W = x.shape
    if isinstance(x, Warped):
        return x.then(lambda r, c: (r + top, c + left), (height, width))
    x0, x1 = max(left, 0), min(left + width, W)
    y0, y1 = max(top, 0), min(top + height, H)
    if x1 <= x0 or y1 <= y0:
        return x.new_zeros(B, C, height, width)
    piece = x[..., y0:y1, x0:x1]
    pads = (x0 - left, left + width - x1, y0 - top, top + height - y1)
    return F.pad(piece, pads) if any(pads) else piece


def crop_batch(x: torch.Tensor, left: torch.Tensor, top: torch.Tensor,
               width: int, height: int) -> torch.Tensor:
    """A width x height window per sample at per-sample positions left, top [B] (ints,
    inside the image)."""
    B, C, H, W = x.shape
    cols = torch.arange(width, device=x.device) + left.long().reshape(-1, 1)    # [B, w]
    rows = torch.arange(height, device=x.device) + top.long().reshape(-1, 1)    # [B, h]
    if isinstance(x, Warped):
        sx, sy = left.long().view(-1, 1, 1), top.long().view(-1, 1, 1)
        return x.then(lambda r, c: (r + sy, c + sx), (height, width))
    x = x.gather(2, rows[:, None, :, None].expand(B, C, height, W))
    return x.gather(3, cols[:, None, None, :].expand(B, C, height, width))


def pad(x: torch.Tensor, size_x: int, size_y: int, mode: str = "fill", color=(0.0, 0.0, 0.0)):
    """Add size_x columns left and right and size_y rows top and bottom (negative sizes count
    as 0). mode fill: `color` (3 numbers or a tensor [3] / [B,3]); edge: repeat the edge
    pixels; wrap: copy from the opposite side (any size, also larger than the image)."""
    sx, sy = max(int(size_x), 0), max(int(size_y), 0)
    if sx == 0 and sy == 0:
        return x
    if mode == "fill":
        return paint_border(F.pad(x, (sx, sx, sy, sy)), (sx, sy), color)
    if mode == "edge":
        return F.pad(x, (sx, sx, sy, sy), mode="replicate")
    if mode == "wrap":
        H, W = x.shape[-2:]
        cols = (torch.arange(-sx, W + sx, device=x.device)).remainder(W)
        rows = (torch.arange(-sy, H + sy, device=x.device)).remainder(H)
        return x.index_select(-1, cols).index_select(-2, rows)
    raise ValueError(f"unknown pad mode '{mode}' (fill, edge or wrap)")


def fraction_or_pixels(value: float, size: int) -> int:
    """CLIPig's rule for crop values: below 1 (also 0 and negatives) a fraction of `size`,
    otherwise pixels; truncated to int. (Shift uses |v| < 1 instead: see wrap_offset.)"""
    return int(value * size) if value < 1 else int(value)


def host_value(p, name: str):
    """p.value(name), with a clear error where a required param is unset."""
    value = p.value(name)
    if value is None:
        raise ValueError(f"{p.stage.id}: param '{name}' is not set")
    return value


def optional_tensor(p, name: str):
    """p.tensor(name), or None where the param is unset (an optional sigma)."""
    return None if p.stage.params.get(name) is None else p.tensor(name)


def wrap_offset(value: torch.Tensor, size: int) -> torch.Tensor:
    """CLIPig's shift rule on a tensor of offsets: |v| < 1 is a fraction of `size`, otherwise
    pixels; truncated to int and taken modulo `size` (0 <= result < size), as int64."""
    value = _fp32(value)
    pixels = torch.where(value.abs() < 1, value * size, value)
    return pixels.trunc().long().remainder(size)


# --- fused geometry -----------------------------------------------------------------------------

class Warped:
    """Views not sampled yet: a batch of images defined by where each pixel comes from.

    A run of geometric transforms (shift, rotate, scale, translate, crops) only says,
    stage by stage, from which pixel of its input each of its output pixels comes
    (`then`). Nothing is computed until `tensor()`: it starts from the final output
    pixels, walks the stages backwards to find their source pixels, and reads the
    pixels once. For nearest-neighbour stages this gives exactly what running them
    one by one gives, at the cost of the (usually small) output, and its gradient is
    a gather's, which CUDA computes deterministically (unlike grid_sample's).
    """

    def __init__(self, source: torch.Tensor, batch: int, stages=(), size=None):
        self.source = source      # [1 or batch, C, Hs, Ws]
        self.batch = batch
        self.stages = tuple(stages)   # (where_from, input size (h, w)), in order
        self.size = tuple(size or source.shape[-2:])   # (h, w) of the current output

    @classmethod
    def of(cls, x: torch.Tensor, batch: int) -> "Warped":
        """x ([1,C,H,W] broadcast to the batch, or [batch,C,H,W]) with nothing done yet."""
        return cls(x, batch)

    @property
    def shape(self) -> torch.Size:
        return torch.Size((self.batch, self.source.shape[1], *self.size))

    @property
    def device(self) -> torch.device:
        return self.source.device

    @property
    def dtype(self) -> torch.dtype:
        return self.source.dtype

    def then(self, where_from, out_size) -> "Warped":
        """Add a stage of output size (h, w); where_from(rows, cols) maps its output pixels
        ([B,h,w] int64 tensors) to the pixels of its input they show. Positions outside
        the input show black."""
        return Warped(self.source, self.batch, self.stages + ((where_from, self.size),),
                      out_size)

    def tensor(self) -> torch.Tensor:
        """Read the pixels: [B, C, h, w]."""
        S, C, Hs, Ws = self.source.shape
        B, (h, w) = self.batch, self.size
        device = self.source.device
        rows = torch.arange(h, device=device).view(1, h, 1).expand(B, h, w)
        cols = torch.arange(w, device=device).view(1, 1, w).expand(B, h, w)
        valid = None
        for where_from, (in_h, in_w) in reversed(self.stages):
            rows, cols = where_from(rows, cols)
            inside = (rows >= 0) & (rows < in_h) & (cols >= 0) & (cols < in_w)
            valid = inside if valid is None else valid & inside
            rows, cols = rows.clamp(0, in_h - 1), cols.clamp(0, in_w - 1)
        index = (rows * Ws + cols).reshape(B, h * w)
        flat = self.source.reshape(S, C, Hs * Ws)
        if S == 1:
            out = flat[0].index_select(1, index.reshape(-1)).view(C, B, h, w).transpose(0, 1)
        else:
            out = flat.gather(2, index.view(B, 1, h * w).expand(B, C, h * w)).view(B, C, h, w)
        return out if valid is None else out * valid[:, None].to(out.dtype)


def materialize(x):
    """A tensor from x, which may be Warped views."""
    return x.tensor() if isinstance(x, Warped) else x


# --- resizing as matrix products ----------------------------------------------------------------

_resize_weights: dict = {}


def resize_weights(n_in: int, n_out: int, mode: str, antialias: bool, device) -> torch.Tensor:
    """[n_out, n_in] weights of torch's 1-D resize (F.interpolate applied to the identity),
    cached per size, mode and device."""
    key = (n_in, n_out, mode, antialias, str(device))
    if key not in _resize_weights:
        eye = torch.eye(n_in, dtype=torch.float32).view(1, 1, n_in, n_in)
        rows = F.interpolate(eye, size=(n_in, n_out), mode=mode, align_corners=False,
                             antialias=antialias)[0, 0]        # row i: e_i resized
        _resize_weights[key] = rows.t().contiguous().to(device)
    return _resize_weights[key]


def resize(x: torch.Tensor, size_hw: tuple[int, int], mode: str = "bicubic",
           antialias: bool = True) -> torch.Tensor:
    """Resize [B,C,H,W] to (h, w) exactly as F.interpolate does (the separable bilinear and
    bicubic filters), but as two matrix products: fast on GPUs and, unlike interpolate's
    backward on CUDA, deterministic."""
    h, w = size_hw
    H, W = x.shape[-2:]
    if (H, W) == (h, w):
        return x
    with no_autocast(x):
        x = _fp32(x)
        rows = resize_weights(H, h, mode, antialias, x.device)   # [h, H]
        cols = resize_weights(W, w, mode, antialias, x.device)   # [w, W]
        return torch.matmul(torch.matmul(rows, x), cols.t())
