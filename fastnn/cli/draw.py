"""`fastnn draw`: serve the drawing page (fastnn.draw) for a saved model, training one first when there is
none."""
import argparse
import os
import sys

from .. import models
from ..saving import load_model
from . import options, train

MODEL = "model.fastnn"
# What `draw` trains when it finds no model: `train` with these options (LeNet-5, one epoch on the shipped
# 7,200 training digits, no augmented copies: about a minute on two cores; the full recipe takes 5 epochs
# on three times as many images and reads drawn digits more reliably).
TRAIN_ARGS = ["--model", "lenet", "--dataset", "mnist-10k", "--epochs", "1", "--augment", "0"]


def add_arguments(p):
    p.add_argument("--model", metavar="MODEL.fastnn",
                   help=f"a model saved by `fastnn train` or Model.save (default: ./{MODEL}; when there is "
                        f"none, LeNet-5 is first trained briefly, with `fastnn train {' '.join(TRAIN_ARGS)}`, and "
                        "saved there)")
    p.add_argument("--host", default="127.0.0.1",
                   help="the address to listen on (default 127.0.0.1: only this computer can open the page)")
    p.add_argument("--port", type=options.port, default=8000, help="the port to listen on (default 8000; 0: any "
                                                                   "free port)")
    options.add_runtime(p)
    p.epilog = ("The page: a canvas to draw on (mouse, pen or finger), a stroke-width slider, Undo and Clear, the\n"
                "model's top 3 classes after each stroke, and the 28x28 image the model read, enlarged.\n"
                "Ctrl-C stops the server.")


def _train_first(path, args):
    """No model given and none at `path`: train one with the `train` command (TRAIN_ARGS) and save it there."""
    recipe = models.RECIPES["lenet"]
    print(f"fastnn draw: no --model given and no {path} here, so training LeNet-5 first: 1 epoch on the digits "
          f"shipped with fastnn, without augmentation (about a minute). `fastnn train` trains the full recipe "
          f"({recipe.epochs} epochs, with augmented copies), which reads drawn digits better. The model is saved "
          f"to {path} for the next run.", file=sys.stderr, flush=True)
    argv = [*TRAIN_ARGS, "--backend", args.backend, "--out", path]
    if args.threads is not None:
        argv += ["--threads", str(args.threads)]
    parser = argparse.ArgumentParser(prog="fastnn train")
    train.add_arguments(parser)
    train.run(parser.parse_args(argv))
    print(flush=True)


def run(args):
    # the server (http.server, fastnn.digits) is loaded by this command only
    from .. import draw

    options.setup_runtime(args)
    path = args.model
    if path is None:
        path = MODEL
        if not os.path.isfile(path):
            _train_first(path, args)
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
