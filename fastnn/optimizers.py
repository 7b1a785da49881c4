"""Optimizers with Keras 3 defaults and update rules, updating the model's flat parameter buffer in place
with one kernel call per step; plus SimulatedAnnealing, a gradient-free Metropolis search for tiny nets.
"""
import math
import numbers

import numpy as np

from . import backend
from .utils import check_float, make_rng


# The bounds a float hyperparameter is checked against (utils.check_float's keywords)
UNIT = {"low": 0.0, "high": 1.0, "high_open": True}     # a decay or momentum in [0, 1)
POSITIVE = {"low": 0.0, "low_open": True}                # epsilon
NON_NEGATIVE = {"low": 0.0}


class Optimizer:
    """Base class: holds the learning rate, the float hyperparameters named in HYPER (checked against their
    bounds, set as attributes, reported by get_config), the step count and the state buffers (flat, like
    the params)."""

    uses_gradients = True
    state_names = ()
    HYPER = {}   # name -> bounds

    def __init__(self, learning_rate, **hyper):
        self._lr = self._check_lr(learning_rate)
        for name, value in hyper.items():
            setattr(self, name, check_float(name, value, owner=type(self).__name__, **self.HYPER[name]))
        self.iterations = 0
        self.state = {}
        self._param = None

    def _check_lr(self, value):
        return check_float("learning_rate", value, low=0.0, low_open=True, owner=type(self).__name__)

    @property
    def learning_rate(self):
        return self._lr

    @learning_rate.setter
    def learning_rate(self, value):
        self._lr = self._check_lr(value)

    def build(self, param, grad):
        """Bind to the model's flat buffers, allocate state, and look the kernel up once."""
        if self._param is param:
            return
        self._param, self._grad = param, grad
        self.state = {name: self._initial_state(name, param) for name in self.state_names}
        self._buffers = tuple(self.state[name] for name in self.state_names)   # the kernel's state arguments
        self._kernel = backend.kernel(self.kernel_name, dtype=param.dtype) if self.uses_gradients else None

    def resolve(self):
        if self.uses_gradients:
            self._kernel = backend.kernel(self.kernel_name, dtype=self._param.dtype)

    def _initial_state(self, name, param):
        return np.zeros_like(param)

    def apply(self):
        """One update of the bound parameters from the bound gradients: one kernel call,
        kernel(param, grad, *state buffers in state_names order, *self._scalars())."""
        self.iterations += 1
        self._kernel(self._param, self._grad, *self._buffers, *self._scalars())

    def _scalars(self):
        """The kernel's scalar arguments for this step (after the state buffers): by default the learning
        rate, then the hyperparameters in HYPER's order."""
        return (self._lr, *(getattr(self, name) for name in self.HYPER))

    def get_config(self):
        return {"name": type(self).__name__, "learning_rate": self._lr,
                **{name: getattr(self, name) for name in self.HYPER}}

    def get_state(self):
        return {"iterations": self.iterations, **{k: v.copy() for k, v in self.state.items()}}

    def set_state(self, state):
        """Restore what get_state() returned: checked (shapes, finite values, a count >= 0) before anything
        changes, so a damaged state cannot turn the next step's weights into NaN."""
        iterations = state["iterations"]
        if isinstance(iterations, bool) or not isinstance(iterations, numbers.Integral) or iterations < 0:
            raise ValueError(f"optimizer state 'iterations' expects an integer >= 0. Received: {iterations!r}")
        values = {}
        for name in self.state_names:
            value = np.asarray(state[name])
            if value.shape != self.state[name].shape:
                raise ValueError(f"optimizer state {name!r} expects shape {self.state[name].shape}. "
                                 f"Received: shape {value.shape}")
            if value.dtype.kind not in "biuf":
                raise ValueError(f"optimizer state {name!r} expects numbers. Received: dtype {value.dtype}")
            bad = value.size - np.count_nonzero(np.isfinite(value))
            if bad:
                raise ValueError(f"optimizer state {name!r} must be finite. Received: {bad} NaN or inf values")
            values[name] = value
        self.iterations = int(iterations)
        for name, value in values.items():
            self.state[name][...] = value


class SGD(Optimizer):
    """SGD(learning_rate=0.01, momentum=0.0, nesterov=False), Keras's rule:
    v = momentum v - lr g; w += v (Nesterov: w += momentum v - lr g)."""

    kernel_name = "sgd_step"
    state_names = ("velocity",)
    HYPER = {"momentum": UNIT}

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False):
        super().__init__(learning_rate, momentum=momentum)
        if not isinstance(nesterov, bool):
            raise TypeError(f"SGD(nesterov=...) expects a bool. Received: nesterov={nesterov!r}")
        self.nesterov = nesterov

    def _scalars(self):
        return self._lr, self.momentum, self.nesterov

    def get_config(self):
        return {**super().get_config(), "nesterov": self.nesterov}


class Adagrad(Optimizer):
    """Adagrad(learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7): a += g^2; w -= lr g / sqrt(a + eps)."""

    kernel_name = "adagrad_step"
    state_names = ("accumulator",)
    HYPER = {"initial_accumulator_value": NON_NEGATIVE, "epsilon": POSITIVE}

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7):
        super().__init__(learning_rate, initial_accumulator_value=initial_accumulator_value, epsilon=epsilon)

    def _initial_state(self, name, param):
        return np.full_like(param, self.initial_accumulator_value)

    def _scalars(self):
        return self._lr, self.epsilon


class RMSprop(Optimizer):
    """RMSprop(learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7), Keras's rule (not centered):
    v = rho v + (1 - rho) g^2; step = lr g / sqrt(v + eps); w -= step (with momentum: u = momentum u + step;
    w -= u)."""

    kernel_name = "rmsprop_step"
    state_names = ("velocity", "momentum")
    HYPER = {"rho": UNIT, "momentum": UNIT, "epsilon": POSITIVE}

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7):
        super().__init__(learning_rate, rho=rho, momentum=momentum, epsilon=epsilon)


class Adam(Optimizer):
    """Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7), Keras's rule:
    alpha = lr sqrt(1 - b2^t) / (1 - b1^t); w -= alpha m / (sqrt(v) + eps)."""

    kernel_name = "adam_step"
    state_names = ("m", "v")
    HYPER = {"beta_1": UNIT, "beta_2": UNIT, "epsilon": POSITIVE}

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        super().__init__(learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon)

    def _scalars(self):
        t = self.iterations
        alpha = self._lr * math.sqrt(1 - self.beta_2 ** t) / (1 - self.beta_1 ** t)
        return alpha, self.beta_1, self.beta_2, self.epsilon


class SimulatedAnnealing(Optimizer):
    """Gradient-free Metropolis search, for tiny networks such as XOR.

    Each step perturbs every weight by N(0, step_size^2), keeps the move if the batch loss fell, else keeps it
    with probability exp(-(new - old) / T), and cools T by `cooling`. `learning_rate` is the step size.
    """

    uses_gradients = False
    kernel_name = None
    state_names = ("best",)

    def __init__(self, learning_rate=0.1, initial_temperature=0.01, cooling=0.999, min_temperature=1e-6,
                 seed=None):
        super().__init__(learning_rate)
        self.temperature = check_float("initial_temperature", initial_temperature, low=0.0, low_open=True,
                                       owner="SimulatedAnnealing")
        self.cooling = check_float("cooling", cooling, low=0.0, high=1.0, low_open=True, owner="SimulatedAnnealing")
        self.min_temperature = check_float("min_temperature", min_temperature, low=0.0, owner="SimulatedAnnealing")
        self.rng = make_rng(seed)
        self.accepted = 0

    def _initial_state(self, name, param):
        return param.copy()

    def minimize_step(self, loss_fn):
        """One Metropolis move on the bound parameters; loss_fn() evaluates the batch loss at the current ones."""
        self.iterations += 1
        param, backup = self._param, self.state["best"]
        old = loss_fn()
        backup[...] = param
        param += self.rng.normal(0.0, self._lr, size=param.shape).astype(param.dtype)
        new = loss_fn()
        if not (new <= old or self.rng.random() < math.exp(-(new - old) / self.temperature)):
            param[...] = backup
            new = old
        else:
            self.accepted += 1
        self.temperature = max(self.min_temperature, self.temperature * self.cooling)
        return new

    def get_config(self):
        return {**super().get_config(), "initial_temperature": self.temperature, "cooling": self.cooling,
                "min_temperature": self.min_temperature}


_BY_NAME = {"sgd": SGD, "adam": Adam, "rmsprop": RMSprop, "adagrad": Adagrad,
            "simulated_annealing": SimulatedAnnealing, "simulatedannealing": SimulatedAnnealing}


def get(identifier):
    """An Optimizer from a name ("adam", "sgd", ...), a config dict, or an Optimizer instance."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        config = dict(identifier)
        cls = {c.__name__: c for c in _BY_NAME.values()}.get(config.pop("name", None))
        if cls is not None:
            return cls(**config)
    if isinstance(identifier, str) and identifier.lower() in _BY_NAME:
        return _BY_NAME[identifier.lower()]()
    raise ValueError(f"unknown optimizer; expected one of {sorted(set(_BY_NAME) - {'simulatedannealing'})} or a "
                     f"fastnn.optimizers.Optimizer. Received: optimizer={identifier!r}")
