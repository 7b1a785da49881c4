"""fastnn.digits: from drawings to MNIST inputs, augmentation, and the stroke-width generator.

Drawings are made by render_stroke_digit from real mnist-10k test digits, so every test starts from a
digit whose label is known; the last test trains a small model and reads drawn digits with it.
"""
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

import fastnn
from fastnn import layers
from fastnn.digits import (MNIST_BOX, MNIST_CENTER, Augment, augmented_epochs, fat_brush, naive_to_mnist,
                           render_stroke_digit, to_mnist)

WIDTHS = (2, 4, 8, 16, 32)


@pytest.fixture(scope="module")
def mnist():
    return fastnn.datasets.mnist_10k.load_data()


@pytest.fixture(scope="module")
def digits(mnist):
    return mnist[1][0][:12]


@pytest.fixture(scope="module")
def drawing(digits):
    """A 7 on a white 128x128 canvas with an 8 px brush: uint8 (128,128)."""
    return render_stroke_digit(digits[0], 8)


def correlation(a, b):
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def test_import_fastnn_loads_digits_on_first_use_only():
    # scipy.ndimage and scikit-image take a second or two to import: `import fastnn` and the command line's
    # parser leave them out until fastnn.digits (or a command that reads images) is used
    code = ("import sys, fastnn, fastnn.cli; fastnn.cli.build_parser(); "
            "assert 'fastnn.digits' not in sys.modules and 'skimage' not in sys.modules, 'loaded early'; "
            "to_mnist = fastnn.digits.to_mnist; "
            "assert to_mnist.__module__ == 'fastnn.digits.transform' and 'skimage' in sys.modules")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


# ---------------------------------------------------------------------------------------------------
# to_mnist: the output contract

def test_output_is_28x28_float32_in_unit_range(drawing):
    out = to_mnist(drawing)
    assert out.shape == (28, 28) and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 1
    assert out.max() > 0.99          # ink reaches full intensity, as in MNIST
    assert out[0].max() == 0 and out[:, 0].max() == 0   # the 4 px margin is empty


@pytest.mark.parametrize("width", WIDTHS)
def test_ink_fits_20px_box_and_mass_is_centred(digits, width):
    for digit in digits[:6]:
        out = to_mnist(render_stroke_digit(digit, width))
        rows, cols = np.flatnonzero(out.max(1) > 0), np.flatnonzero(out.max(0) > 0)
        extent = (rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1)
        assert max(extent) == MNIST_BOX, extent
        com = ndimage.center_of_mass(out)
        # a whole-pixel placement: within half a pixel, unless the box edge stops it
        assert abs(com[0] - MNIST_CENTER[0]) <= 0.5 + 1e-6 and abs(com[1] - MNIST_CENTER[1]) <= 2, com


def test_mnist_digits_come_back_close_to_themselves(digits):
    """An MNIST digit already is what to_mnist makes: the output stays near the input."""
    x = digits.astype(np.float32) / 255
    corr = [correlation(to_mnist(d), d) for d in x]
    assert np.median(corr) > 0.8, corr


# ---------------------------------------------------------------------------------------------------
# Polarity and the kinds of input

def test_light_on_dark_equals_dark_on_light(drawing):
    np.testing.assert_allclose(to_mnist(255 - drawing), to_mnist(drawing), atol=1e-6)


def test_off_white_paper_and_grey_ink_give_the_same_image(drawing):
    paper = (40 + drawing.astype(np.float32) * (200 / 255)).astype(np.uint8)   # ink 40, paper 240
    np.testing.assert_allclose(to_mnist(paper), to_mnist(drawing), atol=0.02)


def as_kinds(drawing, tmp_path):
    """The same drawing as every kind of input to_mnist accepts."""
    grey = drawing
    ink = 255 - grey   # alpha of a black stroke on a transparent canvas
    black = np.zeros_like(grey)
    png = tmp_path / "drawing.png"
    rgba = np.dstack([black, black, black, ink])
    Image.fromarray(rgba, "RGBA").save(png)
    return {
        "uint8 (H,W)": grey,
        "uint8 (H,W,1)": grey[:, :, None],
        "float in [0,1]": grey / 255.0,
        "float16": (grey / 255.0).astype(np.float16),
        "uint16": grey.astype(np.uint16) * 257,
        "int64 0..255": grey.astype(np.int64),
        "RGB": np.dstack([grey] * 3),
        "RGBA opaque": np.dstack([grey] * 3 + [np.full_like(grey, 255)]),
        "RGBA black on transparent": rgba,
        "RGBA white on transparent": np.dstack([black + 255] * 3 + [ink]),
        "grey+alpha": np.dstack([black, ink]),
        "PIL L": Image.fromarray(grey),
        "PIL RGBA": Image.fromarray(rgba, "RGBA"),
        "PIL P": Image.fromarray(np.dstack([grey] * 3)).quantize(256, dither=Image.Dither.NONE),
        "PNG path": png,
        "PNG path as str": str(png),
    }


def test_every_kind_of_input_gives_the_same_image(drawing, tmp_path):
    expected = to_mnist(drawing)
    for kind, image in as_kinds(drawing, tmp_path).items():
        np.testing.assert_allclose(to_mnist(image), expected, atol=0.02, err_msg=kind)


def _as_mode(grey, kind):
    """The uint8 drawing `grey` (dark ink on white) as a PIL image of another mode or depth."""
    img = Image.fromarray(grey)
    wide = grey.astype(np.int64)
    if kind == "I;16":
        return Image.fromarray((wide * 257).astype(np.uint16))
    if kind == "I 0..255":
        return img.convert("I")
    if kind == "I full range":
        return Image.fromarray((wide * (2**31 - 1) // 255).astype(np.int32), "I")
    if kind == "I signed":
        return Image.fromarray(((wide - 128) * 1000).astype(np.int32), "I")
    if kind == "F 0..255":
        return Image.fromarray(grey.astype(np.float32), "F")
    if kind == "F 0..1":
        return Image.fromarray(grey.astype(np.float32) / 255, "F")
    if kind == "PA":
        return img.convert("RGBA").convert("PA")
    return img.convert(kind)


# (mode, file format): every grey depth Pillow decodes, palettes, alpha, print and video colour spaces
IMAGE_MODES = [("1", "PNG"), ("P", "GIF"), ("PA", "TIFF"), ("LA", "PNG"), ("I;16", "PNG"), ("I;16", "TIFF"),
               ("I 0..255", "TIFF"), ("I full range", "TIFF"), ("I signed", "TIFF"), ("F 0..255", "TIFF"),
               ("F 0..1", "TIFF"), ("CMYK", "JPEG"), ("CMYK", "TIFF"), ("YCbCr", "TIFF"), ("LAB", "TIFF"),
               ("HSV", None), ("RGBX", None)]


@pytest.mark.parametrize("kind,fmt", IMAGE_MODES, ids=[f"{k}-{f}" for k, f in IMAGE_MODES])
def test_every_image_mode_pillow_reads_gives_the_same_image(drawing, kind, fmt):
    """A visible digit is read as that digit whatever the file's mode and depth (a 32-bit integer TIFF
    used to read as an empty canvas)."""
    import io
    img = _as_mode(drawing, kind)
    if fmt is not None:
        buf = io.BytesIO()
        img.save(buf, fmt, **({"quality": 95} if fmt == "JPEG" else {}))
        img = buf.getvalue()
    if kind in ("1", "PA") or fmt == "JPEG":    # dithered to 1 bit, quantised to a palette, or lossy
        assert correlation(to_mnist(img), to_mnist(drawing)) > 0.95
    else:
        np.testing.assert_allclose(to_mnist(img), to_mnist(drawing), atol=0.08)


@pytest.mark.parametrize("fmt", ["GIF", "PNG", "TIFF", "WEBP"])
def test_an_animated_or_multi_page_image_is_read_from_its_first_frame(drawing, fmt):
    import io
    frames = [Image.fromarray(drawing).convert("RGB"), Image.new("RGB", drawing.shape[::-1], "white")]
    buf = io.BytesIO()
    frames[0].save(buf, fmt, save_all=True, append_images=frames[1:], **({"lossless": True} if fmt == "WEBP" else {}))
    with Image.open(io.BytesIO(buf.getvalue())) as probe:
        assert getattr(probe, "n_frames", 1) == 2
    np.testing.assert_allclose(to_mnist(buf.getvalue()), to_mnist(drawing), atol=0.02)


def test_bool_mask_input(drawing):
    mask = drawing < 128
    assert correlation(to_mnist(mask), to_mnist(drawing)) > 0.98


def test_canvas_size_does_not_matter(digits):
    """The same brush relative to the canvas, on 64 and 512 px (the skeletons differ a little)."""
    corr = [correlation(to_mnist(render_stroke_digit(d, 4, canvas=64)),
                        to_mnist(render_stroke_digit(d, 32, canvas=512))) for d in digits]
    assert np.median(corr) > 0.85, corr


# ---------------------------------------------------------------------------------------------------
# Stroke width

@pytest.mark.parametrize("width", [4, 8, 16, 32])
def test_stroke_width_is_normalised(digits, width):
    """The same skeleton drawn 2 px and `width` px wide gives nearly the same image; without the
    normalisation it does not (so the check can fail)."""
    thin = [to_mnist(render_stroke_digit(d, 2)) for d in digits]
    fat = [render_stroke_digit(d, width) for d in digits]
    corr = [correlation(a, to_mnist(b)) for a, b in zip(thin, fat)]
    assert np.median(corr) > (0.9 if width <= 16 else 0.8), corr
    ink = np.mean([to_mnist(b).mean() for b in fat]) / np.mean([a.mean() for a in thin])
    assert 0.8 < ink < (1.25 if width <= 16 else 1.5), ink     # at 32 px loops fill: more ink
    if width >= 8:
        raw = [correlation(a, to_mnist(b, normalize_stroke=False)) for a, b in zip(thin, fat)]
        assert 1 - np.median(corr) < (1 - np.median(raw)) / 3, (corr, raw)


def test_mean_ink_matches_mnist(mnist, digits):
    mnist_ink = mnist[0][0][:2000].mean() / 255
    for width in (2, 32):
        ink = np.mean([to_mnist(render_stroke_digit(d, width)).mean() for d in digits])
        assert 0.7 * mnist_ink < ink < 1.3 * mnist_ink, (width, ink, mnist_ink)


def test_naive_pipeline_keeps_the_fat_stroke(digits):
    fat = render_stroke_digit(digits[0], 32)
    naive = naive_to_mnist(fat)
    assert naive.shape == (28, 28) and naive.dtype == np.float32
    assert 0 <= naive.min() and naive.max() <= 1
    assert naive.mean() > 2 * to_mnist(fat).mean()


# ---------------------------------------------------------------------------------------------------
# Errors

@pytest.mark.parametrize("blank", [
    np.full((128, 128), 255, np.uint8),
    np.zeros((128, 128), np.uint8),
    np.full((50, 60), 0.5),
    np.zeros((128, 128, 4), np.uint8),                               # fully transparent
    np.full((128, 128), 250, np.uint8) + (np.arange(128) % 3 == 0).astype(np.uint8),   # faint noise
])
def test_blank_canvas_raises_no_ink(blank):
    with pytest.raises(ValueError, match="no ink"):
        to_mnist(blank)


@pytest.mark.parametrize("image, error, match", [
    (np.full((28, 28), np.nan), ValueError, "NaN"),
    (np.full((28, 28), 255.0), ValueError, r"float pixels in \[0, 1\].*Received: range"),
    (np.full((28, 28), -1, np.int16), ValueError, "0..255"),
    (np.zeros(10), ValueError, r"Received: shape \(10,\)"),
    (np.zeros((4, 28, 28)), ValueError, r"Received: shape \(4, 28, 28\)"),
    (np.zeros((28, 28, 5)), ValueError, r"Received: shape \(28, 28, 5\)"),
    (np.zeros((0, 28)), ValueError, "at least one pixel"),
    (np.full((28, 28), "a"), TypeError, "dtype <U1"),
    (np.zeros((28, 28), complex), TypeError, "complex"),
    (None, TypeError, "Received: None"),
    ("/no/such/drawing.png", FileNotFoundError, "no/such/drawing.png"),
])
def test_bad_input_errors_name_the_argument(image, error, match):
    with pytest.raises(error, match=match) as info:
        to_mnist(image)
    assert "to_mnist(image=...)" in str(info.value)


def test_png_bytes_as_a_browser_sends_them(drawing, tmp_path):
    png = tmp_path / "canvas.png"
    Image.fromarray(np.dstack([drawing] * 3 + [np.full_like(drawing, 255)]), "RGBA").save(png)
    np.testing.assert_allclose(to_mnist(png.read_bytes()), to_mnist(drawing), atol=1e-6)


def test_unreadable_file(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("not an image")
    with pytest.raises(ValueError, match="image file Pillow can read"):
        to_mnist(path)
    with pytest.raises(ValueError, match=r"image file Pillow can read. Received: 12 bytes"):
        to_mnist(b"not an image")


def test_normalize_stroke_must_be_bool(drawing):
    with pytest.raises(TypeError, match="normalize_stroke"):
        to_mnist(drawing, normalize_stroke="yes")


def test_naive_validates_like_to_mnist():
    with pytest.raises(ValueError, match=r"naive_to_mnist\(image=...\).*NaN"):
        naive_to_mnist(np.full((8, 8), np.nan))
    np.testing.assert_array_equal(naive_to_mnist(np.full((64, 64), 255, np.uint8)), 0)


# ---------------------------------------------------------------------------------------------------
# render_stroke_digit

def test_render_draws_dark_ink_on_white(digits):
    inked = []
    for width in WIDTHS:
        canvas = render_stroke_digit(digits[1], width)
        assert canvas.shape == (128, 128) and canvas.dtype == np.uint8
        assert canvas[0].min() == 255 and canvas[:, 0].min() == 255 and canvas.min() == 0
        inked.append(np.count_nonzero(canvas < 128))
    assert inked == sorted(inked) and inked[-1] > 8 * inked[0]
    np.testing.assert_array_equal(render_stroke_digit(digits[1], 8), render_stroke_digit(digits[1], 8))


def test_render_stroke_is_the_width_asked_for(digits):
    """Ink area / skeleton length ~ the brush width."""
    for width in (4, 16):
        canvas = render_stroke_digit(digits[9], width)       # a 1: one long stroke
        ink = (255 - canvas.astype(np.float64)) / 255
        length = np.count_nonzero(render_stroke_digit(digits[9], 1) < 128)
        assert abs(ink.sum() / length - width) < 0.25 * width


@pytest.mark.parametrize("kwargs, match", [
    ({"width": 0}, r"render_stroke_digit\(width=...\)"),
    ({"width": 120}, r"does not fit.*width=120"),
    ({"width": 4, "canvas": 20}, r"render_stroke_digit\(canvas=...\)"),
])
def test_render_rejects_bad_arguments(digits, kwargs, match):
    with pytest.raises(ValueError, match=match):
        render_stroke_digit(digits[0], **kwargs)


def test_render_rejects_blank_and_misshapen_digits():
    with pytest.raises(ValueError, match="no ink"):
        render_stroke_digit(np.zeros((28, 28), np.uint8), 4)
    with pytest.raises(ValueError, match=r"Received: shape \(784,\)"):
        render_stroke_digit(np.zeros(784, np.uint8), 4)


# ---------------------------------------------------------------------------------------------------
# fat_brush

def test_fat_brush_fills_loops_and_reads_back_like_to_mnist(mnist):
    digits = mnist[1][0][:40]
    plain, fat = fat_brush(digits, 0), fat_brush(digits, 3)
    assert fat.shape == (40, 28, 28) and fat.dtype == np.float32 and 0 <= fat.min() and fat.max() <= 1
    # radius 0 is the digit through to_mnist
    np.testing.assert_allclose(plain[0], to_mnist(np.asarray(
        Image.fromarray(digits[0].astype(np.float32) / 255, "F").resize((112, 112), Image.BILINEAR)) >= 0.5))
    holes = [np.count_nonzero(ndimage.binary_fill_holes(im > 0.5) & (im <= 0.5)) for im in (plain, fat)]
    assert holes[1] < holes[0] / 2, holes        # the loops of 0, 6, 8, 9 fill in
    per_digit = fat_brush(digits[:3], [0, 0, 3])
    np.testing.assert_allclose(per_digit, np.concatenate([plain[:2], fat[2:3]]))


@pytest.mark.parametrize("digits, radius, match", [
    (np.zeros((28, 28), np.uint8), 1, r"fat_brush\(digits=...\).*Received: shape \(28, 28\)"),
    (np.full((2, 28, 28), 300, np.int32), 1, r"fat_brush\(digits=...\).*0..255"),
    (np.full((2, 28, 28), 255, np.uint8), -1, r"fat_brush\(radius=...\)"),
    (np.full((2, 28, 28), 255, np.uint8), [1, 2, 3], r"fat_brush\(radius=...\)"),
])
def test_fat_brush_rejects_bad_arguments(digits, radius, match):
    with pytest.raises(ValueError, match=match):
        fat_brush(digits, radius)


# ---------------------------------------------------------------------------------------------------
# Augment

@pytest.fixture(scope="module")
def batch(mnist):
    return mnist[0][0][:64].astype(np.float32) / 255


def test_augment_is_reproducible_and_changes_images(batch):
    a, b = Augment(seed=3)(batch), Augment(seed=3)(batch)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, Augment(seed=4)(batch))
    changed = np.abs(a - batch).reshape(len(batch), -1).max(axis=1)
    assert (changed > 0.1).all()
    aug = Augment(seed=3)
    first, second = aug(batch), aug(batch)
    assert not np.allclose(first, second)          # each call draws anew
    np.testing.assert_array_equal(first, a)


def test_augment_keeps_shape_dtype_and_input(batch):
    before = batch.copy()
    for x in (batch, batch[..., None], batch.astype(np.float64), batch[:1]):
        out = Augment(seed=0, closing=2)(x)
        assert out.shape == x.shape and out.dtype == x.dtype
        assert out.min() >= 0 and out.max() <= 1 + 1e-6
    np.testing.assert_array_equal(batch, before)


IDENTITY = dict(shift=0, rotation=0, scale=(1, 1), thickness=0)


def test_augment_geometry_is_exact(batch):
    np.testing.assert_allclose(Augment(**IDENTITY)(batch), batch, atol=1e-6)
    turned = Augment(**{**IDENTITY, "rotation": (90, 90)})(batch)
    np.testing.assert_allclose(turned, np.rot90(batch, -1, axes=(1, 2)), atol=1e-5)
    moved = Augment(**{**IDENTITY, "shift": (2, 2)})(batch)
    np.testing.assert_allclose(moved[:, 2:, 2:], batch[:, :-2, :-2], atol=1e-6)
    assert moved[:, :2].max() == 0 and moved[:, :, :2].max() == 0


def test_augment_never_mixes_images():
    x = np.zeros((3, 28, 28), np.float32)
    x[1] = 1     # a white image between two black ones
    out = Augment(shift=3.5, rotation=30, scale=(0.7, 1.3), seed=0)(x)
    assert out[0].max() == 0 and out[2].max() == 0


def test_augment_thickness_and_closing_change_the_ink(batch):
    ink = batch.sum()
    assert Augment(**{**IDENTITY, "thickness": (1, 1)})(batch).sum() > 1.3 * ink
    assert Augment(**{**IDENTITY, "thickness": (-1, -1)})(batch).sum() < 0.8 * ink
    closed = Augment(**IDENTITY, closing=3, seed=0)(batch)
    assert (closed >= batch - 1e-6).all() and closed.sum() > ink   # closing only adds ink


@pytest.mark.parametrize("kwargs, error, match", [
    ({"scale": 1.1}, ValueError, r"Augment\(scale=...\).*pair"),
    ({"scale": (0, 1)}, ValueError, r"Augment\(scale=...\).*> 0"),
    ({"thickness": (0, 2)}, ValueError, r"Augment\(thickness=...\)"),
    ({"shift": (3, 1)}, ValueError, r"Augment\(shift=...\).*low <= high"),
    ({"rotation": "big"}, ValueError, r"Augment\(rotation=...\)"),
    ({"closing": -1}, ValueError, r"Augment\(closing=...\)"),
])
def test_augment_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        Augment(**kwargs)


@pytest.mark.parametrize("x, error, match", [
    (np.zeros((4, 28, 28), np.uint8), TypeError, "float images.*uint8"),
    (np.zeros((28, 28), np.float32), ValueError, r"Received: shape \(28, 28\)"),
    (np.zeros((4, 28, 28, 3), np.float32), ValueError, r"Received: shape \(4, 28, 28, 3\)"),
    (np.full((2, 28, 28), np.nan, np.float32), ValueError, "NaN"),
])
def test_augment_rejects_bad_batches(x, error, match):
    with pytest.raises(error, match=match):
        Augment()(x)


# ---------------------------------------------------------------------------------------------------
# augmented_epochs

class Recorder(fastnn.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.events = []

    def on_train_begin(self, logs=None):
        self.events.append("begin")

    def on_epoch_end(self, epoch, logs=None):
        self.events.append(epoch)

    def on_train_end(self, logs=None):
        self.events.append("end")


def tiny_model():
    model = fastnn.Sequential([layers.Input((28, 28)), layers.Flatten(), layers.Dense(10, activation="softmax")],
                              seed=0)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_augmented_epochs_draws_each_epoch_and_runs_callbacks_once(batch, mnist):
    seen = []

    def augment(x):
        seen.append(x.copy())
        return Augment(seed=len(seen))(x)

    recorder = Recorder()
    history = augmented_epochs(tiny_model(), batch, mnist[0][1][:64], augment, 3, batch_size=16, verbose=0,
                               callbacks=[recorder])
    assert len(seen) == 3
    assert recorder.events == ["begin", 0, 1, 2, "end"]
    assert recorder.params["epochs"] == 3
    assert history.epoch == [0, 1, 2] and len(history.history["loss"]) == 3


def test_augmented_epochs_early_stopping_keeps_its_state(batch, mnist):
    stop = fastnn.callbacks.EarlyStopping(monitor="loss", patience=0, min_delta=10.0)   # never improves
    history = augmented_epochs(tiny_model(), batch, mnist[0][1][:64], Augment(seed=0), 5, verbose=0,
                               callbacks=[stop])
    assert history.epoch == [0, 1]


@pytest.mark.parametrize("augment, kwargs, error, match", [
    (Augment(), {"validation_split": 0.2}, ValueError, "validation_split"),
    (Augment(), {"initial_epoch": 1}, ValueError, "initial_epoch"),
    (Augment(), {"callbacks": [object()]}, TypeError, "callbacks"),
    ("flip", {}, TypeError, r"augmented_epochs\(augment=...\)"),
])
def test_augmented_epochs_rejects(batch, mnist, augment, kwargs, error, match):
    with pytest.raises(error, match=match):
        augmented_epochs(tiny_model(), batch, mnist[0][1][:64], augment, 1, **kwargs)


# ---------------------------------------------------------------------------------------------------
# The point of it all, at a lower bar than benches/bench_strokes.py

def test_drawn_digits_are_read_at_every_width_where_naive_fails(mnist):
    """A small model trained briefly on mnist-10k as it is reads digits drawn 2..32 px wide through
    to_mnist nearly as well as the originals (32 px, where loops fill in, less so); through the naive
    pipeline it fails. About 35 s of CPU (most of it training and Numba's first compile)."""
    (x_train, y_train), (x_test, y_test) = mnist
    model = fastnn.Sequential([layers.Input((28, 28)), layers.Flatten(), layers.Dense(128, activation="relu"),
                               layers.Dense(10, activation="softmax")], seed=0)
    model.compile(fastnn.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train.astype(np.float32) / 255, y_train, batch_size=64, epochs=4, verbose=0)
    digits, labels = x_test[:150], y_test[:150]

    def accuracy(images):
        return float(np.mean(model.predict(np.stack(images)).argmax(axis=1) == labels))

    original = accuracy(list(digits.astype(np.float32) / 255))
    assert original > 0.9
    for width in WIDTHS:
        drawn = [render_stroke_digit(d, width) for d in digits]
        ours, naive = accuracy([to_mnist(c) for c in drawn]), accuracy([naive_to_mnist(c) for c in drawn])
        assert ours > (original - 0.07 if width <= 16 else 0.75), (width, ours, original)
        assert ours > naive + 0.2, (width, ours, naive)
