"""Keras-style layers (channels-last) over the backend registry; base.py explains the calling convention."""
from .base import KerasTensor, Layer, Weight
from .convolutional import Conv2D, conv_output_size
from .core import ACTIVATIONS, Activation, Dense, Flatten, Input, InputLayer, Rescaling, Reshape
from .merging import (Add, Average, Concatenate, Maximum, Multiply, Subtract, add, average, concatenate, maximum,
                      multiply, subtract)
from .normalization import BatchNormalization
from .pooling import GlobalAveragePooling2D, MaxPooling2D
from .regularization import Dropout

# Registry for deserialisation (fastnn.load_model, model specs): class name -> class.
LAYER_CLASSES = {cls.__name__: cls for cls in (
    InputLayer, Dense, Activation, Conv2D, MaxPooling2D, GlobalAveragePooling2D, Flatten, Reshape, Rescaling, Dropout,
    BatchNormalization,
    Add, Subtract, Multiply, Average, Maximum, Concatenate)}

__all__ = ["Layer", "Weight", "KerasTensor", "Input", "InputLayer", "Dense", "Activation", "Flatten", "Reshape",
           "Rescaling", "Conv2D", "MaxPooling2D", "GlobalAveragePooling2D", "BatchNormalization", "Dropout", "Add",
           "Subtract", "Multiply", "Average", "Maximum", "Concatenate", "add", "subtract", "multiply", "average",
           "maximum", "concatenate", "ACTIVATIONS", "LAYER_CLASSES", "conv_output_size"]
