"""The petition category model: TF-IDF character n-grams and Complement Naive Bayes.

Complement NB suits this task: a few thousand labelled letters, fifteen unevenly sized
classes and long texts full of words every class shares. Scores become probabilities
through a softmax whose temperature is fitted by cross-validation on the training data,
so that "confidence" means what it says. Saved as JSON and .npy arrays, never pickled.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse  # type: ignore[import-untyped]
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import StratifiedKFold
from sklearn.naive_bayes import ComplementNB

from nlu.components.linear import gather_scores, prepare_text, softmax

FloatArray = np.ndarray[Any, np.dtype[np.float32]]
TEMPERATURES = (0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0)


def _vectorizer(
    ngrams: tuple[int, int], max_features: int | None, vocabulary: dict[str, int] | None = None
) -> TfidfVectorizer:
    return TfidfVectorizer(
        analyzer="char",
        ngram_range=ngrams,
        sublinear_tf=True,
        max_features=max_features,
        vocabulary=vocabulary,
        dtype=np.float32,
    )


def _nb_weights(features: sparse.csr_matrix, labels: Sequence[str], alpha: float) -> FloatArray:
    model = ComplementNB(alpha=alpha)
    model.fit(features, list(labels))
    weights: FloatArray = model.feature_log_prob_.astype(np.float32)
    return weights


def fit_temperature(
    features: sparse.csr_matrix, labels: Sequence[str], classes: Sequence[str], alpha: float
) -> float:
    """The softmax temperature minimising the cross-validated log loss."""
    index = {label: i for i, label in enumerate(classes)}
    target = np.array([index[label] for label in labels])
    counts = np.bincount(target, minlength=len(classes))
    folds = int(min(5, counts[counts > 0].min())) if len(counts) else 0
    if folds < 2:
        return 1.0
    scores = np.zeros((len(labels), len(classes)), dtype=np.float32)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=7)
    for train, test in splitter.split(np.zeros(len(target)), target):
        present = sorted(set(target[train]))
        weights = _nb_weights(features[train], [classes[i] for i in target[train]], alpha)
        fold_scores = np.full((len(test), len(classes)), -1e9, dtype=np.float32)
        fold_scores[:, present] = features[test] @ weights.T
        scores[test] = fold_scores
    best, best_loss = 1.0, float("inf")
    for temperature in TEMPERATURES:
        probabilities = softmax(scores, temperature)
        loss = -float(np.mean(np.log(probabilities[np.arange(len(target)), target] + 1e-9)))
        if loss < best_loss:
            best, best_loss = temperature, loss
    return best


@dataclass
class Head:
    """One classifier over the shared features: labels, weights and temperature."""

    classes: list[str]
    weights: FloatArray
    temperature: float
    # The feature columns the head looks at (None: all); second-level heads keep only the
    # n-grams seen in their category, which keeps the model small.
    columns: np.ndarray[Any, np.dtype[np.int32]] | None = None

    def __post_init__(self) -> None:
        """Keeps the weights one row per feature, and for a head over some columns the row
        of each column (-1: not used), so scoring gathers only a message's own n-grams."""
        self._by_feature: FloatArray = np.ascontiguousarray(self.weights.T)
        self._row_of: np.ndarray[Any, np.dtype[np.int64]] | None = None
        if self.columns is not None:
            size = int(self.columns.max()) + 1 if len(self.columns) else 0
            self._row_of = np.full(size, -1, dtype=np.int64)
            self._row_of[self.columns] = np.arange(len(self.columns))

    def scores(self, features: sparse.csr_matrix) -> FloatArray:
        """Raw class scores, one row per feature row (`features @ weights.T`)."""
        result: FloatArray = gather_scores(features, self._by_feature, self._row_of)
        return result

    def probabilities(self, features: sparse.csr_matrix) -> FloatArray:
        """One row of label probabilities per feature row."""
        return softmax(self.scores(features), self.temperature)

    @classmethod
    def fit(
        cls,
        features: sparse.csr_matrix,
        labels: Sequence[str],
        alpha: float,
        *,
        only_seen: bool = False,
    ) -> Head:
        """Fits the weights and the temperature (on the columns seen, if `only_seen`)."""
        columns = None
        if only_seen:
            columns = np.flatnonzero(np.asarray(features.getnnz(axis=0)) > 0).astype(np.int32)
            features = features[:, columns]
        classes = sorted(set(labels))
        weights = _nb_weights(features, labels, alpha)
        temperature = fit_temperature(features, labels, classes, alpha)
        return cls(classes, weights, temperature, columns)


@dataclass
class CategoryModel:
    """Top-level category head plus one second-level head per top-level category."""

    vectorizer: TfidfVectorizer
    top: Head
    second: dict[str, Head] = field(default_factory=dict)

    @classmethod
    def fit(
        cls,
        texts: Sequence[str],
        level1: Sequence[str],
        level2: Sequence[str | None],
        *,
        ngrams: tuple[int, int] = (1, 3),
        alpha: float = 0.3,
        max_features: int | None = 200_000,
    ) -> CategoryModel:
        """Fits on labelled texts; second-level heads only where two or more labels exist."""
        if len(set(level1)) < 2:
            raise ValueError("the category model needs at least two top-level categories")
        vectorizer = _vectorizer(ngrams, max_features)
        features = vectorizer.fit_transform([prepare_text(text) for text in texts]).tocsr()
        top = Head.fit(features, level1, alpha)
        second: dict[str, Head] = {}
        for category in top.classes:
            rows = [
                i
                for i, (one, two) in enumerate(zip(level1, level2, strict=True))
                if one == category and two
            ]
            labels = [str(level2[i]) for i in rows]
            if len(set(labels)) >= 2:
                second[category] = Head.fit(features[rows], labels, alpha, only_seen=True)
        return cls(vectorizer, top, second)

    def features(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """TF-IDF rows for texts."""
        return self.vectorizer.transform([prepare_text(text) for text in texts]).tocsr()

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        """The ranked top-level categories and the best second-level one, per text."""
        features = self.features(texts)
        top = self.top.probabilities(features)
        results: list[Prediction] = []
        for row in range(len(texts)):
            order = np.argsort(-top[row])
            ranking = [(self.top.classes[i], float(top[row, i])) for i in order]
            second: tuple[str, float] | None = None
            head = self.second.get(ranking[0][0])
            if head is not None:
                probabilities = head.probabilities(features[row])[0]
                best = int(np.argmax(probabilities))
                second = (head.classes[best], float(probabilities[best]))
            results.append(Prediction(ranking, second))
        return results

    def save(self, directory: Path) -> None:
        """Writes the model as JSON (vocabulary, labels, temperatures) and .npy arrays."""
        vocabulary = {term: int(index) for term, index in self.vectorizer.vocabulary_.items()}
        heads = {"top": self.top, **{f"second-{i}": h for i, h in enumerate(self.second.values())}}
        meta = {
            "ngrams": list(self.vectorizer.ngram_range),
            "heads": {
                name: {"classes": head.classes, "temperature": head.temperature}
                for name, head in heads.items()
            },
            "second": {category: f"second-{i}" for i, category in enumerate(self.second)},
        }
        (directory / "meta.json").write_text(json.dumps(meta, ensure_ascii=False), "utf-8")
        (directory / "vocabulary.json").write_text(
            json.dumps(vocabulary, ensure_ascii=False), "utf-8"
        )
        np.save(directory / "idf.npy", self.vectorizer.idf_.astype(np.float32))
        for name, head in heads.items():
            np.save(directory / f"{name}.npy", head.weights)
            if head.columns is not None:
                np.save(directory / f"{name}.columns.npy", head.columns)

    @classmethod
    def load(cls, directory: Path) -> CategoryModel:
        """Reads a model written by `save` (no pickle involved)."""
        meta = json.loads((directory / "meta.json").read_text("utf-8"))
        vocabulary = json.loads((directory / "vocabulary.json").read_text("utf-8"))
        vectorizer = _vectorizer(tuple(meta["ngrams"]), None, vocabulary)
        vectorizer.idf_ = np.load(directory / "idf.npy", allow_pickle=False)

        def head(name: str) -> Head:
            """The head saved under `name`."""
            info = meta["heads"][name]
            weights = np.load(directory / f"{name}.npy", allow_pickle=False)
            columns_path = directory / f"{name}.columns.npy"
            columns = np.load(columns_path, allow_pickle=False) if columns_path.exists() else None
            return Head(list(info["classes"]), weights, float(info["temperature"]), columns)

        second = {category: head(name) for category, name in meta["second"].items()}
        return cls(vectorizer, head("top"), second)


@dataclass(frozen=True)
class Prediction:
    """Top-level categories ranked by probability, and the best second-level category."""

    ranking: list[tuple[str, float]]
    second: tuple[str, float] | None
