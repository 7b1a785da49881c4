"""Models: Sequential (sequential.py), the ready-made models and their training recipes (zoo.py), and
models described in JSON (spec.py)."""
from .functional import Functional, Model
from .sequential import Sequential
from .spec import clone_model, from_spec, model_from_config, model_from_json
from .zoo import MNIST_SHAPE, RECIPES, SMALL_TRAINING_SET, SPEC_RECIPE, Recipe, fashion_cnn, lenet5, mlp

__all__ = ["Sequential", "Model", "Functional", "from_spec", "model_from_config", "model_from_json", "clone_model",
           "load_model", "mlp", "lenet5", "fashion_cnn", "Recipe", "RECIPES", "SPEC_RECIPE", "SMALL_TRAINING_SET",
           "MNIST_SHAPE"]


def load_model(filepath, compile=True):
    """fastnn.load_model under Keras's other name, keras.models.load_model."""
    from ..saving import load_model as load

    return load(filepath, compile=compile)
