"""The mathematics of the papers: numpy, scipy and torch only.

Nothing here imports scikit-learn, skorch, pandas or matplotlib; the estimators
in the package above compose these pieces.
"""
