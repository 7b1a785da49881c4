"""The command line: `python -m fastnn <command>`, or the `fastnn` script.

    fastnn train                                  LeNet-5 on MNIST (else the embedded mnist-10k) -> model.fastnn
    fastnn train --model fashion_cnn              the small CNN on Fashion-MNIST
    fastnn evaluate model.fastnn --plots out/     accuracy, confusion matrix, most-confused pairs, PNGs
    fastnn predict model.fastnn digit.png ...     class and top-3 probabilities per image
    fastnn draw [--model model.fastnn]            a web page at http://127.0.0.1:8000/ to draw digits on and
                                                  see the top 3 and the 28x28 image the model read
    fastnn backends                               which backend runs each op
    fastnn warmup                                 compile Numba's kernels once (about 100 s), for auto

Each command is one entry of _SUBCOMMANDS: name -> (one-line help, add_arguments(parser), run(args));
run returns the exit code. Exit codes: 0 done, 1 a library error (one line on stderr), 2 bad arguments
(argparse), 130 interrupted.
"""
import argparse
import importlib.util
import io
import os
import sys
import time
from collections import Counter

import numpy as np

from . import backend, callbacks, datasets, metrics, models, optimizers
from .trainers.data import stratified_split
from .utils import make_rng, set_seed

_DATASETS = {"mnist": "mnist", "fashion_mnist": "fashion_mnist", "mnist_10k": "mnist-10k"}   # name -> shown
_OPTIMIZERS = ("adam", "sgd", "rmsprop", "adagrad")
_DIGIT_TROUBLE = ((1, 7), (7, 1), (4, 9), (9, 4), (1, 4), (4, 1), (7, 4), (4, 7))
_IMAGE_SIZE = 28 * 28


# -- argument types: each raises ArgumentTypeError, so argparse exits with code 2 and the usage --------------
def _number(parse, ok, expected):
    """An argparse type: text -> parse(text), which must satisfy ok; else "expected ... Received: ..."."""
    def convert(text):
        try:
            value = parse(text)
        except ValueError:
            value = None
        if value is None or not ok(value):
            raise argparse.ArgumentTypeError(f"expected {expected}. Received: {text!r}")
        return value
    convert.__name__ = expected
    return convert


_positive_int = _number(int, lambda v: v >= 1, "a positive integer")
_natural = _number(int, lambda v: v >= 0, "an integer >= 0")
_positive_float = _number(float, lambda v: bool(np.isfinite(v)) and v > 0, "a positive number")
_fraction = _number(float, lambda v: 0 <= v < 1, "a number in [0, 1)")
_port = _number(int, lambda v: 0 <= v <= 65535, "a port number in 0..65535 (0: any free port)")


def _dataset(text):
    key = text.lower().replace("-", "_")
    if key not in _DATASETS:
        raise argparse.ArgumentTypeError(f"expected one of {', '.join(_DATASETS.values())}. Received: {text!r}")
    return key


def _model_choice(text):
    """A recipe name, or the path of an existing JSON spec (a Python file is refused: it would be run)."""
    if text in models.RECIPES:
        return text
    ext = os.path.splitext(text)[1].lower()
    if ext == ".py":
        raise argparse.ArgumentTypeError(f"expected a recipe name or a JSON model spec. Received: the Python file "
                                         f"{text!r} (model files are never executed; describe the layers in JSON)")
    if ext != ".json":
        raise argparse.ArgumentTypeError(f"expected one of {', '.join(models.RECIPES)} or a path ending in .json. "
                                         f"Received: {text!r}")
    if not os.path.isfile(text):
        raise argparse.ArgumentTypeError(f"no such model spec file: {text!r}")
    return text


# -- data -----------------------------------------------------------------------------------------------
def _load(name, limit):
    """(x_train, y_train), (x_test, y_test) with x float32 (N,28,28,1) in [0,1], and the lines saying which
    data it is. name None: full MNIST when found locally (never downloaded for a default), else mnist-10k."""
    note = []
    if name is None:
        found = datasets.find("mnist")
        name = "mnist" if found is not None else "mnist_10k"
        if found is None:
            looked = ", ".join(str(d) for d in datasets.search_dirs("mnist"))
            note = [f"      (full MNIST was not found locally; looked in {looked}. Set FASTNN_DATA to a folder "
                    "holding its four IDX files, or pass --dataset mnist to download it)"]
    ((x, y), (xt, yt)), source = datasets.load(name, return_source=True)
    if limit is not None:
        x, y, xt, yt = x[:limit], y[:limit], xt[:limit], yt[:limit]
    title = getattr(datasets, name).title
    lines = [f"Data: {title}: {len(x):,} training and {len(xt):,} test images, from {source}"] + note
    return (_scale(x), y), (_scale(xt), yt), name, lines


def _scale(images):
    """uint8 (N,28,28) -> float32 (N,28,28,1) in [0,1]."""
    return (images.astype(np.float32) / 255.0)[..., None]


def _as_input(x, model):
    """Images (N,28,28,1) reshaped to the model's per-sample input shape when it holds 784 values."""
    shape = model.input_shape[1:]
    if int(np.prod(shape)) != _IMAGE_SIZE:
        raise ValueError(f"fastnn's datasets hold 28x28 grey images, so the model must take 784 values per sample. "
                         f"Received: a model with input shape {model.input_shape}")
    return x.reshape((len(x),) + shape)


def _recipe_of(model):
    """The recipe whose builder made this model (matched by the model's name), or None."""
    return next((r for r in models.RECIPES.values() if r.builder.__name__ == model.name), None)


def _class_names(dataset, k):
    names = getattr(datasets, dataset).class_names if dataset else None
    return list(names) if names is not None and len(names) == k else [str(i) for i in range(k)]


def _default_dataset(recipe):
    """--dataset's default for a model: its recipe's dataset ("digits" -> None: MNIST or mnist-10k)."""
    return None if recipe is None or recipe.dataset == "digits" else recipe.dataset


# -- reports ---------------------------------------------------------------------------------------------
def _format_matrix(matrix, labels):
    """The confusion matrix as aligned text: rows true class, columns predicted."""
    width = max(len(f"{matrix.max():,}"), *(len(s) for s in labels), 3)
    corner = "true\\pred"
    first = max(len(corner), *(len(s) for s in labels))
    lines = [corner.rjust(first) + "".join(s.rjust(width + 1) for s in labels)]
    for label, row in zip(labels, matrix):
        lines.append(label.rjust(first) + "".join(f"{v:,}".rjust(width + 1) for v in row))
    return "\n".join(lines)


def _test_report(model, x_test, y_test, class_names, plots_dir, full):
    """Print test accuracy (and, when full, the confusion matrix and the worst confusions); write the
    confusion and misclassified PNGs into plots_dir."""
    probs = model.predict(_as_input(x_test, model), batch_size=256)
    pred = probs.argmax(axis=1)
    k = probs.shape[1]
    acc = metrics.accuracy(y_test, probs)
    print(f"Test accuracy: {acc:.2%} ({int(np.count_nonzero(pred == y_test)):,} of {len(y_test):,})")
    matrix = metrics.confusion_matrix(y_test, pred, num_classes=k)
    if full:
        digits = class_names == [str(i) for i in range(k)]
        labels = class_names if digits else [str(i) for i in range(k)]
        print("\nConfusion matrix (rows: true class, columns: predicted):")
        print(_format_matrix(matrix, labels))
        if not digits:
            print("Classes: " + ", ".join(f"{i} {name}" for i, name in enumerate(class_names)))
        worst = metrics.most_confused(matrix, top=5)
        print("\nMost confused (true → predicted: count):")
        for t, p, count in worst or []:
            print(f"  {class_names[t]} → {class_names[p]}: {count}")
        if not worst:
            print("  none: every test image is classified correctly")
        if digits and k == 10:
            print("\nThe 1/4/7 trouble spot (digits that look alike; true → predicted: count):")
            print("  " + "   ".join(f"{t}→{p}: {matrix[t, p]}" for t, p in _DIGIT_TROUBLE))
    if plots_dir:
        from . import plots

        plots.plot_confusion_matrix(matrix, class_names, path=os.path.join(plots_dir, "confusion.png"))
        plots.plot_misclassified(x_test, y_test, pred, probs=probs, class_names=class_names,
                                 path=os.path.join(plots_dir, "misclassified.png"))


def _require_matplotlib():
    """Fail before a long training run, not after it, when --plots cannot be honoured."""
    if importlib.util.find_spec("matplotlib") is None:
        raise ImportError('--plots needs matplotlib, an optional extra: pip install "fastnn[plot]"')


def _add_runtime(p):
    p.add_argument("--backend", choices=("auto",) + backend.BACKENDS, default="auto",
                   help="kernels to use (default auto: per op, the fastest available here)")
    p.add_argument("--threads", type=_positive_int, help="threads for the kernels and BLAS (default: every core)")


def _setup_runtime(args):
    backend.set_backend(args.backend)
    if args.threads is not None:
        backend.set_num_threads(args.threads)


def _backend_line():
    selected = backend.get_backend()
    chosen = {op: backend.auto_choice(op) if selected == "auto" else selected for op in backend.OPS}
    name = selected
    if selected == "auto":
        counts = Counter(chosen.values())
        name += " (" + ", ".join(f"{b} for {n} ops" for b, n in counts.most_common()) + ")"
    line = f"Backend: {name}; threads: {backend.get_num_threads()}"
    if any(b == "numba" and not backend.numba_compiled(op) for op, b in chosen.items()):
        # about a minute of CPU for LeNet-5's conv and pooling kernels, the first time only
        line += ("\n      (Numba compiles its kernels during the first epoch and caches them for later runs; "
                 "`fastnn warmup` does it ahead)")
    return line


# -- train -----------------------------------------------------------------------------------------------
def _add_train(p):
    recipes = ", ".join(models.RECIPES)
    p.add_argument("--model", type=_model_choice, default="lenet", metavar="NAME|SPEC.json",
                   help=f"a recipe ({recipes}; default lenet, plain LeNet-5) or a JSON model spec: an object with "
                        '"input_shape" and "layers", a list of {"class_name", "config"} as in '
                        'Sequential.get_config()["layers"]. Only JSON: a .py file is refused, never executed')
    p.add_argument("--dataset", type=_dataset, metavar="NAME",
                   help="mnist, fashion_mnist or mnist-10k (default: the recipe's; for digits, full MNIST when "
                        "found locally, else the 10,000 digits shipped with fastnn)")
    p.add_argument("--epochs", type=_positive_int, help="default: the recipe's")
    p.add_argument("--batch-size", type=_positive_int, help="default: the recipe's")
    p.add_argument("--optimizer", choices=_OPTIMIZERS, help="default: the recipe's")
    p.add_argument("--lr", type=_positive_float, metavar="RATE",
                   help="initial learning rate (default: the recipe's; the recipe's per-epoch decay still applies)")
    p.add_argument("--validation-split", type=_fraction, default=0.1, metavar="FRACTION",
                   help="hold out this stratified fraction of the training set to report val_loss/val_accuracy "
                        "each epoch (default 0.1; 0 for none)")
    p.add_argument("--augment", type=_natural, metavar="COPIES",
                   help="add this many randomly shifted, rotated, scaled and re-stroked copies of the training "
                        f"images (fastnn.preprocess.Augment; 0 for none). Default: the recipe's, for training sets "
                        f"under {models.SMALL_TRAINING_SET:,} images")
    _add_runtime(p)
    p.add_argument("--seed", type=_natural, help="fix initial weights, shuffling and dropout for a repeatable run")
    p.add_argument("--out", default="model.fastnn", metavar="PATH", help="where to save the model (default "
                                                                         "model.fastnn in the current folder)")
    p.add_argument("--plots", metavar="DIR", help="write history.png, confusion.png and misclassified.png "
                                                  "there (needs matplotlib)")
    p.add_argument("--limit", type=_positive_int, metavar="N",
                   help="use only the first N training and N test images (quick smoke tests)")
    rows = [f"  {name:12s} {r.builder.__name__}: {r.optimizer} lr {r.learning_rate:g}"
            + (f" x{r.lr_decay:g} per epoch" if r.lr_decay != 1 else "")
            + f", {r.epochs} epochs, batch size {r.batch_size}, on {r.dataset}"
            + (f", {r.augment} augmented copies of small training sets" if r.augment else "")
            for name, r in models.RECIPES.items()]
    p.epilog = "recipes (their defaults):\n" + "\n".join(rows)


def _augmented(x, y, copies, validation_split):
    """The training images plus `copies` augmented copies (fastnn.preprocess.Augment, drawn from the set_seed
    stream), and the validation set, held out first so that it holds no altered copy of a training image."""
    from .preprocess import Augment

    val = None
    if validation_split:
        train, held_out = stratified_split(y, validation_split, make_rng())
        val, x, y = (x[held_out], y[held_out]), x[train], y[train]
    augment = Augment()
    line = (f"Augmentation: {len(x):,} training images + {copies} altered copies of each, by {augment!r}"
            + (f"; {len(val[0]):,} held out for validation first" if val is not None else ""))
    return np.concatenate([x] + [augment(x) for _ in range(copies)]), np.tile(y, copies + 1), val, line


def _cmd_train(args):
    if args.plots:
        _require_matplotlib()
    _setup_runtime(args)
    if args.seed is not None:
        set_seed(args.seed)
    if args.model in models.RECIPES:
        recipe = models.RECIPES[args.model]
        model = recipe.builder(seed=args.seed)
    else:
        recipe = models.SPEC_RECIPE
        model = models.from_spec(args.model, seed=args.seed)
    dataset = args.dataset if args.dataset is not None else _default_dataset(recipe)
    (x, y), (x_test, y_test), dataset, lines = _load(dataset, args.limit)
    copies = recipe.augment_copies(len(x)) if args.augment is None else args.augment
    data = {"validation_split": args.validation_split}
    if copies:
        x, y, val, line = _augmented(x, y, copies, args.validation_split)
        data = {"validation_data": None if val is None else (_as_input(val[0], model), val[1])}
        lines.append(line)
    for line in lines:
        print(line)
    epochs = args.epochs or recipe.epochs
    batch_size = args.batch_size or recipe.batch_size
    lr = args.lr or recipe.learning_rate
    optimizer = optimizers.get(args.optimizer or recipe.optimizer)
    optimizer.learning_rate = lr
    model.compile(optimizer, "sparse_categorical_crossentropy", metrics=["accuracy"])
    schedule = []
    decay = ""
    if recipe.lr_decay != 1.0:
        schedule = [callbacks.LearningRateScheduler(lambda epoch, _: recipe.learning_rate_at(epoch, lr))]
        decay = f", x{recipe.lr_decay:g} per epoch"
    print(f"Model: {model.name} ({model.count_params():,} parameters); {type(optimizer).__name__}, learning rate "
          f"{lr:g}{decay}; epochs {epochs}, batch size {batch_size}")
    print(_backend_line(), flush=True)
    t0 = time.perf_counter()
    history = model.fit(_as_input(x, model), y, epochs=epochs, batch_size=batch_size, callbacks=schedule,
                        verbose="auto", **data)
    elapsed = time.perf_counter() - t0
    speeds = history.history.get("samples_per_second", [])
    if speeds:
        # the median epoch: the first one may include compiling Numba's kernels
        print(f"Trained in {elapsed:.1f} s ({len(speeds)} of {epochs} epochs); {np.median(speeds):,.0f} samples/s, "
              "the median epoch")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    model.save(args.out)
    _test_report(model, x_test, y_test, _class_names(dataset, model.output_shape[-1]), args.plots, full=False)
    print(f"Saved the model to {args.out}")
    if args.plots and history.epoch:
        from . import plots

        plots.plot_history(history, path=os.path.join(args.plots, "history.png"))
    if args.plots:
        print(f"Wrote history.png, confusion.png and misclassified.png to {args.plots}")
    return 0


# -- evaluate --------------------------------------------------------------------------------------------
def _add_evaluate(p):
    p.add_argument("model", metavar="MODEL.fastnn", help="a model saved by `fastnn train` or Model.save")
    p.add_argument("--dataset", type=_dataset, metavar="NAME",
                   help="mnist, fashion_mnist or mnist-10k (default: the one the model's recipe trains on; for "
                        "digits, full MNIST when found locally, else mnist-10k)")
    p.add_argument("--plots", metavar="DIR", help="write confusion.png and misclassified.png there (needs "
                                                  "matplotlib)")
    p.add_argument("--limit", type=_positive_int, metavar="N", help="evaluate the first N test images only")
    _add_runtime(p)


def _cmd_evaluate(args):
    from .saving import load_model

    if args.plots:
        _require_matplotlib()
    _setup_runtime(args)
    model = load_model(args.model, compile=False)
    dataset = args.dataset if args.dataset is not None else _default_dataset(_recipe_of(model))
    _, (x_test, y_test), dataset, lines = _load(dataset, args.limit)
    print(f"Model: {model.name} ({model.count_params():,} parameters) from {args.model}")
    for line in lines:
        print(line)
    _test_report(model, x_test, y_test, _class_names(dataset, model.output_shape[-1]), args.plots, full=True)
    if args.plots:
        print(f"\nWrote confusion.png and misclassified.png to {args.plots}")
    return 0


# -- predict ---------------------------------------------------------------------------------------------
def _simple_image(image):
    """An image file (a path, or its content as bytes) -> float32 (28,28) in [0,1], light on dark: grey,
    inverted when the border is light, the whole picture resized to 28x28 (no cropping or centring)."""
    from PIL import Image

    with Image.open(io.BytesIO(image) if isinstance(image, (bytes, bytearray)) else image) as img:
        img.load()
        if "A" in img.getbands() or "transparency" in img.info:
            canvas = Image.new("RGBA", img.size, "white")
            img = Image.alpha_composite(canvas, img.convert("RGBA"))
        grey = np.asarray(img.convert("L").resize((28, 28), Image.LANCZOS), np.float32) / 255.0
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    return 1.0 - grey if np.median(border) > 0.5 else grey


def _digit_reader():
    """fastnn.preprocess.to_mnist when that module exists (crop, stroke width, centre of mass as MNIST),
    else the simple resize."""
    try:
        from .preprocess import to_mnist
    except ModuleNotFoundError as exc:
        if exc.name != "fastnn.preprocess":
            raise
        return _simple_image
    return to_mnist


def _image_reader(model):
    """(reader, class names): how predict and draw read images for this model. reader takes a path or file
    bytes; digit models (and models of no known recipe) get _digit_reader, the others the simple resize."""
    dataset = _default_dataset(_recipe_of(model))
    names = _class_names(dataset or "mnist", model.output_shape[-1])
    return (_digit_reader() if dataset is None else _simple_image), names


def _checked_image(image, what):
    """A reader's result -> float32 (28,28,1); ValueError, naming `what` was read, for any other shape."""
    image = np.asarray(image, np.float32)
    if image.shape not in ((28, 28), (28, 28, 1)):
        raise ValueError(f"{what}: the image reader returned shape {image.shape}; expected (28, 28)")
    return image.reshape(28, 28, 1)


def _read_image(path, reader):
    if not os.path.isfile(path):
        raise ValueError(f"no such image file: {path!r}")
    try:
        image = reader(path)
    except (OSError, ValueError, SyntaxError) as exc:   # Pillow raises SyntaxError for some broken headers
        raise ValueError(f"image {path!r}: {type(exc).__name__}: {' '.join(str(exc).split())}") from None
    return _checked_image(image, repr(path))


def _top_classes(model, x, k):
    """The k most probable classes for one image x (28,28,1) in [0,1]: [(class, probability)], the most
    probable first."""
    probs = model.predict(_as_input(x[None], model))[0]
    return [(int(c), float(probs[c])) for c in np.argsort(-probs, kind="stable")[:k]]


_PREDICT_NOTE = """Digit models read images with fastnn.preprocess.to_mnist when it is installed: the ink is
cropped, its strokes redrawn at MNIST's width, scaled into a 20x20 box and centred by mass, as MNIST
digits were. Without it, and for Fashion-MNIST models, the image is only made grey, inverted when its
border is light (models expect light on dark) and resized to 28x28 as a whole."""


def _add_predict(p):
    p.add_argument("model", metavar="MODEL.fastnn", help="a model saved by `fastnn train` or Model.save")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files Pillow reads (PNG, JPEG, ...)")
    p.add_argument("--top", type=_positive_int, default=3, help="how many classes to list per image (default 3)")
    _add_runtime(p)
    p.epilog = _PREDICT_NOTE


def _cmd_predict(args):
    from .saving import load_model

    _setup_runtime(args)
    model = load_model(args.model, compile=False)
    reader, names = _image_reader(model)
    failed = 0
    for path in args.images:
        try:
            x = _read_image(path, reader)
        except ValueError as exc:
            print(f"fastnn predict: error: {exc}", file=sys.stderr)
            failed += 1
            continue
        top = _top_classes(model, x, args.top)
        listed = ", ".join(f"{names[c]} {p:.1%}" for c, p in top)
        print(f"{path}: {names[top[0][0]]}   (top {len(top)}: {listed})")
    return 1 if failed else 0


# -- draw ------------------------------------------------------------------------------------------------
_DRAW_MODEL = "model.fastnn"
# What `draw` trains when it finds no model: `train` with these options (LeNet-5, one epoch on the shipped
# 7,200 training digits, no augmented copies: about a minute on two cores; the full recipe takes 5 epochs
# on three times as many images and reads drawn digits more reliably).
_DRAW_TRAIN = ["--model", "lenet", "--dataset", "mnist-10k", "--epochs", "1", "--augment", "0"]


def _add_draw(p):
    p.add_argument("--model", metavar="MODEL.fastnn",
                   help=f"a model saved by `fastnn train` or Model.save (default: ./{_DRAW_MODEL}; when there is "
                        f"none, LeNet-5 is first trained briefly, with `fastnn train {' '.join(_DRAW_TRAIN)}`, and "
                        "saved there)")
    p.add_argument("--host", default="127.0.0.1",
                   help="the address to listen on (default 127.0.0.1: only this computer can open the page)")
    p.add_argument("--port", type=_port, default=8000, help="the port to listen on (default 8000; 0: any free port)")
    _add_runtime(p)
    p.epilog = ("The page: a canvas to draw on (mouse, pen or finger), a stroke-width slider, Undo and Clear, the\n"
                "model's top 3 classes after each stroke, and the 28x28 image the model read, enlarged.\n"
                "Ctrl-C stops the server.")


def _train_for_draw(path, args):
    """No model given and none at `path`: train one with the `train` command (_DRAW_TRAIN) and save it there."""
    recipe = models.RECIPES["lenet"]
    print(f"fastnn draw: no --model given and no {path} here, so training LeNet-5 first: 1 epoch on the digits "
          f"shipped with fastnn, without augmentation (about a minute). `fastnn train` trains the full recipe "
          f"({recipe.epochs} epochs, with augmented copies), which reads drawn digits better. The model is saved "
          f"to {path} for the next run.", file=sys.stderr, flush=True)
    argv = ["train", *_DRAW_TRAIN, "--backend", args.backend, "--out", path]
    if args.threads is not None:
        argv += ["--threads", str(args.threads)]
    _cmd_train(build_parser().parse_args(argv))
    print(flush=True)


def _cmd_draw(args):
    from . import draw
    from .saving import load_model

    _setup_runtime(args)
    path = args.model
    if path is None:
        path = _DRAW_MODEL
        if not os.path.isfile(path):
            _train_for_draw(path, args)
    model = load_model(path, compile=False)
    server = draw.make_server(model, args.host, args.port)
    try:
        print(f"Model: {model.name} ({model.count_params():,} parameters) from {path}")
        if not draw.is_loopback(args.host):
            print(f"fastnn draw: listening on {args.host}: other computers that reach this one can use the page",
                  file=sys.stderr)
        print(f"Serving the drawing page at {draw.url(server)}  (Ctrl-C stops)", flush=True)
        server.serve_forever()
    finally:
        server.server_close()
    return 0


# -- backends --------------------------------------------------------------------------------------------
def _no_arguments(p):
    """add_arguments of a command that takes none (backends, warmup)."""


def _cmd_backends(args):
    print(backend.backend_report())
    return 0


# -- warmup ----------------------------------------------------------------------------------------------
def _cmd_warmup(args):
    """Compile the Numba kernels of the built-in models (float32) into Numba's cache, for every later process:
    "auto" uses Numba for an op only once its kernel is compiled (backend.auto_choice)."""
    if "numba" not in backend.available_backends():
        raise backend.BackendUnavailableError(f"numba is not available: {backend.unavailable_reason('numba')}")
    selected = backend.get_backend()
    rng = make_rng(0)
    start = time.perf_counter()
    try:
        backend.set_backend("numba")
        for name, recipe in models.RECIPES.items():
            t0 = time.perf_counter()
            model = recipe.builder(seed=0)
            model.compile(recipe.optimizer, "sparse_categorical_crossentropy")
            x = rng.random((4,) + model.input_shape[1:], dtype=np.float32)
            model.train_on_batch(x, np.arange(4) % model.output_shape[-1])   # forward, backward, update
            model.predict(x)                                                # inference (batch norm, dropout)
            print(f"{name:12s} {time.perf_counter() - t0:6.1f} s", flush=True)
    finally:
        backend.set_backend(selected)
    ready = [op for op in backend.AUTO_OVERRIDES if backend.numba_compiled(op)]
    print(f"Numba kernels compiled and cached in {time.perf_counter() - start:.1f} s; "
          f"auto now runs on Numba: {', '.join(ready) or 'none'}")
    return 0


# name -> (help, add_arguments, run)
_SUBCOMMANDS = {
    "train": ("train a model on MNIST-like data and save it", _add_train, _cmd_train),
    "evaluate": ("accuracy, confusion matrix and most-confused classes of a saved model", _add_evaluate,
                 _cmd_evaluate),
    "predict": ("classify image files with a saved model", _add_predict, _cmd_predict),
    "draw": ("a local web page to draw digits and see the model's top 3 and the 28x28 image it read", _add_draw,
             _cmd_draw),
    "backends": ("show which backend (numpy, numba, cython) runs each op", _no_arguments, _cmd_backends),
    "warmup": ("compile the Numba kernels of the built-in models once, so that auto uses them from then on",
               _no_arguments, _cmd_warmup),
}


def build_parser():
    parser = argparse.ArgumentParser(
        prog="fastnn", description="Train, evaluate and use small neural networks on a multicore CPU.",
        epilog="Run `fastnn COMMAND --help` for a command's options.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (help_text, add_arguments, run) in _SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text[0].upper() + help_text[1:] + ".",
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        add_arguments(p)
        p.set_defaults(run=run)
    return parser


def main(argv=None):
    """Entry point: parse argv (default sys.argv[1:]) and run the command; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print(f"fastnn {args.command}: interrupted", file=sys.stderr)
        return 130
    except (ValueError, OSError, ImportError, backend.BackendUnavailableError) as exc:
        message = str(exc) if isinstance(exc, datasets.DatasetNotFoundError) else " ".join(str(exc).split())
        print(f"fastnn {args.command}: error: {message}", file=sys.stderr)
        return 1
