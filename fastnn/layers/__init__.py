"""Keras-style layers (channels-last) over the backend registry; base.py explains the calling convention."""
from .base import Layer, Weight
from .convolutional import Conv2D, conv_output_size
from .core import ACTIVATIONS, Activation, Dense, Flatten, Input, InputLayer
from .normalization import BatchNormalization
from .pooling import MaxPooling2D
from .regularization import Dropout

# Registry for deserialisation (fastnn.load_model, model specs): class name -> class.
LAYER_CLASSES = {cls.__name__: cls for cls in (
    InputLayer, Dense, Activation, Conv2D, MaxPooling2D, Flatten, Dropout, BatchNormalization)}

__all__ = ["Layer", "Weight", "Input", "InputLayer", "Dense", "Activation", "Flatten", "Conv2D", "MaxPooling2D",
           "BatchNormalization", "Dropout", "ACTIVATIONS", "LAYER_CLASSES", "conv_output_size"]
