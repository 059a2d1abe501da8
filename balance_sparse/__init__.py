__version__ = "0.1.0"

# The public API: exactly the names of the table in docs/library.md, "Use it in your own code" (tests/test_readme.py
# checks it).
# Each name is defined, explained and tested in the notebook named beside it.
from .masking import maskable_weights, erk_densities, Masking  # nbs/00_masking.ipynb
from .erk import layer_densities  # nbs/01_erk.ipynb
from .rigl import TopologyUpdater, prune_rate, UPDATE_METHODS, update_method, make_updater  # nbs/02_rigl.ipynb
from .correction import GradientCorrection, tau_estimate  # nbs/03_correction.ipynb
from .table import GradientTable  # nbs/03a_table.ipynb
from .models import wrn, wrn_22_2, resnet50_cifar, get_model  # nbs/04_models.ipynb
from .datasets import load_dataset, load_cifar, load_digits32, write_fake_cifar  # nbs/05a_datasets.ipynb
from .datasets import DataNotFoundError, AUTHORS_NORMALIZATION  # nbs/05a_datasets.ipynb
from .loaders import TensorLoader, dataloader_pipeline  # nbs/05b_loaders.ipynb
from .flops import layer_flops, dense_flops, sparse_flops, rigl_train_flops  # nbs/06_flops.ipynb
from .flops import correction_flops, epoch_train_flops  # nbs/06_flops.ipynb
from .settings import RunSettings, settings_table, recipe_table, parse_bool  # nbs/07_settings.ipynb
from .runs import RunFolder  # nbs/08_runs.ipynb
from .train import fit, evaluate  # nbs/09_train.ipynb
from .collect import load_runs  # nbs/10b_collect.ipynb
from .results import results_table, epochs_to_accuracy  # nbs/10d_results.ipynb
from .evaluation import evaluate_run  # nbs/12_evaluation.ipynb

__all__ = [
    *("maskable_weights", "erk_densities", "Masking", "layer_densities"),
    *("TopologyUpdater", "prune_rate", "UPDATE_METHODS", "update_method", "make_updater"),
    *("GradientCorrection", "tau_estimate", "GradientTable", "wrn", "wrn_22_2", "resnet50_cifar", "get_model"),
    *("load_dataset", "load_cifar", "load_digits32", "write_fake_cifar", "DataNotFoundError", "AUTHORS_NORMALIZATION"),
    *("TensorLoader", "dataloader_pipeline"),
    *("layer_flops", "dense_flops", "sparse_flops", "rigl_train_flops", "correction_flops", "epoch_train_flops"),
    *("RunSettings", "settings_table", "recipe_table", "parse_bool", "RunFolder", "fit", "evaluate"),
    *("load_runs", "results_table", "epochs_to_accuracy", "evaluate_run"),
]
