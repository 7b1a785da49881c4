"""Image in -> MNIST-style input -> probabilities and top-k out: what `fastnn predict` and the drawing page
(fastnn.draw) share, so that neither front end imports the other.

    classifier = fastnn.inference.ImageClassifier(fastnn.load_model("model.fastnn"))
    x = classifier.read("digit.png")        # float32 (28,28,1) in [0,1], ink bright on black
    classifier.top(x, 3)                    # [("7", 0.97), ("1", 0.02), ("9", 0.004)]

How an image is read depends on what the model was trained on, found from its recipe (fastnn.models.RECIPES,
matched by the model's name): digit models, and models of no known recipe, read it with
fastnn.digits.to_mnist (the ink cropped, its strokes redrawn at MNIST's width, scaled into a 20x20 box and
centred by mass, as MNIST digits were); the others (Fashion-MNIST) with `resize_image` (grey, inverted when
the border is light, the whole picture resized to 28x28). An image is a path, file bytes (e.g. a PNG), a PIL
Image or an array, as to_mnist takes it.

Legend: N images, K classes; images are 28x28, one channel.
"""
import numpy as np

from . import datasets, models

IMAGE_SIZE = 28 * 28


def recipe_of(model):
    """The recipe whose builder made this model (matched by the model's name), or None."""
    return next((r for r in models.RECIPES.values() if r.builder.__name__ == model.name), None)


def recipe_dataset(recipe):
    """The dataset a recipe trains on, by name; None for digits (full MNIST or mnist_10k) or no recipe."""
    return None if recipe is None or recipe.dataset == "digits" else recipe.dataset


def class_names(dataset, k):
    """The names of a dataset's k classes; "0".."k-1" when the dataset is None or has another count."""
    names = getattr(datasets, dataset).class_names if dataset else None
    return list(names) if names is not None and len(names) == k else [str(i) for i in range(k)]


def check_classifier(model):
    """A model of one input and one output, as the digit tools read images with (ValueError otherwise)."""
    inputs, outputs = len(model._input_shapes), len(model._output_shapes) if model.built else 1
    if inputs != 1 or outputs != 1:
        raise ValueError(f"fastnn's image tools expect a model of one input and one output. Received: model "
                         f"{model.name!r} with {inputs} inputs and {outputs} outputs")


def as_model_input(x, model):
    """Images (N,28,28,1) reshaped to the model's per-sample input shape, which must hold 784 values."""
    check_classifier(model)
    shape = model.input_shape[1:]
    if int(np.prod(shape)) != IMAGE_SIZE:
        raise ValueError(f"fastnn's datasets hold 28x28 grey images, so the model must take 784 values per sample. "
                         f"Received: a model with input shape {model.input_shape}")
    return x.reshape((len(x),) + shape)


def resize_image(image):
    """An image -> float32 (28,28) in [0,1], light on dark: grey, inverted when the border is light, the
    whole picture resized to 28x28 (Pillow LANCZOS; no cropping or centring). How models of images other
    than drawn digits read them."""
    from PIL import Image

    from .digits.pixels import whole_canvas

    return whole_canvas(image, "resize_image", Image.LANCZOS)


class ImageClassifier:
    """A loaded model and the way it reads images: image in -> probabilities and the top k classes out.

    Attributes:
        model: the model (a fastnn.Sequential taking 784 values per sample, 28x28 grey).
        reader: image -> float32 (28,28) in [0,1]: fastnn.digits.to_mnist for digit models (and models of
            no known recipe), resize_image for the others.
        class_names: the names of the model's K classes (its dataset's, else "0".."K-1").
    """

    def __init__(self, model):
        # fastnn.digits loads scipy.ndimage and scikit-image: imported when a classifier is made, so that
        # commands that read no image (train, backends) do not pay for it
        from .digits import to_mnist

        check_classifier(model)
        self.model = model
        dataset = recipe_dataset(recipe_of(model))
        self.reader = to_mnist if dataset is None else resize_image
        self.class_names = class_names(dataset or "mnist", model.output_shape[-1])

    def read(self, image):
        """An image -> float32 (28,28,1) in [0,1], ink bright: the model's input for it.

        Raises what the reader raises: fastnn.digits.NoInkError (a ValueError) for a blank canvas,
        ValueError, TypeError or FileNotFoundError for what is not a readable image.
        """
        return np.asarray(self.reader(image), np.float32).reshape(28, 28, 1)

    def probabilities(self, x):
        """x float32 (28,28,1) from `read` -> float32 (K,): the model's probability of each class."""
        return self.model.predict(as_model_input(x[None], self.model))[0]

    def top(self, x, k):
        """The k most probable classes for x (28,28,1) from `read`: [(class name, probability)], the most
        probable first (ties in class order)."""
        probs = self.probabilities(x)
        return [(self.class_names[c], float(probs[c])) for c in np.argsort(-probs, kind="stable")[:k]]
