"""Drawn digits: from a person's drawing to what an MNIST model saw in training, and augmentation for
training on digits.

    x = fastnn.digits.to_mnist("drawing.png")            # float32 (28,28) in [0,1], ink bright on black
    probs = model.predict(x[None, :, :, None])

- transform.py: `to_mnist` (crop, stroke width redrawn to MNIST's, 20x20 box, centre of mass) and
  `naive_to_mnist` (resize the whole canvas), reading pixels through pixels.py (`NoInkError`);
- strokes.py: stroke synthesis, `render_stroke_digit` (a digit as a drawing app draws it) and `fat_brush`
  (training images of what to_mnist reads from a fat brush);
- augment.py: `Augment`, random shifts, rotations, scales, stroke changes and closings per image;
- training.py: `augmented_epochs`, training with a fresh `Augment` draw each epoch.

Importing this package loads scipy.ndimage and scikit-image (a second or two): `import fastnn` leaves it
out until `fastnn.digits` is first used.
"""
from .augment import Augment
from .pixels import MNIST_SIZE, NoInkError
from .strokes import fat_brush, render_stroke_digit
from .training import augmented_epochs
from .transform import MNIST_BOX, MNIST_CENTER, STROKE_RATIO, naive_to_mnist, to_mnist

__all__ = ["Augment", "MNIST_BOX", "MNIST_CENTER", "MNIST_SIZE", "NoInkError", "STROKE_RATIO", "augmented_epochs",
           "fat_brush", "naive_to_mnist", "render_stroke_digit", "to_mnist"]
