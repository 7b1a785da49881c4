"""The command line (fastnn.cli, python -m fastnn) and the recipes and JSON specs of fastnn.models it uses.

Training runs use --limit (a few hundred images), one epoch and the NumPy backend, so each takes seconds.
"""
import json
import re
import subprocess
import sys
from importlib.metadata import entry_points

import numpy as np
import pytest
from PIL import Image

import fastnn
from fastnn import backend, cli, datasets, inference, models

from .cli_run import ROOT, module_env, run

FASHION = datasets.find("fashion_mnist")


pytestmark = pytest.mark.usefixtures("numpy_backend")   # tests/conftest.py


def run_module(*argv):
    return subprocess.run([sys.executable, "-m", "fastnn", *map(str, argv)], capture_output=True, text=True,
                          env=module_env(), cwd=ROOT, timeout=300)


SMOKE = ["--dataset", "mnist-10k", "--limit", "300", "--epochs", "1", "--backend", "numpy", "--seed", "0",
         "--augment", "0"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One LeNet-5 trained for an epoch on 300 digits: (model path, plots folder, exit code, stdout)."""
    folder = tmp_path_factory.mktemp("trained")
    path, plots = folder / "sub" / "lenet.fastnn", folder / "plots"
    code, out, _ = run(["train", *SMOKE, "--out", path, "--plots", plots])
    return path, plots, code, out


def _is_png(path):
    return path.is_file() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# -- train -------------------------------------------------------------------------------------------------
def test_train_reports_data_epochs_accuracy_speed_and_saves(trained):
    path, plots, code, out = trained
    assert code == 0
    assert "Data: mnist-10k" in out and "300 training and 300 test images" in out
    assert "Model: lenet5 (61,706 parameters)" in out
    assert "Epoch 1/1" in out and "val_loss" in out and "val_accuracy" in out
    assert "Test accuracy: " in out and "samples/s" in out
    model = fastnn.load_model(path)                       # the folder of --out was created
    assert model.name == "lenet5" and 8 <= model.optimizer.iterations <= 9   # ~270 images after 10% held out
    assert all(_is_png(plots / name) for name in ("history.png", "confusion.png", "misclassified.png"))


def test_train_test_accuracy_is_the_saved_models(trained):
    path, _, _, out = trained
    (_, _), (x, y) = datasets.load("mnist_10k")
    model = fastnn.load_model(path)
    probs = model.predict(x[:300, :, :, None].astype(np.float32) / 255)
    line = next(s for s in out.splitlines() if s.startswith("Test accuracy"))
    assert f"{fastnn.metrics.accuracy(y[:300], probs):.2%}" in line


def test_default_data_is_full_mnist_when_found(monkeypatch, tmp_path):
    fake = ((np.zeros((5, 28, 28), np.uint8), np.arange(5)), (np.zeros((3, 28, 28), np.uint8), np.arange(3)))
    monkeypatch.setattr(datasets, "find", lambda name, path=None: tmp_path if name == "mnist" else None)
    monkeypatch.setattr(datasets, "load", lambda name, return_source=False, **kw: (fake, tmp_path))
    (x, y), (xt, yt), name, lines = cli.data.load(None, None)
    assert name == "mnist" and lines == [f"Data: MNIST: 5 training and 3 test images, from {tmp_path}"]
    assert x.shape == (5, 28, 28, 1) and x.dtype == np.float32


def test_default_data_falls_back_to_the_embedded_digits_and_says_why(monkeypatch):
    embedded = datasets.mnist_10k.find()
    monkeypatch.setattr(datasets, "find", lambda name, path=None: None if name == "mnist" else embedded)
    (x, y), (xt, yt), name, lines = cli.data.load(None, 50)
    assert name == "mnist_10k" and len(x) == 50 and len(xt) == 50
    assert lines[0].startswith("Data: mnist-10k") and str(datasets.mnist_10k.directory) in lines[0]
    assert "full MNIST was not found locally" in lines[1] and "FASTNN_DATA" in lines[1]
    assert 0.0 <= x.min() and x.max() <= 1.0 and x.shape[1:] == (28, 28, 1)


@pytest.mark.parametrize("where", ["out_a_folder", "out_under_a_file", "plots_a_file", "plots_under_a_file"])
def test_train_checks_the_output_paths_before_training(tmp_path, where):
    # a typo in --out or --plots must not cost a training run: refused with one line before any data is loaded
    (tmp_path / "notes.txt").write_text("a file, not a folder")
    notes = tmp_path / "notes.txt"
    option = "--" + where.split("_")[0]
    path = {"out_a_folder": tmp_path, "out_under_a_file": notes / "model.fastnn", "plots_a_file": notes,
            "plots_under_a_file": notes / "plots"}[where]
    code, out_text, err = run(["train", *SMOKE, option, path])
    assert code == 1 and err.startswith(f"fastnn train: error: {option}") and "Traceback" not in err
    assert "Trained in" not in out_text and "Model:" not in out_text


def test_train_adds_augmented_copies_to_a_small_training_set(tmp_path):
    code, out, _ = run(["train", *SMOKE[:-2], "--limit", "100", "--batch-size", "30", "--out", tmp_path / "m.fastnn"])
    assert code == 0
    found = re.search(r"Augmentation: (\d+) training images \+ 2 altered copies of each, .*; (\d+) held out", out)
    n_train, n_val = int(found[1]), int(found[2])
    assert n_train + n_val == 100 and 8 <= n_val <= 12                    # 10%, rounded per class
    assert fastnn.load_model(tmp_path / "m.fastnn").optimizer.iterations == -(-3 * n_train // 30)


def test_augmented_holds_validation_out_before_altering_the_rest():
    (x, y), _ = datasets.load("mnist_10k")
    x, y = cli.data.scale(x[:50]), y[:50]
    fastnn.set_seed(0)
    x_fit, y_fit, (x_val, y_val), _ = cli.train.augmented(x, y, 2, 0.2)
    n = 50 - len(x_val)
    assert 7 <= len(x_val) <= 13 and x_fit.shape == (3 * n, 28, 28, 1) and y_fit.shape == (3 * n,)
    originals = {im.tobytes() for im in x}
    held_out = {im.tobytes() for im in x_val}
    assert {im.tobytes() for im in x_fit[:n]} == originals - held_out         # the rest, unaltered
    assert not ({im.tobytes() for im in x_fit[n:]} & originals)              # copies are altered
    np.testing.assert_array_equal(y_fit, np.tile(y_fit[:n], 3))
    assert 0 <= x_fit.min() and x_fit.max() <= 1.5


def test_a_recipe_augments_small_training_sets_only():
    lenet = models.RECIPES["lenet"]
    assert lenet.augment_copies(8_000) == lenet.augment > 0
    assert lenet.augment_copies(60_000) == 0


def test_train_from_a_json_spec(tmp_path):
    spec = {"input_shape": [28, 28, 1], "layers": [
        {"class_name": "Flatten", "config": {}},
        {"class_name": "Dense", "config": {"units": 16, "activation": "relu"}},
        {"class_name": "Dense", "config": {"units": 10, "activation": "softmax"}}]}
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    code, out, err = run(["train", *SMOKE, "--model", tmp_path / "spec.json", "--out", tmp_path / "m.fastnn",
                          "--validation-split", "0", "--optimizer", "sgd", "--lr", "0.05", "--batch-size", "50"])
    assert (code, err) == (0, "")
    assert "12,730 parameters" in out and "SGD, learning rate 0.05" in out and "val_loss" not in out
    assert fastnn.load_model(tmp_path / "m.fastnn").optimizer.iterations == 6


@pytest.mark.skipif(FASHION is None, reason="Fashion-MNIST is not installed")
def test_fashion_recipe_trains_on_fashion_mnist_and_names_its_classes(tmp_path):
    path = tmp_path / "f.fastnn"
    code, out, _ = run(["train", "--model", "fashion_cnn", "--limit", "120", "--epochs", "1", "--backend", "numpy",
                        "--out", path])
    assert code == 0 and "Data: Fashion-MNIST" in out
    code, out, _ = run(["evaluate", path, "--limit", "120", "--backend", "numpy"])   # dataset from the recipe
    assert code == 0 and "Fashion-MNIST" in out
    assert "Classes: 0 T-shirt/top, 1 Trouser" in out and "trouble spot" not in out


# -- argument errors: argparse, exit code 2 ---------------------------------------------------------------
@pytest.mark.parametrize("argv", [
    [],
    ["fly"],
    ["train", "--epochs", "0"],
    ["train", "--epochs", "two"],
    ["train", "--batch-size", "-8"],
    ["train", "--lr", "-0.1"],
    ["train", "--lr", "nan"],
    ["train", "--validation-split", "1"],
    ["train", "--dataset", "cifar10"],
    ["train", "--model", "resnet"],
    ["train", "--model", "missing.json"],
    ["train", "--backend", "gpu"],
    ["train", "--optimizer", "lbfgs"],
    ["train", "--seed", "-1"],
    ["predict", "model.fastnn"],
])
def test_bad_arguments_exit_with_code_2(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2
    assert "usage: fastnn" in capsys.readouterr().err


def test_a_python_model_file_is_refused_and_never_run(tmp_path, capsys):
    marker = tmp_path / "ran"
    evil = tmp_path / "model.py"
    evil.write_text(f"open({str(marker)!r}, 'w').write('x')\n")
    with pytest.raises(SystemExit) as exc:
        cli.main(["train", "--model", str(evil)])
    assert exc.value.code == 2
    assert "never executed" in capsys.readouterr().err
    assert not marker.exists()


def _help(command, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main([command, "--help"])
    assert exc.value.code == 0
    return " ".join(capsys.readouterr().out.split())


def test_help_documents_limit_json_specs_and_recipes(capsys):
    train = _help("train", capsys)
    assert "--limit N" in train and "a .py file is refused, never executed" in train
    for name, recipe in models.RECIPES.items():
        assert f"{name} {recipe.builder.__name__}: {recipe.optimizer} lr {recipe.learning_rate:g}" in train
    predict = _help("predict", capsys)
    assert "to_mnist" in predict and "resized to 28x28" in predict


# -- library errors: one line, exit code 1 ----------------------------------------------------------------
@pytest.mark.parametrize("spec,match", [
    ("not json", "is not valid JSON"),
    ("[]", "expected a JSON object"),
    ('{"input_shape": [28, 28, 1], "layers": [{"class_name": "Lambda", "config": {}}]}',
     r"layers\[0\].class_name expects one of"),
    ('{"input_shape": [28, 28, 1], "layers": [{"class_name": "Dense", "config": {"units": -3}}]}',
     r"layers\[0\] \(Dense\)"),
    ('{"input_shape": [28, 28], "layers": [{"class_name": "Conv2D", "config": {"filters": 2, "kernel_size": 3}}]}',
     "Conv2D expects inputs of shape"),
    ('{"input_shape": "28x28", "layers": []}', "'input_shape' expects a list of positive integers"),
    ('{"input_shape": [28, 28, 1], "layers": [], "code": "import os"}', "unknown keys"),
])
def test_a_bad_json_spec_is_a_one_line_error(tmp_path, spec, match):
    (tmp_path / "spec.json").write_text(spec)
    code, out, err = run(["train", "--model", tmp_path / "spec.json", "--limit", "10", "--backend", "numpy"])
    assert code == 1
    assert err.startswith("fastnn train: error: model spec") and err.count("\n") == 1
    assert re.search(match, err)


def test_a_spec_whose_input_is_not_an_image_is_a_one_line_error(tmp_path):
    (tmp_path / "spec.json").write_text('{"input_shape": [10], "layers": [{"class_name": "Dense", '
                                        '"config": {"units": 10, "activation": "softmax"}}]}')
    code, _, err = run(["train", "--model", tmp_path / "spec.json", "--limit", "10", "--backend", "numpy"])
    assert code == 1 and "must take 784 values per sample" in err and err.count("\n") == 1


def test_plots_without_matplotlib_fail_before_training(monkeypatch, tmp_path):
    monkeypatch.setattr(cli.report.importlib.util, "find_spec", lambda name: None)
    code, out, err = run(["train", *SMOKE, "--plots", tmp_path])
    assert code == 1 and out == ""
    assert err == 'fastnn train: error: --plots needs matplotlib, an optional extra: pip install "fastnn[plot]"\n'


def test_a_damaged_model_file_is_a_one_line_error(tmp_path):
    (tmp_path / "m.fastnn").write_bytes(b"garbage")
    code, out, err = run(["evaluate", tmp_path / "m.fastnn"])
    assert code == 1 and out == ""
    assert err.startswith("fastnn evaluate: error: load_model:") and err.count("\n") == 1
    code, _, err = run(["predict", tmp_path / "nope.fastnn", "x.png"])
    assert code == 1 and "no such file" in err


@pytest.mark.parametrize("error,expected", [
    (RuntimeError("the pool broke"), "RuntimeError: the pool broke (an internal error: run again with --debug"),
    (TypeError("bad\noperand"), "TypeError: bad operand (an internal error: run again with --debug"),
    (MemoryError(), "out of memory"),
    (fastnn.CorruptFileError("load_model: 'm.fastnn' is not a readable fastnn model file: x"),
     "load_model: 'm.fastnn' is not a readable fastnn model file: x"),
], ids=["RuntimeError", "TypeError", "MemoryError", "CorruptFileError"])
def test_any_failure_is_one_line_and_exit_1_and_debug_shows_the_traceback(monkeypatch, error, expected):
    cli_main = sys.modules["fastnn.cli.main"]   # the module (fastnn.cli.main the attribute is its function)

    def fails(args):
        raise error
    help_text, add_arguments, _ = cli_main.COMMANDS["info"]
    monkeypatch.setitem(cli_main.COMMANDS, "info", (help_text, add_arguments, fails))
    code, out, err = run(["info"])
    assert code == 1 and out == "" and "Traceback" not in err
    assert err.startswith(f"fastnn info: error: {expected}") and err.count("\n") == 1
    for argv in (["--debug", "info"], ["info", "--debug"]):
        with pytest.raises(type(error)):
            run(argv)


def test_a_failure_in_a_subprocess_prints_no_traceback(tmp_path):
    """As a user runs it: `python -m fastnn evaluate` on a directory, a device and a truncated file."""
    damaged = tmp_path / "m.fastnn"
    damaged.write_bytes(b"PK\x03\x04" + bytes(100))
    for target in (tmp_path, "/dev/zero", damaged):
        result = run_module("evaluate", target)
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
        assert result.stderr.count("\n") == 1 and "fastnn evaluate: error: load_model:" in result.stderr


# -- evaluate ------------------------------------------------------------------------------------------------
def test_evaluate_prints_an_aligned_confusion_matrix_and_the_confusions(trained, tmp_path):
    path = trained[0]
    code, out, err = run(["evaluate", path, "--dataset", "mnist-10k", "--limit", "300", "--backend", "numpy",
                          "--plots", tmp_path])
    assert (code, err) == (0, "")
    lines = out.splitlines()
    start = lines.index("Confusion matrix (rows: true class, columns: predicted):") + 1
    matrix = lines[start:start + 11]
    assert matrix[0].split() == ["true\\pred"] + [str(d) for d in range(10)]
    assert len({len(line) for line in matrix}) == 1                       # right-aligned columns
    counts = np.array([[int(v) for v in line.split()[1:]] for line in matrix[1:]])
    assert counts.sum() == 300
    assert "Most confused (true → predicted: count):" in out
    heading = "The 1/4/7 trouble spot (digits that look alike; true → predicted: count):"
    trouble = lines[lines.index(heading) + 1]
    for t, p in [(1, 7), (7, 1), (4, 9), (9, 4), (1, 4), (4, 1), (7, 4), (4, 7)]:
        assert f"{t}→{p}: {counts[t, p]}" in trouble
    assert _is_png(tmp_path / "confusion.png") and _is_png(tmp_path / "misclassified.png")


def test_format_matrix_aligns_wide_counts():
    text = cli.report.format_matrix(np.array([[12345, 2], [3, 7]]), ["0", "1"])
    assert text.splitlines() == ["true\\pred      0      1", "        0 12,345      2", "        1      3      7"]


# -- predict --------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def drawings(tmp_path_factory):
    """Three test digits saved as a person would draw them: dark ink on white, 140x140 px."""
    folder = tmp_path_factory.mktemp("drawings")
    (_, _), (x, y) = datasets.load("mnist_10k")
    paths = []
    for i in range(3):
        path = folder / f"digit{i}.png"
        Image.fromarray(255 - x[i]).resize((140, 140), Image.BILINEAR).save(path)
        paths.append(path)
    return paths


def test_predict_lists_the_top_3_classes_per_image(trained, drawings):
    code, out, err = run(["predict", trained[0], *drawings, "--backend", "numpy"])
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert len(lines) == 3
    for path, line in zip(drawings, lines):
        assert line.startswith(f"{path}: ") and "(top 3: " in line
        probs = [float(v.split()[-1].rstrip("%),")) for v in line.split("(top 3: ")[1].split(", ")]
        assert len(probs) == 3 and probs == sorted(probs, reverse=True) and sum(probs) <= 100.01


def test_predict_reports_each_unreadable_image_on_one_line(trained, drawings, tmp_path):
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(drawings[0].read_bytes()[:120])
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    missing = tmp_path / "missing.png"
    code, out, err = run(["predict", trained[0], corrupt, drawings[0], truncated, text, missing, "--backend", "numpy"])
    assert code == 1
    assert out.startswith(f"{drawings[0]}: ") and out.count("\n") == 1    # the good image still gets its answer
    errors = err.splitlines()
    assert len(errors) == 4
    for path, line in zip([corrupt, truncated, text, missing], errors):
        assert line.startswith("fastnn predict: error: ") and str(path) in line


def test_predict_refuses_a_decompression_bomb_on_one_line(trained, drawings, monkeypatch):
    # Pillow refuses an image of more than twice MAX_IMAGE_PIXELS with an exception of its own (neither
    # OSError nor ValueError); the limit is lowered here so that a 140x140 drawing stands for a 15000x15000 PNG
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 4000)
    code, out, err = run(["predict", trained[0], drawings[0], "--backend", "numpy"])
    assert code == 1 and out == ""
    assert err.startswith(f"fastnn predict: error: image {str(drawings[0])!r}: ValueError: ")
    assert "at most 4,000 pixels" in err and err.count("\n") == 1


def test_simple_reader_inverts_a_light_background_and_resizes(tmp_path):
    canvas = np.full((90, 60), 255, np.uint8)
    canvas[20:70, 25:35] = 0                      # a dark bar on white
    Image.fromarray(canvas).save(tmp_path / "bar.png")
    x = inference.resize_image(tmp_path / "bar.png")
    assert x.shape == (28, 28) and x.dtype == np.float32
    assert x[0, 0] == pytest.approx(0.0, abs=0.02) and x[14, 14] == pytest.approx(1.0, abs=0.02)
    rgba = np.zeros((40, 40, 4), np.uint8)
    rgba[10:30, 18:22] = (0, 0, 0, 255)           # black ink on a transparent canvas
    Image.fromarray(rgba).save(tmp_path / "ink.png")
    x = inference.resize_image(tmp_path / "ink.png")
    assert x[0, 0] == pytest.approx(0.0, abs=0.02) and x[14, 14] > 0.9


# -- info, backends and python -m fastnn ------------------------------------------------------------------------
@pytest.mark.parametrize("command", ["info", "backends"])
def test_info_prints_the_report(command):
    code, out, _ = run([command])
    assert code == 0 and out.startswith("selected backend: ") and "conv2d_forward" in out
    assert "in one OpenMP pool" in out
    if "cython" in backend.available_backends():   # the instruction-set variant it loaded
        isa = sys.modules["fastnn.kernels._cython"].ISA
        assert f"cython  available, {isa} kernels" in out


# the ops the built-in models run (LeNet-5, the MLP, the Fashion CNN with batch norm, dropout, an activation)
MODEL_OPS = ["conv2d_forward", "conv2d_backward", "maxpool2d_forward", "maxpool2d_backward", "dense_forward",
             "dense_backward", "activation_forward", "activation_backward", "batchnorm_forward",
             "batchnorm_backward", "dropout_forward", "dropout_backward", "sparse_softmax_ce"]


def test_warmup_compiles_the_numba_kernels_of_the_built_in_models():
    # warmup trains each built-in model on the numba backend; afterwards their kernels are compiled (no first
    # epoch waits), the last line names the ops auto runs on Numba, and the selection the user made is back
    if "numba" not in backend.available_backends():
        code, _, err = run(["warmup"])
        assert code == 1 and "numba is not available" in err
        return
    selected = backend.get_backend()
    code, out, _ = run(["warmup"])
    assert code == 0 and [line.split()[0] for line in out.splitlines()[:3]] == list(models.RECIPES)
    assert backend.get_backend() == selected
    for op in MODEL_OPS + [fastnn.optimizers.get(r.optimizer).kernel_name for r in models.RECIPES.values()]:
        assert backend.numba_compiled(op), op
    on_numba = [op for op in backend.OPS if backend.auto_choice(op) == "numba"]
    assert out.splitlines()[-1].endswith(", ".join(on_numba) or "none")


def test_the_fastnn_script_runs_cli_main():
    (script,) = entry_points(group="console_scripts", name="fastnn")
    assert script.load() is cli.main


def test_python_m_fastnn_runs_the_cli():
    done = run_module("backends")
    assert done.returncode == 0 and "selected backend" in done.stdout
    done = run_module("train", "--epochs", "0")
    assert done.returncode == 2 and "expected a positive integer. Received: '0'" in done.stderr
    done = run_module("--help")
    assert done.returncode == 0 and all(c in done.stdout for c in ("train", "evaluate", "predict", "backends"))


# -- fastnn.models --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("builder,params,layer_types", [
    (models.mlp, 235_146, ["Flatten", "Dense", "Dense", "Dense"]),
    (models.lenet5, 61_706, ["Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D", "Flatten", "Dense", "Dense",
                             "Dense"]),
])
def test_recipe_builders_match_their_description(builder, params, layer_types):
    model = builder()
    assert model.count_params() == params
    assert [type(layer).__name__ for layer in model.layers] == layer_types
    assert model.output_shape == (None, 10)


def test_lenet5_is_the_plain_benchmark_network():
    conv1, _, conv2 = models.lenet5().layers[:3]
    assert (conv1.filters, conv1.kernel_size, conv1.padding) == (6, (5, 5), "same")
    assert (conv2.filters, conv2.kernel_size, conv2.padding) == (16, (5, 5), "valid")
    assert [layer.output_shape for layer in models.lenet5().layers][:4] == [
        (28, 28, 6), (14, 14, 6), (10, 10, 16), (5, 5, 16)]


def test_fashion_cnn_builds_for_28x28_images():
    model = models.fashion_cnn(seed=0)
    assert model.output_shape == (None, 10)
    assert {"BatchNormalization", "Dropout", "Conv2D"} <= {type(layer).__name__ for layer in model.layers}


def test_from_spec_reads_back_a_models_own_config(tmp_path):
    model = models.lenet5(seed=3)
    (tmp_path / "lenet.json").write_text(json.dumps(model.get_config()))
    again = models.from_spec(tmp_path / "lenet.json")
    assert again.get_config() == model.get_config()
    assert all(np.array_equal(a, b) for a, b in zip(again.get_weights(), model.get_weights()))   # same seed


def test_from_spec_seed_replaces_the_specs(tmp_path):
    (tmp_path / "lenet.json").write_text(json.dumps(models.lenet5(seed=3).get_config()))
    again = models.from_spec(tmp_path / "lenet.json", seed=5)
    assert all(np.array_equal(a, b) for a, b in zip(again.get_weights(), models.lenet5(seed=5).get_weights()))


def test_from_spec_refuses_python_files(tmp_path):
    (tmp_path / "model.py").write_text("raise SystemExit('ran')\n")
    with pytest.raises(ValueError, match="never executed"):
        models.from_spec(tmp_path / "model.py")


def test_recipes_hold_the_training_defaults():
    for name, recipe in models.RECIPES.items():
        assert recipe.builder().name == recipe.builder.__name__
        assert recipe.epochs >= 1 and recipe.batch_size >= 1 and recipe.learning_rate > 0
    lenet = models.RECIPES["lenet"]
    assert lenet.builder is models.lenet5
    assert lenet.learning_rate_at(2) == pytest.approx(lenet.learning_rate * lenet.lr_decay ** 2)
