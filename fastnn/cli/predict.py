"""`fastnn predict`: the class and top probabilities of image files, by a saved model (fastnn.inference)."""
import os
import sys

from ..inference import ImageClassifier
from ..saving import load_model
from . import options

NOTE = """Digit models read images with fastnn.digits.to_mnist: the ink is cropped, its strokes redrawn at
MNIST's width, scaled into a 20x20 box and centred by mass, as MNIST digits were. Fashion-MNIST models read
them made grey, inverted when the border is light (models expect light on dark) and resized to 28x28 as a
whole."""


def add_arguments(p):
    p.add_argument("model", metavar="MODEL.fastnn", help="a model saved by `fastnn train` or Model.save")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files Pillow reads (PNG, JPEG, ...)")
    p.add_argument("--top", type=options.positive_int, default=3, help="how many classes to list per image "
                                                                       "(default 3)")
    options.add_runtime(p)
    p.epilog = NOTE


def read_file(classifier, path):
    """The model's input for the image file at `path`; ValueError, naming the file, when it cannot be read."""
    if not os.path.isfile(path):
        raise ValueError(f"no such image file: {path!r}")
    try:
        return classifier.read(path)
    except (OSError, ValueError, SyntaxError) as exc:   # Pillow raises SyntaxError for some broken headers
        raise ValueError(f"image {path!r}: {type(exc).__name__}: {' '.join(str(exc).split())}") from None


def run(args):
    options.setup_runtime(args)
    classifier = ImageClassifier(load_model(args.model, compile=False))
    failed = 0
    for path in args.images:
        try:
            x = read_file(classifier, path)
        except ValueError as exc:
            print(f"fastnn predict: error: {exc}", file=sys.stderr)
            failed += 1
            continue
        top = classifier.top(x, args.top)
        listed = ", ".join(f"{name} {p:.1%}" for name, p in top)
        print(f"{path}: {top[0][0]}   (top {len(top)}: {listed})")
    return 1 if failed else 0
