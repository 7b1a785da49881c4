"""The command line: `python -m fastnn <command>`, or the `fastnn` script.

    fastnn train                                  LeNet-5 on MNIST (else the embedded mnist-10k) -> model.fastnn
    fastnn train --model fashion_cnn              the small CNN on Fashion-MNIST
    fastnn evaluate model.fastnn --plots out/     accuracy, confusion matrix, most-confused pairs, PNGs
    fastnn predict model.fastnn digit.png ...     class and top-3 probabilities per image
    fastnn draw [--model model.fastnn]            a web page at http://127.0.0.1:8000/ to draw digits on and
                                                  see the top 3 and the 28x28 image the model read
    fastnn backends                               which backend runs each op
    fastnn warmup                                 compile Numba's kernels once (about 100 s), for auto

main.py holds the parser and the dispatch; one module per command (train, evaluate, predict, draw) or group
(info: backends, warmup), each with add_arguments(parser) and run(args); options.py the argument types and
the runtime options, data.py the datasets' images, report.py the test-set report. Images are read through
fastnn.inference, which the drawing server (fastnn.draw) uses too.

Exit codes: 0 done, 1 a library error (one line on stderr), 2 bad arguments (argparse), 130 interrupted.
"""
from .main import build_parser, main

__all__ = ["build_parser", "main"]
