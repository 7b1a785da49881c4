"""From a person's drawing to what an MNIST model saw in training: `to_mnist`, and `naive_to_mnist` to
compare with.

    x = fastnn.digits.to_mnist("drawing.png")            # float32 (28,28) in [0,1], ink bright on black
    probs = model.predict(x[None, :, :, None])

MNIST digits were made thus (LeCun et al.): size-normalised to fit a 20x20 box keeping the aspect ratio,
anti-aliased (hence grey levels), then placed in a 28x28 field with their centre of mass at the centre.
A model trained on them expects that, and also MNIST's pen: strokes about 2.5 px wide in the 20 px box.
A drawing app gives none of it: dark ink on white, any canvas size, any brush. `to_mnist` does each step:

1. pixels and polarity (pixels.py): luminance in [0,1], the border's median colour as the background,
   the ink as the difference from it; no ink raises NoInkError;
2. crop to the ink's bounding box, at a working resolution of 64..256 px on the longer side;
3. stroke width: the skeleton (skimage) redrawn at MNIST's width relative to the digit's size, united
   with the ink eroded by the excess width (a distance-transform threshold), so that a blob (a loop a
   fat brush filled in) stays a blob, as in MNIST's heavy-pen digits, instead of becoming a line;
4. scale the longer side to 20 px keeping the aspect ratio, anti-aliased (Pillow LANCZOS);
5. place in 28x28 with the centre of mass at (14, 14), where MNIST digits have it.

`naive_to_mnist` is the pipeline people write first (grey, invert, resize the canvas to 28x28): it
fails on fat strokes, and `benches/bench_strokes.py` measures by how much.

Legend: H rows, W columns; MNIST images are (28,28), float in [0,1].
"""
import math

import numpy as np
from PIL import Image
from scipy import ndimage
from skimage.measure import block_reduce
from skimage.morphology import skeletonize

from .pixels import MNIST_SIZE, bbox, ink, resize, whole_canvas

MNIST_BOX = 20              # the box the digit's longer side is scaled to
MNIST_CENTER = (14.0, 14.0)  # mean centre of mass (row, col) of the mnist-10k digits: 14.00 +- 0.29
# MNIST's pen: stroke width (twice the median distance-to-background along the skeleton) over the longer
# side of the ink's bounding box; median over mnist-10k's first 2,000 training digits thresholded at half
# intensity at 4x (quartiles 0.10 and 0.15). Thinner and thicker strokes are redrawn to this.
STROKE_RATIO = 0.125
# The ink's bounding box is resampled so that its longer side is within these bounds: enough pixels for
# a clean skeleton of a small drawing, few enough that a big photo costs no more than a 256 px crop.
_WORK_MIN, _WORK_MAX = 64, 256
_BRUSH_PERCENTILE = 10      # of the distance to the background along the skeleton: the brush's radius
_INK_LEVEL = 0.5            # a pixel is ink when it has at least this fraction of the strongest ink


def _work_mask(ink):
    """The ink's bounding box as a bool mask at the working resolution, padded by 1 px of background
    (the distance transform counts only pixels inside the array as background)."""
    r0, r1, c0, c1 = bbox(ink >= _INK_LEVEL)
    longer = max(r1 - r0, c1 - c0)
    if longer < _WORK_MIN:
        # enlarge the grey ink, then threshold: edges stay smooth, thin strokes stay connected
        k = _WORK_MIN / longer
        crop = np.pad(ink[r0:r1, c0:c1], 1)
        big = resize(crop, (max(1, round(crop.shape[0] * k)), max(1, round(crop.shape[1] * k))),
                     Image.BILINEAR)
        mask = big >= _INK_LEVEL
        if not mask.any():   # a lone pixel can fall below the level once interpolated
            mask = big >= big.max() * _INK_LEVEL
        r0, r1, c0, c1 = bbox(mask)
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
    r0, r1, c0, c1 = bbox(mask)
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
    r0, r1, c0, c1 = bbox(img > 0)
    img = img[r0:r1, c0:c1]
    h, w = img.shape
    k = box / max(h, w)
    shape = (max(1, round(h * k)), max(1, round(w * k)))
    return np.clip(resize(img, shape, Image.LANCZOS), 0, 1)


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


def to_mnist(image, normalize_stroke=True):
    """A drawing -> the (28,28) float32 image in [0,1] an MNIST model expects (ink bright on black).

    Args:
        image: a path to an image file, its content (bytes, e.g. a PNG from a browser's canvas), a PIL
            Image, or an array: grey (H,W) or (H,W,1), grey+alpha (H,W,2), RGB (H,W,3) or RGBA (H,W,4);
            bool, uint8, uint16, integers in 0..255, or floats in [0,1]. Dark ink on a light background
            or light on dark: the border's median colour decides.
        normalize_stroke: redraw the strokes at MNIST's width relative to the digit's size (step 3 of
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
    mask = _work_mask(ink(image, "to_mnist"))
    if normalize_stroke:
        mask = _normalize_stroke(mask)
    return _center(_fit_box(mask.astype(np.float32), MNIST_BOX))


def naive_to_mnist(image):
    """The pipeline people write first, for comparison: grey, invert when the background is light,
    resize the whole canvas to 28x28 (Pillow BILINEAR, anti-aliased). float32 (28,28) in [0,1].

    Takes the same `image` as `to_mnist` and validates it the same way; a blank canvas gives zeros.
    """
    return whole_canvas(image, "naive_to_mnist", Image.BILINEAR)
