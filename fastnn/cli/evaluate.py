"""`fastnn evaluate`: a saved model's accuracy, confusion matrix and most-confused classes on a test set."""
from ..inference import check_classifier, class_names, recipe_dataset, recipe_of
from ..saving import load_model
from . import data, options, report


def add_arguments(p):
    p.add_argument("model", metavar="MODEL.fastnn", help="a model saved by `fastnn train` or Model.save")
    p.add_argument("--dataset", type=options.dataset, metavar="NAME",
                   help="mnist, fashion_mnist or mnist-10k (default: the one the model's recipe trains on; for "
                        "digits, full MNIST when found locally, else mnist-10k)")
    p.add_argument("--plots", metavar="DIR", help="write confusion.png and misclassified.png there (needs "
                                                  "matplotlib)")
    p.add_argument("--limit", type=options.positive_int, metavar="N", help="evaluate the first N test images only")
    options.add_runtime(p)


def run(args):
    if args.plots:
        report.require_matplotlib()
        options.check_output_folder(args.plots, "--plots")
    options.setup_runtime(args)
    model = load_model(args.model, compile=False)
    check_classifier(model)
    dataset = args.dataset if args.dataset is not None else recipe_dataset(recipe_of(model))
    _, (x_test, y_test), dataset, lines = data.load(dataset, args.limit)
    print(f"Model: {model.name} ({model.count_params():,} parameters) from {args.model}")
    for line in lines:
        print(line)
    report.print_test_report(model, x_test, y_test, class_names(dataset, model.output_shape[-1]), args.plots,
                             full=True)
    if args.plots:
        print(f"\nWrote confusion.png and misclassified.png to {args.plots}")
    return 0
