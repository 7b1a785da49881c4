"""`fastnn train`: a recipe or a JSON spec trained on MNIST-like data, reported on the test set and saved.

Legend: N images; images are 28x28, one channel.
"""
import os
import time

import numpy as np

from .. import callbacks, models, optimizers, plots
from ..inference import as_model_input, class_names, recipe_dataset
from ..trainers.data import stratified_split
from ..utils import make_rng, set_seed
from . import data, options, report

OPTIMIZERS = ("adam", "sgd", "rmsprop", "adagrad")


def add_arguments(p):
    recipes = ", ".join(models.RECIPES)
    p.add_argument("--model", type=options.model_choice, default="lenet", metavar="NAME|SPEC.json",
                   help=f"a recipe ({recipes}; default lenet, plain LeNet-5) or a JSON model spec: an object with "
                        '"input_shape" and "layers", a list of {"class_name", "config"} as in '
                        'Sequential.get_config()["layers"]. Only JSON: a .py file is refused, never executed')
    p.add_argument("--dataset", type=options.dataset, metavar="NAME",
                   help="mnist, fashion_mnist or mnist-10k (default: the recipe's; for digits, full MNIST when "
                        "found locally, else the 10,000 digits shipped with fastnn)")
    p.add_argument("--epochs", type=options.positive_int, help="default: the recipe's")
    p.add_argument("--batch-size", type=options.positive_int, help="default: the recipe's")
    p.add_argument("--optimizer", choices=OPTIMIZERS, help="default: the recipe's")
    p.add_argument("--lr", type=options.positive_float, metavar="RATE",
                   help="initial learning rate (default: the recipe's; the recipe's per-epoch decay still applies)")
    p.add_argument("--validation-split", type=options.fraction, default=0.1, metavar="FRACTION",
                   help="hold out this stratified fraction of the training set to report val_loss/val_accuracy "
                        "each epoch (default 0.1; 0 for none)")
    p.add_argument("--augment", type=options.natural, metavar="COPIES",
                   help="add this many randomly shifted, rotated, scaled and re-stroked copies of the training "
                        f"images (fastnn.digits.Augment; 0 for none). Default: the recipe's, for training sets "
                        f"under {models.SMALL_TRAINING_SET:,} images")
    options.add_runtime(p)
    p.add_argument("--seed", type=options.natural,
                   help="fix initial weights, shuffling and dropout for a repeatable run")
    p.add_argument("--out", default="model.fastnn", metavar="PATH", help="where to save the model (default "
                                                                         "model.fastnn in the current folder)")
    p.add_argument("--plots", metavar="DIR", help="write history.png, confusion.png and misclassified.png "
                                                  "there (needs matplotlib)")
    p.add_argument("--limit", type=options.positive_int, metavar="N",
                   help="use only the first N training and N test images (quick smoke tests)")
    rows = [f"  {name:12s} {r.builder.__name__}: {r.optimizer} lr {r.learning_rate:g}"
            + (f" x{r.lr_decay:g} per epoch" if r.lr_decay != 1 else "")
            + f", {r.epochs} epochs, batch size {r.batch_size}, on {r.dataset}"
            + (f", {r.augment} augmented copies of small training sets" if r.augment else "")
            for name, r in models.RECIPES.items()]
    p.epilog = "recipes (their defaults):\n" + "\n".join(rows)


def augmented(x, y, copies, validation_split):
    """The training images plus `copies` augmented copies (fastnn.digits.Augment, drawn from the set_seed
    stream), and the validation set, held out first so that it holds no altered copy of a training image."""
    from ..digits import Augment   # scipy.ndimage and scikit-image: loaded when augmenting only

    val = None
    if validation_split:
        train, held_out = stratified_split(y, validation_split, make_rng())
        val, x, y = (x[held_out], y[held_out]), x[train], y[train]
    augment = Augment()
    line = (f"Augmentation: {len(x):,} training images + {copies} altered copies of each, by {augment!r}"
            + (f"; {len(val[0]):,} held out for validation first" if val is not None else ""))
    return np.concatenate([x] + [augment(x) for _ in range(copies)]), np.tile(y, copies + 1), val, line


def run(args):
    if args.plots:
        report.require_matplotlib()
    options.check_output_file(args.out, "--out")
    if args.plots:
        options.check_output_folder(args.plots, "--plots")
    options.setup_runtime(args)
    if args.seed is not None:
        set_seed(args.seed)
    if args.model in models.RECIPES:
        recipe = models.RECIPES[args.model]
        model = recipe.builder(seed=args.seed)
    else:
        recipe = models.SPEC_RECIPE
        model = models.from_spec(args.model, seed=args.seed)
    dataset = args.dataset if args.dataset is not None else recipe_dataset(recipe)
    (x, y), (x_test, y_test), dataset, lines = data.load(dataset, args.limit)
    copies = recipe.augment_copies(len(x)) if args.augment is None else args.augment
    validation = {"validation_split": args.validation_split}
    if copies:
        x, y, val, line = augmented(x, y, copies, args.validation_split)
        validation = {"validation_data": None if val is None else (as_model_input(val[0], model), val[1])}
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
    print(options.backend_line(), flush=True)
    t0 = time.perf_counter()
    history = model.fit(as_model_input(x, model), y, epochs=epochs, batch_size=batch_size, callbacks=schedule,
                        verbose="auto", **validation)
    elapsed = time.perf_counter() - t0
    speeds = history.timing["samples_per_second"]
    if speeds:
        # the median epoch: the first one may include compiling Numba's kernels
        print(f"Trained in {elapsed:.1f} s ({len(speeds)} of {epochs} epochs); {np.median(speeds):,.0f} samples/s, "
              "the median epoch")
    model.save(args.out)
    report.print_test_report(model, x_test, y_test, class_names(dataset, model.output_shape[-1]), args.plots,
                             full=False)
    print(f"Saved the model to {args.out}")
    if args.plots and history.epoch:
        plots.plot_history(history, path=os.path.join(args.plots, "history.png"))
    if args.plots:
        print(f"Wrote history.png, confusion.png and misclassified.png to {args.plots}")
    return 0
