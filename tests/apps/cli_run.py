"""Running the command line from the tests: in this process (main) or as `python -m fastnn` in another."""
import contextlib
import io
import os
from pathlib import Path

import fastnn
from fastnn import cli

ROOT = Path(fastnn.__file__).resolve().parent.parent   # the checkout (or site-packages) holding fastnn


def run(argv):
    """cli.main(argv) in this process: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def module_env():
    """The environment for `python -m fastnn` in a subprocess: this fastnn first on PYTHONPATH."""
    return {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
