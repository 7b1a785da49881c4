"""Augmentation of digit images for training: `Augment` draws random shifts, rotations, scales, stroke
thickening/thinning and closings per image, vectorised over the batch.

    augment = fastnn.digits.Augment(seed=0)
    x_more = np.concatenate([x, augment(x), augment(x)])

Legend: N images, H rows, W columns.
"""
import numbers

import numpy as np
from scipy import ndimage
from skimage.morphology import disk

from ..utils import check_float, check_int, make_rng

_WARP_CHUNK = 1024          # images per map_coordinates call: coordinates stay ~12 MB


def _pair(name, value, owner, low=None):
    """A number v (-> (-v, v)) or a (low, high) pair of finite numbers."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        v = check_float(name, value, low=0, owner=owner)
        return (-v, v)
    if (not isinstance(value, (tuple, list)) or len(value) != 2
            or not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in value)):
        raise ValueError(f"{owner}({name}=...) expects a number or a (low, high) pair. Received: {name}={value!r}")
    lo, hi = (check_float(name, v, low=low, owner=owner) for v in value)
    if lo > hi:
        raise ValueError(f"{owner}({name}=...) expects low <= high. Received: {name}={value!r}")
    return lo, hi


class Augment:
    """Random shifts, rotations, scales and stroke thickening/thinning for batches of digit images.

    Augment(shift=2.0, rotation=10.0, scale=(0.9, 1.1), thickness=(-0.5, 1.0), closing=0, seed=None)

    Each call draws new parameters per image: a grey closing by a disk of radius 0..closing (fills
    loops and bends as a fat brush does; 0 leaves the image), one stroke change (t > 0 blends the image
    towards its grey dilation by a 3x3 cross, t = 1: strokes ~2 px wider; t < 0 towards its erosion),
    then one affine warp (rotation in degrees about the centre, scale, shift in pixels; bilinear, zeros
    outside). The draws come from a Generator seeded with `seed`, so the same seed gives the same
    sequence of batches. Vectorised over the batch: one morphology call per closing radius, two for the
    stroke change and one map_coordinates call per 1,024 images.

    Args:
        shift: max |shift| in pixels (a number), or (low, high); the same range for rows and columns.
        rotation: max |angle| in degrees, or (low, high).
        scale: (low, high) zoom factors, > 0.
        thickness: (low, high) within [-1, 1], or a number v for (-v, v); (0, 0) turns it off.
        closing: the largest closing radius in pixels, an int >= 0 (0: no closing).
        seed: an int for reproducible draws; None draws from fastnn.set_seed's stream (or entropy).

    Call: aug(x) with x float (N,H,W) or (N,H,W,1), values normally in [0,1]; returns a new array of the
    same shape and dtype (x is not modified).
    """

    def __init__(self, shift=2.0, rotation=10.0, scale=(0.9, 1.1), thickness=(-0.5, 1.0), closing=0, seed=None):
        self.shift = _pair("shift", shift, "Augment")
        self.rotation = _pair("rotation", rotation, "Augment")
        if isinstance(scale, numbers.Real) and not isinstance(scale, bool):
            raise ValueError(f"Augment(scale=...) expects a (low, high) pair of zoom factors, e.g. (0.9, 1.1). "
                             f"Received: scale={scale!r}")
        self.scale = _pair("scale", scale, "Augment")
        if self.scale[0] <= 0:
            raise ValueError(f"Augment(scale=...) expects zoom factors > 0. Received: scale={scale!r}")
        self.thickness = _pair("thickness", thickness, "Augment", low=-1)
        if self.thickness[1] > 1:
            raise ValueError(f"Augment(thickness=...) expects values in [-1, 1]. Received: thickness={thickness!r}")
        self.closing = check_int("closing", closing, minimum=0, owner="Augment")
        self.seed = seed
        self._rng = make_rng(seed)

    def __repr__(self):
        return (f"Augment(shift={self.shift}, rotation={self.rotation}, scale={self.scale}, "
                f"thickness={self.thickness}, closing={self.closing}, seed={self.seed})")

    def __call__(self, x):
        x = np.asarray(x)
        if x.dtype.kind != "f":
            raise TypeError(f"Augment expects float images (scale uint8 by 1/255 first). Received: dtype {x.dtype}")
        squeeze = x.ndim == 4 and x.shape[3] == 1
        if not (x.ndim == 3 or squeeze) or 0 in x.shape:
            raise ValueError(f"Augment expects a non-empty batch (N,H,W) or (N,H,W,1). Received: shape {x.shape}")
        if not np.isfinite(x).all():
            raise ValueError("Augment: x contains NaN or inf values")
        images = x[..., 0] if squeeze else x
        out = self._warp(self._thicken(self._close(images)))
        return out[..., None] if squeeze else out

    def _close(self, x):
        """x (N,H,W) -> each image grey-closed by a disk of radius 0..closing (0: unchanged)."""
        if self.closing == 0:
            return x
        radius = self._rng.integers(0, self.closing + 1, len(x))
        out = x.copy()
        for r in range(1, self.closing + 1):
            chosen = np.flatnonzero(radius == r)
            if chosen.size:
                out[chosen] = ndimage.grey_closing(x[chosen], footprint=disk(r)[None])
        return out

    def _thicken(self, x):
        """x (N,H,W) -> x blended per image towards its dilation (t > 0) or erosion (t < 0)."""
        lo, hi = self.thickness
        if lo == hi == 0:
            return x
        t = self._rng.uniform(lo, hi, len(x)).astype(x.dtype)[:, None, None]
        cross = ndimage.generate_binary_structure(2, 1)[None]   # (1,3,3): no mixing across images
        out = x.copy()
        if hi > 0:
            out += np.maximum(t, 0) * (ndimage.grey_dilation(x, footprint=cross) - x)
        if lo < 0:
            out += np.minimum(t, 0) * (x - ndimage.grey_erosion(x, footprint=cross))
        return out

    def _warp(self, x):
        """x (N,H,W) -> each image rotated, scaled and shifted about its centre (one interpolation)."""
        n, h, w = x.shape
        rng = self._rng
        angle = np.deg2rad(rng.uniform(*self.rotation, n))
        zoom = rng.uniform(*self.scale, n)
        dy, dx = rng.uniform(*self.shift, n), rng.uniform(*self.shift, n)
        cy, cx = (h - 1) / 2, (w - 1) / 2
        rows, cols = np.mgrid[0:h, 0:w].astype(np.float64)
        rows -= cy
        cols -= cx
        # The images, each padded with a zero row and column, stacked into one tall 2-D image: one
        # map_coordinates call (4 taps per pixel, where a 3-D call with an image index takes 8). Sources
        # clipped to [-1, H] rows and [-1, W] columns read zeros, never a neighbouring image.
        padded = np.zeros((min(n, _WARP_CHUNK), h + 1, w + 1), x.dtype)
        out = np.empty_like(x)
        for lo in range(0, n, _WARP_CHUNK):
            hi = min(n, lo + _WARP_CHUNK)
            k = hi - lo
            padded[:k, :h, :w] = x[lo:hi]
            # output pixel p samples the input at centre + R(-angle) (p - centre - shift) / zoom
            cos = (np.cos(angle[lo:hi]) / zoom[lo:hi])[:, None, None]
            sin = (np.sin(angle[lo:hi]) / zoom[lo:hi])[:, None, None]
            ry = rows - dy[lo:hi, None, None]
            rx = cols - dx[lo:hi, None, None]
            coords = np.empty((2, k, h, w))
            np.clip(cy + cos * ry - sin * rx, -1, h, out=coords[0])
            np.clip(cx + sin * ry + cos * rx, -1, w, out=coords[1])
            coords[0] += (np.arange(k) * (h + 1))[:, None, None]
            ndimage.map_coordinates(padded[:k].reshape(k * (h + 1), w + 1), coords, order=1,
                                    mode="constant", cval=0.0, output=out[lo:hi])
        return out

