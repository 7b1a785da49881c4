"""Stroke width: accuracy on drawn digits per brush width, and the time to_mnist takes.

    python -m pytest benches/suites/bench_strokes.py --benchmark-only -s   # the table, the targets, the timings
    python -m pytest benches/suites/ --benchmark-only -m "not slow"        # the timings only: no training

The accuracy part runs examples/stroke_width.py: two LeNet-5s trained on mnist-10k images 0..7999, plain
and augmented with the training digits redrawn at every brush width (cached after the first run), the
2,000 test digits redrawn on 128x128 canvases with brushes 2..32 px and read through the naive pipeline
and to_mnist.
The timed part reads 1,000 such canvases (200 digits x 5 widths) per round; naive_to_mnist is the
baseline row. A last row times one to_mnist call on a 128x128 RGBA PNG given as bytes, as a drawing
page would send it.
"""
import importlib.util
import io
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import fastnn
from fastnn.digits import naive_to_mnist, render_stroke_digit, to_mnist

_EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "stroke_width.py"
_spec = importlib.util.spec_from_file_location("stroke_width", _EXAMPLE)
stroke_width = importlib.util.module_from_spec(_spec)
sys.modules["stroke_width"] = stroke_width   # worker processes find the module by this name
_spec.loader.exec_module(stroke_width)

# Targets: to_mnist >= 95% at every brush width, and within 2 points of the originals. At 32 px the brush
# fills loops and bends (a 4 closes into a 9, a 3 into an 8): the augmented LeNet-5 meets the 2 points there
# by 0.6 (97.4% against 98.8%). to_mnist must also beat the naive pipeline there by 3 points with that model,
# which learned from redrawn digits and so reads even naive fat strokes fairly well (5.4 points measured;
# the plain model's collapse is the next test).
TARGET, MAX_DROP, FAT, NAIVE_MARGIN_FAT = 0.95, 0.02, 32, 0.03
NAIVE_COLLAPSE = 0.2   # the plain model, naive pipeline: accuracy lost from 2 px to 32 px


@pytest.fixture(scope="module")
def results():
    out = stroke_width.run(verbose=0)
    print("\n" + stroke_width.format_table(out))
    return out


def timed_accuracy(benchmark, results, model, width, pipeline):
    """Time the model reading the 2,000 drawings (already through `pipeline`); return its accuracy."""
    benchmark.group = "stroke width: LeNet-5 reads 2000 drawings"
    benchmark.extra_info.update(model=model, width=width, pipeline=pipeline)
    entry = results["models"][model]
    acc = benchmark.pedantic(stroke_width.accuracy, (entry["model"], results["inputs"][width][pipeline],
                                                     results["labels"]), rounds=1, iterations=1)
    assert acc == entry["widths"][width][pipeline]
    return acc


@pytest.mark.slow
@pytest.mark.parametrize("width", stroke_width.WIDTHS)
def test_to_mnist_reads_drawn_digits(benchmark, results, width):
    model = results["models"]["augmented"]
    acc = timed_accuracy(benchmark, results, "augmented", width, "to_mnist")
    assert acc >= TARGET, acc
    assert acc >= model["original"] - MAX_DROP, (acc, model["original"])
    if width == FAT:
        assert acc >= model["widths"][width]["naive"] + NAIVE_MARGIN_FAT, model["widths"][width]


@pytest.mark.slow
def test_naive_pipeline_collapses_on_fat_brushes(benchmark, results):
    """With the plain model, as a person finds when drawing for a model trained on MNIST as it is."""
    acc = results["models"]["plain"]["widths"]
    naive_fat = timed_accuracy(benchmark, results, "plain", FAT, "naive")
    assert naive_fat < acc[2]["naive"] - NAIVE_COLLAPSE, acc
    assert all(a["to_mnist"] > a["naive"] for a in acc.values()), acc


@pytest.fixture(scope="module")
def canvases():
    """1,000 drawn digits: 200 test digits x 5 brush widths, uint8 (128,128) each."""
    digits = fastnn.datasets.mnist_10k.load_data()[1][0][:200]
    return [render_stroke_digit(d, w, stroke_width.CANVAS) for w in stroke_width.WIDTHS for d in digits]


@pytest.mark.parametrize("pipeline", [naive_to_mnist, to_mnist], ids=["naive_to_mnist", "to_mnist"])
def test_time_per_1000_drawings(benchmark, canvases, pipeline):
    benchmark.group = "preprocess: 1000 drawings 128x128"
    out = benchmark.pedantic(lambda: [pipeline(c) for c in canvases], rounds=3, iterations=1, warmup_rounds=1)
    assert len(out) == 1000 and all(o.shape == (28, 28) and o.dtype == np.float32 for o in out)


def test_time_one_rgba_png(benchmark, canvases):
    """The drawing page's case: one 128x128 RGBA PNG (black ink on a transparent canvas), as bytes."""
    ink = 255 - canvases[-1]
    buffer = io.BytesIO()
    Image.fromarray(np.dstack([np.zeros_like(ink)] * 3 + [ink]), "RGBA").save(buffer, format="PNG")
    png = buffer.getvalue()
    benchmark.group = "preprocess: one 128x128 RGBA PNG"
    out = benchmark(to_mnist, png)
    np.testing.assert_allclose(out, to_mnist(canvases[-1]), atol=1e-6)
