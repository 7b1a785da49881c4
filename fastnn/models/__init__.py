"""Models: Sequential (sequential.py), the ready-made models and their training recipes (zoo.py), and
models described in JSON (spec.py)."""
from .sequential import Sequential
from .spec import from_spec, model_from_config
from .zoo import MNIST_SHAPE, RECIPES, SMALL_TRAINING_SET, SPEC_RECIPE, Recipe, fashion_cnn, lenet5, mlp

__all__ = ["Sequential", "from_spec", "model_from_config", "mlp", "lenet5", "fashion_cnn", "Recipe", "RECIPES", "SPEC_RECIPE",
           "SMALL_TRAINING_SET", "MNIST_SHAPE"]
