"""sklearn-noisy: learning with noisy labels, the scikit-learn way.

``MislabelDetector`` finds the likely mislabeled training samples from one
training run (the signed entropy integral, Li et al., ICML 2026);
``DMIClassifier`` trains a network with the noise-robust loss L_DMI
(Xu et al., NeurIPS 2019); ``CleanLabelClassifier`` fits any classifier on
the rows a detector keeps. The estimators are imported on first use, so that
``sklearn_noisy._core`` (numpy, scipy and torch only) and the command line's
``--help`` load no scikit-learn or skorch.
"""

import importlib

__version__ = "0.1.0.dev0"

_ESTIMATORS = {
    "CleanLabelClassifier": "._clean_label_classifier",
    "DMIClassifier": "._dmi_classifier",
    "MislabelDetector": "._mislabel_detector",
    "UntrustedRankingWarning": "._mislabel_detector",
}

__all__ = [
    "CleanLabelClassifier",
    "DMIClassifier",
    "MislabelDetector",
    "UntrustedRankingWarning",
    "__version__",
]


def __getattr__(name):
    if name in _ESTIMATORS:
        return getattr(importlib.import_module(_ESTIMATORS[name], __name__), name)
    raise AttributeError(f"module 'sklearn_noisy' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
