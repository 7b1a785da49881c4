"""Training on a fresh augmentation each epoch: `augmented_epochs` runs Sequential.fit one epoch at a time
and makes its callbacks see a single run.

fit takes fixed arrays, so a new draw per epoch needs one fit per epoch; what this module adds is the
callback bookkeeping across those fits (on_train_begin/end once, params["epochs"] the run's total).

Legend: N images, H rows, W columns.
"""
from ..callbacks import HOOKS, Callback, History, check_callbacks
from ..utils import check_int


def _forward(hook):
    def call(self, *args, **kwargs):
        for cb in self.callbacks:
            getattr(cb, hook)(*args, **kwargs)
    return call


class _EpochCallbacks(Callback):
    """Forwards every hook to `callbacks` except on_train_begin/end, which augmented_epochs calls once
    for the whole run (fit calls them on every one-epoch fit); params["epochs"] is the run's total."""

    def __init__(self, callbacks, epochs):
        super().__init__()
        self.callbacks, self.epochs = callbacks, epochs

    set_model = _forward("set_model")

    def set_params(self, params):
        for cb in self.callbacks:
            cb.set_params({**params, "epochs": self.epochs})


for _hook in HOOKS:
    if _hook not in ("on_train_begin", "on_train_end"):
        setattr(_EpochCallbacks, _hook, _forward(_hook))


def augmented_epochs(model, x, y, augment, epochs, callbacks=None, **fit_kwargs):
    """Train `model` for `epochs` epochs, each on a fresh `augment(x)`; return one History for them all.

    Runs model.fit once per epoch (initial_epoch=e, epochs=e+1; verbose lines read "Epoch e/e"). The
    callbacks see one run: on_train_begin before the first epoch, on_train_end after the last, the other
    hooks as fit calls them, so EarlyStopping, ReduceLROnPlateau and LearningRateScheduler work as in a
    single fit. validation_split is refused (each fit would hold out a different split, leaking the
    validation images into training): pass validation_data.

    Args:
        model: a compiled fastnn.Sequential.
        x: float (N,H,W) or (N,H,W,1), as the model takes it; y: its targets.
        augment: a callable batch -> batch of the same shape, e.g. Augment(seed=0).
        epochs: the number of epochs, >= 0.
        callbacks: fastnn.callbacks.Callback instances.
        **fit_kwargs: passed to model.fit (batch_size, verbose, validation_data, shuffle).
    """
    epochs = check_int("epochs", epochs, minimum=0, owner="augmented_epochs")
    if not callable(augment):
        raise TypeError(f"augmented_epochs(augment=...) expects a callable batch -> batch, e.g. "
                        f"fastnn.digits.Augment(). Received: {augment!r}")
    for name, why in (("validation_split", "each epoch would hold out a different split; pass validation_data"),
                      ("initial_epoch", "augmented_epochs counts the epochs itself")):
        if name in fit_kwargs:
            raise ValueError(f"augmented_epochs does not accept {name}= in fit_kwargs ({why}). Received: "
                             f"{name}={fit_kwargs[name]!r}")
    callbacks = check_callbacks(callbacks, "augmented_epochs")
    history = History()
    forward = _EpochCallbacks(callbacks, epochs)
    forward.set_model(model)
    for cb in callbacks:
        cb.on_train_begin({})
    logs = {}
    for epoch in range(epochs):
        run = model.fit(augment(x), y, epochs=epoch + 1, initial_epoch=epoch, callbacks=[forward], **fit_kwargs)
        history.epoch.append(epoch)
        for key, values in run.history.items():
            history.history.setdefault(key, []).extend(values)
            logs[key] = values[-1]
        for key, values in run.timing.items():
            history.timing[key].extend(values)
        if model.stop_training:
            break
    for cb in callbacks:
        cb.on_train_end(logs)
    model.history = history
    return history
