"""What fit, evaluate and predict print: verbose=1 a tqdm bar, 2 one line per epoch (or per call), 0 nothing."""
import sys
import time


def check_verbose(verbose):
    """0, 1 or 2; "auto" is 1 (a bar) on a terminal and 2 (lines) elsewhere, as Keras."""
    if verbose == "auto":
        return 1 if sys.stdout.isatty() else 2
    if verbose not in (0, 1, 2) or isinstance(verbose, bool):
        raise ValueError(f"`verbose` expects 0, 1, 2 or 'auto'. Received: verbose={verbose!r}")
    return verbose


def _metrics(logs):
    return [f"{k}: {v:.4f}" for k, v in logs.items() if k != "learning_rate"]


class Progress:
    def __init__(self, verbose):
        self.verbose = verbose

    def bar(self, steps, desc=None):
        """A tqdm bar over `steps` batches at verbose=1, else None."""
        if self.verbose != 1:
            return None
        from tqdm.auto import tqdm

        return tqdm(total=steps, desc=desc, unit="batch", leave=True, dynamic_ncols=True)

    def epoch_line(self, epoch, epochs, elapsed, logs, samples_per_second):
        if self.verbose == 0:
            return
        parts = [f"Epoch {epoch + 1}/{epochs}", f"{elapsed:.1f}s", *_metrics(logs),
                 f"{samples_per_second:,.0f} samples/s"]
        print(" - ".join(parts), flush=True)

    def call_line(self, steps, elapsed, logs=None):
        """evaluate/predict at verbose=2: one line at the end, as Keras's "32/32 - 0s - 3ms/step"."""
        if self.verbose != 2:
            return
        parts = [f"{steps}/{steps}", f"{elapsed:.1f}s", f"{1000 * elapsed / max(steps, 1):.0f}ms/step",
                 *_metrics(logs or {})]
        print(" - ".join(parts), flush=True)

    def track(self, steps):
        """Progress of one evaluate/predict call: advance() per batch, close(logs) at the end."""
        return _Tracker(self, steps)


class _Tracker:
    def __init__(self, progress, steps):
        self.progress, self.steps = progress, steps
        self.bar = progress.bar(steps)
        self.t0 = time.perf_counter()

    def advance(self):
        if self.bar is not None:
            self.bar.update(1)

    def close(self, logs=None):
        if self.bar is not None:
            if logs:
                self.bar.set_postfix({k: f"{v:.4f}" for k, v in logs.items()}, refresh=False)
            self.bar.close()
        self.progress.call_line(self.steps, time.perf_counter() - self.t0, logs)
