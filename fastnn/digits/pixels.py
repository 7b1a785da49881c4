"""Reading a drawing's pixels: a path, PNG bytes, a PIL Image or an array, grey or RGB(A), any size, any
mode Pillow decodes (1-bit to 32-bit integer and float grey, palette, CMYK, YCbCr, LAB, alpha; the first
frame of an animation) -> luminance and ink in [0,1]; and the array helpers the transforms share.

A transparent background is composited onto the colour that contrasts with the ink. The median colour of
the border is the background; ink is the difference from it, so dark-on-light and light-on-dark give the
same result; a canvas with no ink raises NoInkError (a ValueError, so that a caller such as the drawing
page can tell "draw something" from a bad file).

Legend: H rows, W columns, C channels.
"""
import io
import os

import numpy as np
from PIL import Image, UnidentifiedImageError

MNIST_SIZE = 28             # the side of the field MNIST digits are drawn in
_MIN_CONTRAST = 0.1         # ink must differ from the background by this much (of full scale)
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)   # ITU-R 601-2, as Pillow's convert("L")


class NoInkError(ValueError):
    """to_mnist found no ink: every pixel is (nearly) the background colour, as on a blank canvas."""


# The full scales a grey image of a mode that does not declare its own ("I": 32-bit integers, "F": floats)
# is read against: the smallest one that holds its brightest pixel. Pillow opens 8-bit images converted to
# "I", and 16-bit PNGs, as "I"; floats are usually 0..1 or 0..255.
_FULL_SCALES = {"I": (255, 65535, 2**31 - 1), "F": (1.0, 255.0, 65535.0)}


def _from_pil(img, name):
    """A PIL image (any mode Pillow reads; the first frame of an animation) -> an array (H,W) or (H,W,C)
    that as_float understands."""
    mode = img.mode
    if mode in ("1", "L", "RGB", "RGBA"):
        return np.asarray(img)
    if mode.startswith("I;16"):   # 16-bit grey, declared as such
        return np.asarray(img).astype(np.float32) / 65535
    if mode in _FULL_SCALES:
        return _deep_grey(np.asarray(img), mode, name)
    has_alpha = "A" in mode or "a" in mode or "transparency" in img.info
    return np.asarray(img.convert("RGBA" if has_alpha else "RGB"))


def _deep_grey(arr, mode, name):
    """Pixels of a 32-bit integer ("I") or float ("F") image -> float32 in [0,1]: divided by the smallest
    of the mode's _FULL_SCALES that holds the brightest pixel; values no full scale holds (negative, or
    beyond the largest) are stretched from the image's own minimum (0) to its maximum (1)."""
    values = _finite(arr.astype(np.float64), f"{name} (a mode {mode} image)")
    if values.size == 0:
        return values.astype(np.float32)
    lo, hi = float(values.min()), float(values.max())
    if lo >= 0:
        full = next((f for f in _FULL_SCALES[mode] if hi <= f), None)
        if full is not None:
            return (values / full).astype(np.float32)
    return ((values - lo) / (hi - lo) if hi > lo else np.zeros_like(values)).astype(np.float32)


def _load(image, fn):
    """`image` (a path, encoded file bytes, a PIL Image or an array-like) -> an array, not yet checked."""
    if isinstance(image, (str, os.PathLike, bytes, bytearray)):
        encoded = isinstance(image, (bytes, bytearray))   # a file's content, e.g. a PNG a browser sent
        what = f"{len(image)} bytes" if encoded else repr(os.fspath(image))
        try:
            with Image.open(io.BytesIO(image) if encoded else image) as img:
                img.load()
                return _from_pil(img, f"{fn}(image=...)")
        except FileNotFoundError:
            raise FileNotFoundError(f"{fn}(image=...): no such file. Received: image={what}") from None
        except Image.DecompressionBombError as exc:   # an Exception of its own, neither OSError nor ValueError
            raise ValueError(f"{fn}(image=...) expects an image of at most {Image.MAX_IMAGE_PIXELS:,} pixels "
                             f"(Pillow's limit against decompression bombs). Received: {what} "
                             f"({' '.join(str(exc).split())})") from None
        except (UnidentifiedImageError, OSError) as exc:
            raise ValueError(f"{fn}(image=...) expects an image file Pillow can read. Received: "
                             f"{what} ({type(exc).__name__}: {exc})") from None
    if isinstance(image, Image.Image):
        return _from_pil(image, f"{fn}(image=...)")
    if image is None:
        raise TypeError(f"{fn}(image=...) expects an array, a PIL Image, a path or file bytes. Received: None")
    return np.asarray(image)


def _finite(values, name):
    """values, after checking that every one is finite (else a ValueError naming `name`)."""
    finite = np.isfinite(values)
    if not finite.all():
        raise ValueError(f"{name} contains {values.size - np.count_nonzero(finite)} NaN or inf values")
    return values


def as_float(arr, name):
    """Pixel values -> float32 in [0,1]: bool, uint8 (/255), uint16 (/65535), other ints in 0..255,
    floats already in [0,1]. Anything else raises, naming `name`."""
    kind = arr.dtype.kind
    if kind == "b":
        return arr.astype(np.float32)
    if kind not in "uif":
        raise TypeError(f"{name} expects numeric pixels (bool, integer or float). Received: dtype {arr.dtype}")
    if kind == "f":
        out = _finite(arr.astype(np.float32, copy=False), name)
        lo, hi = float(out.min()), float(out.max())
        if lo < 0 or hi > 1:
            raise ValueError(f"{name} expects float pixels in [0, 1] (divide 0..255 values by 255). "
                             f"Received: range [{lo:g}, {hi:g}]")
        return out
    if arr.dtype == np.uint16:
        return arr.astype(np.float32) / 65535
    lo, hi = int(arr.min()), int(arr.max())
    if lo < 0 or hi > 255:
        raise ValueError(f"{name} expects integer pixels in 0..255 (or a uint16 array). "
                         f"Received: dtype {arr.dtype}, range [{lo}, {hi}]")
    return arr.astype(np.float32) / 255


def luminance(image, fn):
    """`image` -> float32 (H,W) luminance in [0,1], alpha composited onto the colour contrasting with
    the ink (black strokes on a transparent canvas land on white, white strokes on black). `fn` names
    the caller in error messages: "<fn>(image=...) expects ..."."""
    arr = _load(image, fn)
    name = f"{fn}(image=...)"
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (2, 3, 4)):
        raise ValueError(f"{name} expects a grey (H,W) or (H,W,1), grey+alpha (H,W,2), RGB (H,W,3) or RGBA "
                         f"(H,W,4) image. Received: shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} expects an image with at least one pixel. Received: shape {arr.shape}")
    arr = as_float(arr, name)
    if arr.ndim == 2:
        return arr
    channels = arr.shape[2]
    colour = arr[:, :, :channels - 1 if channels in (2, 4) else channels]
    lum = colour[:, :, 0] if colour.shape[2] == 1 else colour @ _LUMA
    if channels == 3:
        return lum
    alpha = arr[:, :, -1]
    if alpha.min() >= 1:
        return lum
    covered = float(alpha.sum())
    ink_lum = float((alpha * lum).sum()) / covered if covered > 0 else 0.0
    background = 1.0 if ink_lum < 0.5 else 0.0
    return alpha * lum + (1 - alpha) * background


def border_median(lum):
    """The median of the outermost rows and columns of (H,W): the background's colour."""
    return float(np.median(np.concatenate([lum[0], lum[-1], lum[1:-1, 0], lum[1:-1, -1]])))


def ink(image, fn):
    """`image` -> float32 (H,W) ink in [0,1], 1 where the ink is strongest, 0 on the background."""
    lum = luminance(image, fn)
    background = border_median(lum)
    out = background - lum if background >= 0.5 else lum - background
    strongest = float(out.max())
    if strongest < _MIN_CONTRAST:
        raise NoInkError(f"{fn}(image=...): no ink found: every pixel is within {strongest:.3f} of the "
                         f"background colour {background:.3f} (ink must differ by at least {_MIN_CONTRAST}); "
                         f"the canvas is empty")
    return np.clip(out / strongest, 0, 1, out=out)


def whole_canvas(image, fn, resample):
    """`image` -> float32 (28,28) in [0,1], ink bright: grey, inverted when the border is light, the whole
    canvas resized to 28x28 with the Pillow filter `resample` (no cropping or centring). A blank canvas
    gives zeros."""
    lum = luminance(image, fn)
    if border_median(lum) >= 0.5:
        lum = 1 - lum
    return np.clip(resize(lum, (MNIST_SIZE, MNIST_SIZE), resample), 0, 1)


def bbox(mask):
    """(row0, row1, col0, col1), half-open, of the True pixels of a non-empty 2-D mask."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    return rows[0], rows[-1] + 1, cols[0], cols[-1] + 1


def resize(img, shape, resample):
    """float32 (H,W) -> float32 `shape` (rows, cols) with Pillow (anti-aliased when shrinking)."""
    out = Image.fromarray(np.ascontiguousarray(img, np.float32), mode="F").resize((shape[1], shape[0]), resample)
    return np.asarray(out)
