"""
=====================================
Finding mislabeled digits with SEI
=====================================

Corrupt 20% of the labels of scikit-learn's digits with pair noise (each digit
``i`` is relabelled ``i + 1`` with probability 0.2), train a
:class:`~sklearn_noisy.MislabelDetector` once, and compare the four scores it
records in that single run.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.metrics import roc_auc_score

from sklearn_noisy import MislabelDetector
from sklearn_noisy.noise import inject_label_noise, make_transition_matrix

X, y = load_digits(return_X_y=True)
X = X / 16
T = make_transition_matrix(10, 0.2, kind="pair")
y_noisy = inject_label_noise(y, transition_matrix=T, random_state=0)
is_wrong = y_noisy != y
print(f"{is_wrong.sum()} of {len(y)} labels are wrong")

# %%
# One training run gives every score.
detector = MislabelDetector(max_epochs=20, random_state=0).fit(X, y_noisy)
for method, scores in detector.method_scores_.items():
    print(f"{method:>10}: AUROC {roc_auc_score(is_wrong, -scores):.3f}")

flagged = detector.label_issues_
precision = is_wrong[flagged].mean()
recall = is_wrong[flagged].sum() / is_wrong.sum()
print(f"flagged {len(flagged)}: precision {precision:.2f}, recall {recall:.2f}")

# %%
# SEI of clean and mislabeled samples, and the threshold.
scores = detector.train_scores_
bins = np.linspace(scores.min(), scores.max(), 40)
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.hist(scores[~is_wrong], bins=bins, alpha=0.6, label="clean")
ax.hist(scores[is_wrong], bins=bins, alpha=0.6, label="mislabeled")
ax.axvline(detector.offset_, color="k", linestyle="--", label="threshold")
ax.set_xlabel("SEI (the lower, the more likely mislabeled)")
ax.set_ylabel("samples")
ax.legend()
fig.tight_layout()

# %%
# The most suspicious samples, with their given labels.
fig, axes = plt.subplots(2, 6, figsize=(7, 3))
for ax, i in zip(axes.ravel(), flagged[:12]):
    ax.imshow(X[i].reshape(8, 8), cmap="gray_r")
    ax.set_title(f"given {y_noisy[i]}", fontsize=8)
    ax.axis("off")
fig.tight_layout()
plt.show()
