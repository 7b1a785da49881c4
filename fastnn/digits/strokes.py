"""Stroke synthesis: MNIST digits redrawn as people draw them, for tests, benchmarks and training.

`render_stroke_digit` redraws a digit as a drawing app would, dark ink on white, at a chosen brush width
(tests and `benches/bench_strokes.py`). `fat_brush` makes what to_mnist reads when a digit is drawn with a
fat brush (loops filled in), to mix into training: a model that never saw those blobs misreads them.

Legend: N images, H rows, W columns; MNIST images are (28,28), float in [0,1] or uint8.
"""
import numpy as np
from PIL import Image
from scipy import ndimage
from skimage.morphology import skeletonize

from ..utils import check_float, check_int
from .pixels import MNIST_SIZE, as_float, bbox, resize
from .transform import to_mnist


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
    digit = as_float(digit, "render_stroke_digit(digit28=...)")
    big = resize(digit, (canvas, canvas), Image.BILINEAR)
    skeleton = skeletonize(big >= 0.5)
    if not skeleton.any():
        raise ValueError("render_stroke_digit(digit28=...): no ink found: no pixel reaches half intensity")
    r0, r1, c0, c1 = bbox(skeleton)
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
    digits = as_float(digits, "fat_brush(digits=...)")
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
        ink = resize(digit, (4 * h, 4 * w), Image.BILINEAR) >= 0.5
        out[i] = to_mnist(ndimage.distance_transform_edt(~ink) <= 4 * r)
    return out
