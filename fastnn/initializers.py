"""Weight initializers with Keras names and formulas.

Fans follow Keras: a Dense kernel (F, K) has fan_in F, fan_out K; a Conv2D kernel (KH, KW, C, K) has
fan_in KH*KW*C and fan_out KH*KW*K. Truncated normals cut at two standard deviations, as Keras does.
"""
import numpy as np

# The standard deviation of a unit normal truncated to [-2, 2]; dividing by it keeps the variance asked for.
_TRUNC_STD = 0.87962566103423978


def _fans(shape):
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    return shape[-2] * receptive, shape[-1] * receptive


def _truncated_normal(rng, shape, std):
    out = rng.standard_normal(shape)
    bad = np.abs(out) > 2
    while bad.any():
        out[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(out) > 2
    return out * std


class Initializer:
    """Call with (shape, rng) to get a float64 array; the layer casts it to its dtype."""

    def __call__(self, shape, rng):
        raise NotImplementedError

    def get_config(self):
        return {}


class Zeros(Initializer):
    def __call__(self, shape, rng):
        return np.zeros(shape)


class Ones(Initializer):
    def __call__(self, shape, rng):
        return np.ones(shape)


class VarianceScaling(Initializer):
    """Keras's VarianceScaling: variance scale / fan, from a truncated normal, a normal or a uniform."""

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal"):
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"VarianceScaling(mode=...) expects fan_in, fan_out or fan_avg. Received: mode={mode!r}")
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform"):
            raise ValueError("VarianceScaling(distribution=...) expects truncated_normal, untruncated_normal or "
                             f"uniform. Received: distribution={distribution!r}")
        self.scale, self.mode, self.distribution = scale, mode, distribution

    def __call__(self, shape, rng):
        fan_in, fan_out = _fans(shape)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        variance = self.scale / max(1.0, fan)
        if self.distribution == "uniform":
            limit = np.sqrt(3 * variance)
            return rng.uniform(-limit, limit, size=shape)
        if self.distribution == "untruncated_normal":
            return rng.standard_normal(shape) * np.sqrt(variance)
        return _truncated_normal(rng, shape, np.sqrt(variance) / _TRUNC_STD)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution}


class _Preset(VarianceScaling):
    """A VarianceScaling with Keras's fixed settings for a named scheme (PRESET: scale, mode, distribution)."""

    PRESET = ()

    def __init__(self):
        super().__init__(*self.PRESET)


class GlorotUniform(_Preset):
    """Glorot (Xavier) uniform: U(-l, l), l = sqrt(6 / (fan_in + fan_out))."""
    PRESET = (1.0, "fan_avg", "uniform")


class GlorotNormal(_Preset):
    """Glorot (Xavier) normal: a normal truncated at 2 std, variance 2 / (fan_in + fan_out)."""
    PRESET = (1.0, "fan_avg", "truncated_normal")


class HeNormal(_Preset):
    """He normal: a normal truncated at 2 std, variance 2 / fan_in (for relu layers)."""
    PRESET = (2.0, "fan_in", "truncated_normal")


class HeUniform(_Preset):
    """He uniform: U(-l, l), l = sqrt(6 / fan_in)."""
    PRESET = (2.0, "fan_in", "uniform")


_BY_NAME = {
    "zeros": Zeros, "ones": Ones, "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal,
    "he_normal": HeNormal, "he_uniform": HeUniform,
}
glorot_uniform, glorot_normal, he_normal, he_uniform, zeros, ones = (
    GlorotUniform, GlorotNormal, HeNormal, HeUniform, Zeros, Ones)


def get(identifier):
    """An Initializer from a name ("glorot_uniform", ...) or an Initializer instance."""
    if isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return _BY_NAME[identifier]()
    raise ValueError(f"unknown initializer; expected one of {sorted(_BY_NAME)} or an Initializer. "
                     f"Received: {identifier!r}")


def name_of(initializer):
    for name, cls in _BY_NAME.items():
        if type(initializer) is cls:
            return name
    return None
