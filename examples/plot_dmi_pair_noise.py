"""
==============================================
Training through pair noise with L_DMI
==============================================

Train the same network on digits whose training labels carry 30% pair noise,
once with plain cross-entropy and once with
:class:`~sklearn_noisy.DMIClassifier` (a cross-entropy warm-up, then L_DMI),
and compare their accuracy on the clean test labels.
"""

# %%
import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sklearn_noisy import DMIClassifier
from sklearn_noisy.noise import inject_label_noise, make_transition_matrix

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X / 16, y, test_size=0.3, random_state=0, stratify=y
)
T = make_transition_matrix(10, 0.3, kind="pair")
y_train_noisy = inject_label_noise(y_train, transition_matrix=T, random_state=0)

# %%
# Cross-entropy only: 30 epochs, no L_DMI phase.
ce = DMIClassifier(warmup_epochs=30, max_epochs=0, validation_fraction=None)
ce.set_params(random_state=0).fit(X_train, y_train_noisy)
dmi = DMIClassifier(random_state=0).fit(X_train, y_train_noisy)
print(f"cross-entropy: {ce.score(X_test, y_test):.3f}")
print(f"L_DMI:         {dmi.score(X_test, y_test):.3f}")
print(f"warm-up epochs chosen: {dmi.warmup_epochs_}")

# %%
# The validation split's L_DMI through both phases of the DMI run.
history = dmi.net_.history
epochs = history[:, "epoch"]
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(epochs, history[:, "valid_dmi_loss"], marker="o")
ax.axvline(dmi.warmup_epochs_, color="k", linestyle="--", label="start of L_DMI")
ax.set_xlabel("epoch")
ax.set_ylabel("validation L_DMI (noisy labels)")
ax.legend()
fig.tight_layout()
plt.show()
