"""sklearn-noisy: learning with noisy labels, the scikit-learn way.

``MislabelDetector`` finds the likely mislabeled training samples from one
training run (the signed entropy integral, Li et al., ICML 2026);
``DMIClassifier`` trains a network with the noise-robust loss L_DMI
(Xu et al., NeurIPS 2019); the noise helpers corrupt labels with a known
transition matrix for experiments.
"""

from ._clean_label_classifier import CleanLabelClassifier
from ._dmi_classifier import DMIClassifier
from ._mislabel_detector import MislabelDetector

__version__ = "0.1.0.dev0"

__all__ = ["CleanLabelClassifier", "DMIClassifier", "MislabelDetector", "__version__"]
