"""
===============================================
Cleaning labels inside a scikit-learn pipeline
===============================================

:class:`~sklearn_noisy.CleanLabelClassifier` drops the rows a
:class:`~sklearn_noisy.MislabelDetector` flags and fits any classifier on the
rest. As the last step of a ``Pipeline`` it works with ``GridSearchCV``,
which can tune the detector too.
"""

# %%
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_noisy import CleanLabelClassifier, MislabelDetector
from sklearn_noisy.noise import inject_label_noise, make_transition_matrix

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
T = make_transition_matrix(10, 0.3, kind="symmetric")
y_train_noisy = inject_label_noise(y_train, transition_matrix=T, random_state=0)

plain = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
plain.fit(X_train, y_train_noisy)
print(f"LogisticRegression on noisy labels: {plain.score(X_test, y_test):.3f}")

# %%
cleaned = make_pipeline(
    StandardScaler(),
    CleanLabelClassifier(
        LogisticRegression(max_iter=1000),
        MislabelDetector(max_epochs=10, random_state=0),
    ),
)
grid = GridSearchCV(
    cleaned,
    {"cleanlabelclassifier__detector__contamination": ["auto", 0.2, 0.3]},
    cv=3,
)
grid.fit(X_train, y_train_noisy)
print("best contamination:", grid.best_params_)
print(f"cleaned, then LogisticRegression: {grid.score(X_test, y_test):.3f}")
