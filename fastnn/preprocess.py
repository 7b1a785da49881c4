"""From a person's drawing to what an MNIST model saw in training, and augmentation for training.

    x = fastnn.preprocess.to_mnist("drawing.png")            # float32 (28,28) in [0,1], ink bright on black
    probs = model.predict(x[None, :, :, None])

MNIST digits were made thus (LeCun et al.): size-normalised to fit a 20x20 box keeping the aspect ratio,
anti-aliased (hence grey levels), then placed in a 28x28 field with their centre of mass at the centre.
A model trained on them expects that, and also MNIST's pen: strokes about 2.5 px wide in the 20 px box.
A drawing app gives none of it: dark ink on white, any canvas size, any brush. `to_mnist` does each step:

1. pixels: a path, PNG bytes, a PIL Image or an array, grey or RGB(A), any size -> luminance in
   [0,1]; a transparent background is composited onto the colour that contrasts with the ink;
2. polarity: the median colour of the border is the background; ink is the difference from it, so
   dark-on-light and light-on-dark give the same result; a canvas with no ink raises NoInkError (a
   ValueError, so that a caller such as the drawing page can tell "draw something" from a bad file);
3. crop to the ink's bounding box, at a working resolution of 64..256 px on the longer side;
4. stroke width: the skeleton (skimage) redrawn at MNIST's width relative to the digit's size, united
   with the ink eroded by the excess width (a distance-transform threshold), so that a blob (a loop a
   fat brush filled in) stays a blob, as in MNIST's heavy-pen digits, instead of becoming a line;
5. scale the longer side to 20 px keeping the aspect ratio, anti-aliased (Pillow LANCZOS);
6. place in 28x28 with the centre of mass at (14, 14), where MNIST digits have it.

`naive_to_mnist` is the pipeline people write first (grey, invert, resize the canvas to 28x28): it
fails on fat strokes, and `benches/bench_strokes.py` measures by how much.

For training, `Augment` draws random shifts, rotations, scales, stroke thickening/thinning and
closings per image, vectorised over the batch; `augmented_epochs` trains with a fresh draw each epoch;
`fat_brush` makes what to_mnist reads when a digit is drawn with a fat brush (loops filled in), to mix
into training: a model that never saw those blobs misreads them.

`render_stroke_digit` redraws an MNIST digit as a drawing app would, at a chosen brush width, for tests
and the benchmark.

Legend: N images, H rows, W columns; MNIST images are (28,28), float in [0,1] or uint8.
"""
import io
import math
import numbers
import os

import numpy as np
from PIL import Image, UnidentifiedImageError
from scipy import ndimage
from skimage.measure import block_reduce
from skimage.morphology import disk, skeletonize

from .callbacks import Callback, History
from .utils import check_float, check_int, make_rng

__all__ = ["Augment", "NoInkError", "augmented_epochs", "fat_brush", "naive_to_mnist", "render_stroke_digit",
           "to_mnist"]

MNIST_SIZE = 28             # the field
MNIST_BOX = 20              # the box the digit's longer side is scaled to
MNIST_CENTER = (14.0, 14.0)  # mean centre of mass (row, col) of the mnist-10k digits: 14.00 +- 0.29
# MNIST's pen: stroke width (twice the median distance-to-background along the skeleton) over the longer
# side of the ink's bounding box; median over mnist-10k's first 2,000 training digits thresholded at half
# intensity at 4x (quartiles 0.10 and 0.15). Thinner and thicker strokes are redrawn to this.
STROKE_RATIO = 0.125
# The ink's bounding box is resampled so that its longer side is within these bounds: enough pixels for
# a clean skeleton of a small drawing, few enough that a big photo costs no more than a 256 px crop.
_WORK_MIN, _WORK_MAX = 64, 256
_MIN_CONTRAST = 0.1         # ink must differ from the background by this much (of full scale)
_BRUSH_PERCENTILE = 10      # of the distance to the background along the skeleton: the brush's radius
_INK_LEVEL = 0.5            # a pixel is ink when it has at least this fraction of the strongest ink
_WARP_CHUNK = 1024          # images per map_coordinates call: coordinates stay ~12 MB
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)   # ITU-R 601-2, as Pillow's convert("L")


class NoInkError(ValueError):
    """to_mnist found no ink: every pixel is (nearly) the background colour, as on a blank canvas."""


# ----------------------------------------------------------------------------------------------------
# Reading pixels

def _from_pil(img, name):
    """A PIL image -> an array (H,W) or (H,W,C) that _as_float understands."""
    mode = img.mode
    if mode in ("1", "L", "F", "RGB", "RGBA"):
        return np.asarray(img)
    if mode.startswith("I"):   # 16/32-bit grey: 16-bit PNGs open as "I;16" or "I"
        arr = np.asarray(img)
        if arr.size and (arr.min() < 0 or arr.max() > 65535):
            raise ValueError(f"{name} expects a {mode} image with values in 0..65535. Received: range "
                             f"[{arr.min()}, {arr.max()}]")
        return arr.astype(np.uint16)
    has_alpha = "A" in mode or "a" in mode or "transparency" in img.info
    return np.asarray(img.convert("RGBA" if has_alpha else "RGB"))


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
        except (UnidentifiedImageError, OSError) as exc:
            raise ValueError(f"{fn}(image=...) expects an image file Pillow can read. Received: "
                             f"{what} ({type(exc).__name__}: {exc})") from None
    if isinstance(image, Image.Image):
        return _from_pil(image, f"{fn}(image=...)")
    if image is None:
        raise TypeError(f"{fn}(image=...) expects an array, a PIL Image, a path or file bytes. Received: None")
    return np.asarray(image)


def _as_float(arr, name):
    """Pixel values -> float32 in [0,1]: bool, uint8 (/255), uint16 (/65535), other ints in 0..255,
    floats already in [0,1]. Anything else raises, naming `name`."""
    kind = arr.dtype.kind
    if kind == "b":
        return arr.astype(np.float32)
    if kind not in "uif":
        raise TypeError(f"{name} expects numeric pixels (bool, integer or float). Received: dtype {arr.dtype}")
    if kind == "f":
        out = arr.astype(np.float32, copy=False)
        finite = np.isfinite(out)
        if not finite.all():
            raise ValueError(f"{name} contains {out.size - np.count_nonzero(finite)} NaN or inf values")
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


def _luminance(image, fn):
    """`image` -> float32 (H,W) luminance in [0,1], alpha composited onto the colour contrasting with
    the ink (black strokes on a transparent canvas land on white, white strokes on black)."""
    arr = _load(image, fn)
    name = f"{fn}(image=...)"
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (2, 3, 4)):
        raise ValueError(f"{name} expects a grey (H,W) or (H,W,1), grey+alpha (H,W,2), RGB (H,W,3) or RGBA "
                         f"(H,W,4) image. Received: shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} expects an image with at least one pixel. Received: shape {arr.shape}")
    arr = _as_float(arr, name)
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


def _border_median(lum):
    return float(np.median(np.concatenate([lum[0], lum[-1], lum[1:-1, 0], lum[1:-1, -1]])))


def _ink(image, fn):
    """`image` -> float32 (H,W) ink in [0,1], 1 where the ink is strongest, 0 on the background."""
    lum = _luminance(image, fn)
    background = _border_median(lum)
    ink = background - lum if background >= 0.5 else lum - background
    strongest = float(ink.max())
    if strongest < _MIN_CONTRAST:
        raise NoInkError(f"{fn}(image=...): no ink found: every pixel is within {strongest:.3f} of the "
                         f"background colour {background:.3f} (ink must differ by at least {_MIN_CONTRAST}); "
                         f"the canvas is empty")
    return np.clip(ink / strongest, 0, 1, out=ink)


# ----------------------------------------------------------------------------------------------------
# Geometry helpers

def _bbox(mask):
    """(row0, row1, col0, col1), half-open, of the True pixels of a non-empty 2-D mask."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    return rows[0], rows[-1] + 1, cols[0], cols[-1] + 1


def _resize(img, shape, resample):
    """float32 (H,W) -> float32 `shape` (rows, cols) with Pillow (anti-aliased when shrinking)."""
    out = Image.fromarray(np.ascontiguousarray(img, np.float32), mode="F").resize((shape[1], shape[0]), resample)
    return np.asarray(out)


def _work_mask(ink):
    """The ink's bounding box as a bool mask at the working resolution, padded by 1 px of background
    (the distance transform counts only pixels inside the array as background)."""
    r0, r1, c0, c1 = _bbox(ink >= _INK_LEVEL)
    longer = max(r1 - r0, c1 - c0)
    if longer < _WORK_MIN:
        # enlarge the grey ink, then threshold: edges stay smooth, thin strokes stay connected
        k = _WORK_MIN / longer
        crop = np.pad(ink[r0:r1, c0:c1], 1)
        big = _resize(crop, (max(1, round(crop.shape[0] * k)), max(1, round(crop.shape[1] * k))),
                      Image.BILINEAR)
        mask = big >= _INK_LEVEL
        if not mask.any():   # a lone pixel can fall below the level once interpolated
            mask = big >= big.max() * _INK_LEVEL
        r0, r1, c0, c1 = _bbox(mask)
        return np.pad(mask[r0:r1, c0:c1], 1)
    mask = ink[r0:r1, c0:c1] >= _INK_LEVEL
    if longer > _WORK_MAX:
        # block maximum: a stroke thinner than a block survives (it thickens by at most one block)
        f = math.ceil(longer / _WORK_MAX)
        mask = block_reduce(mask, (f, f), np.max)
    return np.pad(mask, 1)


def _normalize_stroke(mask):
    """bool (H,W) ink -> bool ink drawn with MNIST's stroke width relative to the ink's size, padded so
    the redrawn stroke fits."""
    skeleton = skeletonize(mask)
    if not skeleton.any():
        skeleton = mask
    depth = ndimage.distance_transform_edt(mask)     # half the local stroke width, on the skeleton
    # The brush: a low percentile, because where a fat brush filled a loop or a bend the skeleton runs
    # through a blob far deeper than the brush (the median of an 8 drawn 32 px wide reads ~42 px).
    width = 2 * float(np.percentile(depth[skeleton], _BRUSH_PERCENTILE))
    # The target width w from the ink's box L (not the skeleton's, which shrinks inside blobs): the box
    # after redrawing is about L - width + w, and w is STROKE_RATIO of it.
    r0, r1, c0, c1 = _bbox(mask)
    longer = max(r1 - r0, c1 - c0)
    target = max(STROKE_RATIO * (longer - width) / (1 - STROKE_RATIO), 1.0)
    pad = math.ceil(target / 2) + 1
    skeleton = np.pad(skeleton, pad)
    depth = np.pad(depth, pad)
    redrawn = ndimage.distance_transform_edt(~skeleton) < target / 2
    # Erosion by the excess width keeps blobs (without it, an 8 drawn 32 px wide on 128 px, both loops
    # filled, becomes a line); where the strokes are thinner than the target it keeps the ink as is.
    eroded = depth > max(width - target, 0) / 2
    return redrawn | eroded


def _fit_box(img, box):
    """Crop float (H,W) to its non-zero bounding box and scale the longer side to `box` (LANCZOS)."""
    r0, r1, c0, c1 = _bbox(img > 0)
    img = img[r0:r1, c0:c1]
    h, w = img.shape
    k = box / max(h, w)
    shape = (max(1, round(h * k)), max(1, round(w * k)))
    return np.clip(_resize(img, shape, Image.LANCZOS), 0, 1)


def _center(small, size=MNIST_SIZE, center=MNIST_CENTER):
    """Place float (h,w) into a (size,size) field so its centre of mass lands nearest `center`,
    by a whole-pixel shift (no resampling blur), never cutting ink off."""
    com = ndimage.center_of_mass(small)
    h, w = small.shape
    top = int(np.clip(round(center[0] - com[0]), 0, size - h))
    left = int(np.clip(round(center[1] - com[1]), 0, size - w))
    out = np.zeros((size, size), np.float32)
    out[top:top + h, left:left + w] = small
    return out


# ----------------------------------------------------------------------------------------------------
# The pipelines

def to_mnist(image, normalize_stroke=True):
    """A drawing -> the (28,28) float32 image in [0,1] an MNIST model expects (ink bright on black).

    Args:
        image: a path to an image file, its content (bytes, e.g. a PNG from a browser's canvas), a PIL
            Image, or an array: grey (H,W) or (H,W,1), grey+alpha (H,W,2), RGB (H,W,3) or RGBA (H,W,4);
            bool, uint8, uint16, integers in 0..255, or floats in [0,1]. Dark ink on a light background
            or light on dark: the border's median colour decides.
        normalize_stroke: redraw the strokes at MNIST's width relative to the digit's size (step 4 of
            the module docstring); False keeps the drawn width, for comparison.

    Returns:
        float32 (28,28) in [0,1]: the ink scaled into a 20x20 box (aspect ratio kept, anti-aliased),
        its centre of mass at (14, 14). Feed a model `x[None, :, :, None]` (conv) or `x.reshape(1, 784)`.

    Raises:
        NoInkError: no ink (a blank canvas); a ValueError.
        ValueError: NaN/inf, float pixels outside [0,1], integers outside 0..255, a shape that is not
            an image, an unreadable file.
        TypeError: non-numeric pixels or an object that is not an image.
        FileNotFoundError: a path that does not exist.
    """
    if not isinstance(normalize_stroke, bool):
        raise TypeError(f"to_mnist(normalize_stroke=...) expects a bool. Received: {normalize_stroke!r}")
    mask = _work_mask(_ink(image, "to_mnist"))
    if normalize_stroke:
        mask = _normalize_stroke(mask)
    return _center(_fit_box(mask.astype(np.float32), MNIST_BOX))


def naive_to_mnist(image):
    """The pipeline people write first, for comparison: grey, invert when the background is light,
    resize the whole canvas to 28x28 (Pillow BILINEAR, anti-aliased). float32 (28,28) in [0,1].

    Takes the same `image` as `to_mnist` and validates it the same way; a blank canvas gives zeros.
    """
    lum = _luminance(image, "naive_to_mnist")
    if _border_median(lum) >= 0.5:
        lum = 1 - lum
    return np.clip(_resize(lum, (MNIST_SIZE, MNIST_SIZE), Image.BILINEAR), 0, 1)


def render_stroke_digit(digit28, width, canvas=128):
    """Redraw an MNIST digit as a person would draw it in an app: dark ink on white, brush `width` px.

    The digit is enlarged to the canvas (bilinear), thresholded at half intensity and skeletonized; the
    skeleton, centred on the canvas, is drawn with an anti-aliased round brush of diameter `width`.

    Args:
        digit28: an MNIST digit, (H,W) uint8 0..255 or float in [0,1], ink bright (normally 28x28).
        width: the brush diameter in pixels, > 0 (the benchmark uses 2, 4, 8, 16, 32).
        canvas: the side of the square canvas in pixels, >= 28.

    Returns:
        uint8 (canvas, canvas): 255 background, darker where the ink is.

    Raises:
        ValueError: a digit with no ink, a digit that is not 2-D, a brush too wide for the digit to fit.
    """
    canvas = check_int("canvas", canvas, minimum=28, owner="render_stroke_digit")
    width = check_float("width", width, low=0, low_open=True, owner="render_stroke_digit")
    digit = np.asarray(digit28)
    if digit.ndim != 2 or 0 in digit.shape:
        raise ValueError(f"render_stroke_digit(digit28=...) expects a 2-D image, normally (28,28). "
                         f"Received: shape {digit.shape}")
    digit = _as_float(digit, "render_stroke_digit(digit28=...)")
    big = _resize(digit, (canvas, canvas), Image.BILINEAR)
    skeleton = skeletonize(big >= 0.5)
    if not skeleton.any():
        raise ValueError("render_stroke_digit(digit28=...): no ink found: no pixel reaches half intensity")
    r0, r1, c0, c1 = _bbox(skeleton)
    if max(r1 - r0, c1 - c0) + width > canvas:
        raise ValueError(f"render_stroke_digit(width=...): the digit's skeleton spans "
                         f"{max(r1 - r0, c1 - c0)} px, so a {width:g} px brush does not fit a {canvas} px "
                         f"canvas. Received: width={width:g}")
    top, left = (canvas - (r1 - r0)) // 2, (canvas - (c1 - c0)) // 2
    centred = np.zeros_like(skeleton)
    centred[top:top + r1 - r0, left:left + c1 - c0] = skeleton[r0:r1, c0:c1]
    # coverage of a round brush: 1 inside radius - 1/2, 0 beyond radius + 1/2, linear between
    distance = ndimage.distance_transform_edt(~centred)
    ink = np.clip(width / 2 + 0.5 - distance, 0, 1)
    return np.round(255 * (1 - ink)).astype(np.uint8)


def fat_brush(digits, radius):
    """MNIST digits as to_mnist reads them once drawn with a fat brush: training images for a model
    that will read fat-brush drawings through to_mnist.

    Each digit is enlarged 4x (bilinear), thresholded at half intensity, its ink dilated by `radius`
    (a fat brush fills loops and bends: an 8 becomes a two-lobed blob) and read back with to_mnist,
    which thins the strokes again and keeps the blobs. A model trained on plain MNIST has never seen
    such blobs; mixed into training (see examples/stroke_width.py) they teach it what they mean.

    Args:
        digits: (N,28,28) uint8 0..255 or float in [0,1], ink bright.
        radius: the dilation in MNIST pixels (28 px field), >= 0: a number, or one per digit (N,).
            A 32 px brush on a 128 px canvas is about 2 to 2.5.

    Returns:
        float32 (N,28,28) in [0,1].
    """
    digits = np.asarray(digits)
    if digits.ndim != 3 or 0 in digits.shape:
        raise ValueError(f"fat_brush(digits=...) expects a non-empty batch (N,H,W). Received: shape {digits.shape}")
    digits = _as_float(digits, "fat_brush(digits=...)")
    try:
        radii = np.broadcast_to(np.asarray(radius, np.float64), (len(digits),)) if np.ndim(radius) == 0 \
            else np.asarray(radius, np.float64)
    except (TypeError, ValueError):
        radii = None
    if radii is None or radii.shape != (len(digits),) or not np.isfinite(radii).all() or (radii < 0).any():
        raise ValueError(f"fat_brush(radius=...) expects a number >= 0 or one per digit ({len(digits)},). "
                         f"Received: {radius!r}")
    h, w = digits.shape[1:]
    out = np.empty((len(digits), MNIST_SIZE, MNIST_SIZE), np.float32)
    for i, (digit, r) in enumerate(zip(digits, radii)):
        ink = _resize(digit, (4 * h, 4 * w), Image.BILINEAR) >= 0.5
        out[i] = to_mnist(ndimage.distance_transform_edt(~ink) <= 4 * r)
    return out


# ----------------------------------------------------------------------------------------------------
# Augmentation

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


def _forward(hook):
    def call(self, *args, **kwargs):
        for cb in self.callbacks:
            getattr(cb, hook)(*args, **kwargs)
    return call


class _EpochCallbacks(Callback):
    """Forwards every hook to `callbacks` except on_train_begin/end, which augmented_epochs calls once
    for the whole run (fit calls them on every one-epoch fit); params["epochs"] is the run's total."""

    def __init__(self, callbacks, epochs):
        super().__init__()
        self.callbacks, self.epochs = callbacks, epochs

    set_model = _forward("set_model")
    on_epoch_begin = _forward("on_epoch_begin")
    on_epoch_end = _forward("on_epoch_end")
    on_train_batch_begin = _forward("on_train_batch_begin")
    on_train_batch_end = _forward("on_train_batch_end")

    def set_params(self, params):
        for cb in self.callbacks:
            cb.set_params({**params, "epochs": self.epochs})


def augmented_epochs(model, x, y, augment, epochs, callbacks=None, **fit_kwargs):
    """Train `model` for `epochs` epochs, each on a fresh `augment(x)`; return one History for them all.

    Runs model.fit once per epoch (initial_epoch=e, epochs=e+1; verbose lines read "Epoch e/e"). The
    callbacks see one run: on_train_begin before the first epoch, on_train_end after the last, the other
    hooks as fit calls them, so EarlyStopping, ReduceLROnPlateau and LearningRateScheduler work as in a
    single fit. validation_split is refused (each fit would hold out a different split, leaking the
    validation images into training): pass validation_data.

    Args:
        model: a compiled fastnn.Sequential.
        x: float (N,H,W) or (N,H,W,1), as the model takes it; y: its targets.
        augment: a callable batch -> batch of the same shape, e.g. Augment(seed=0).
        epochs: the number of epochs, >= 0.
        callbacks: fastnn.callbacks.Callback instances.
        **fit_kwargs: passed to model.fit (batch_size, verbose, validation_data, shuffle).
    """
    epochs = check_int("epochs", epochs, minimum=0, owner="augmented_epochs")
    if not callable(augment):
        raise TypeError(f"augmented_epochs(augment=...) expects a callable batch -> batch, e.g. "
                        f"fastnn.preprocess.Augment(). Received: {augment!r}")
    for name, why in (("validation_split", "each epoch would hold out a different split; pass validation_data"),
                      ("initial_epoch", "augmented_epochs counts the epochs itself")):
        if name in fit_kwargs:
            raise ValueError(f"augmented_epochs does not accept {name}= in fit_kwargs ({why}). Received: "
                             f"{name}={fit_kwargs[name]!r}")
    callbacks = list(callbacks or [])
    for cb in callbacks:
        if not isinstance(cb, Callback):
            raise TypeError(f"augmented_epochs(callbacks=...) expects fastnn.callbacks.Callback instances. "
                            f"Received: {cb!r}")
    history = History()
    forward = _EpochCallbacks(callbacks, epochs)
    forward.set_model(model)
    for cb in callbacks:
        cb.on_train_begin()
    for epoch in range(epochs):
        logs = model.fit(augment(x), y, epochs=epoch + 1, initial_epoch=epoch, callbacks=[forward],
                         **fit_kwargs).history
        history.epoch.append(epoch)
        for key, values in logs.items():
            history.history.setdefault(key, []).extend(values)
        if model.stop_training:
            break
    for cb in callbacks:
        cb.on_train_end()
    model.history = history
    return history
