"""The parser and the dispatch of `fastnn <command>`: each command is one entry of COMMANDS,
name -> (one-line help, add_arguments(parser), run(args)); run returns the exit code."""
import argparse
import sys

from .. import backend, datasets
from . import draw, evaluate, info, predict, train

COMMANDS = {
    "train": ("train a model on MNIST-like data and save it", train.add_arguments, train.run),
    "evaluate": ("accuracy, confusion matrix and most-confused classes of a saved model", evaluate.add_arguments,
                 evaluate.run),
    "predict": ("classify image files with a saved model", predict.add_arguments, predict.run),
    "draw": ("a local web page to draw digits and see the model's top 3 and the 28x28 image it read",
             draw.add_arguments, draw.run),
    "info": ("show the CPU variant of the kernels, the thread pool and threads, and the backend of each op",
             info.no_arguments, info.run_backends),
    "backends": ("show which backend (numpy, numba, cython) runs each op (the same report as info)",
                 info.no_arguments, info.run_backends),
    "warmup": ("compile the Numba kernels of the built-in models once, so that auto uses them from then on",
               info.no_arguments, info.run_warmup),
}


DEBUG_HELP = "on an error, show Python's traceback instead of one line"


def build_parser():
    parser = argparse.ArgumentParser(
        prog="fastnn", description="Train, evaluate and use small neural networks on a multicore CPU.",
        epilog="Run `fastnn COMMAND --help` for a command's options.")
    parser.add_argument("--debug", action="store_true", help=DEBUG_HELP)
    # --debug after the command too; SUPPRESS keeps `fastnn --debug COMMAND` from being reset by the command
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=DEBUG_HELP)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (help_text, add_arguments, run) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text[0].upper() + help_text[1:] + ".",
                           formatter_class=argparse.RawDescriptionHelpFormatter, parents=[common])
        add_arguments(p)
        p.set_defaults(run=run)
    return parser


def main(argv=None):
    """Entry point: parse argv (default sys.argv[1:]) and run the command; returns the exit code.

    Every failure is one line on stderr (a usage error: argparse's usage and exit code 2; anything while
    running: exit code 1), never a traceback unless --debug asks for it."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print(f"fastnn {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:   # MemoryError included
        if args.debug:
            raise
        print(f"fastnn {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 1


def _one_line(exc):
    """What went wrong, for a user: the message of an error fastnn raises on purpose (bad input, files,
    backends); the kind and message of anything else, with how to see more."""
    if isinstance(exc, datasets.DatasetNotFoundError):
        return str(exc)   # its lines say where the data was looked for
    message = " ".join(str(exc).split())
    if isinstance(exc, (ValueError, OSError, ImportError, backend.BackendUnavailableError)):
        return message
    if isinstance(exc, MemoryError):
        return f"out of memory{': ' + message if message else ''}"
    return f"{type(exc).__name__}: {message} (an internal error: run again with --debug for the traceback)"
