"""``texture``: the Haralick + LBP baseline of Stiefel et al. (2024), with optional metadata.

Modes: ``texture`` (image features only), ``metadata`` (metadata only) and
``hybrid`` (both). A scikit-learn pipeline (scaling, univariate feature
ranking and selection, classifier) is tuned by a grid search with grouped
cross-validation on the training split (groups = specimens, so no specimen
is in a fold's train and test part), then saved with joblib.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from fairmicro.errors import ModelError
from fairmicro.models.base import ModelPlugin
from fairmicro.models.data import class_names, groups, iter_images, labels
from fairmicro.models.deps import require
from fairmicro.models.metadata import MetadataPreprocessor
from fairmicro.models.texture_features import TextureSpec, texture_features

MODES = ("texture", "metadata", "hybrid")
COMMAND = "fairmicro train texture"


class TexturePlugin(ModelPlugin):
    """Haralick/LBP texture features (+ metadata) with a tuned scikit-learn classifier."""

    name: ClassVar[str] = "texture"
    defaults: ClassVar[dict[str, Any]] = {
        "mode": "texture",
        "metadata": "auto",
        **{k: list(v) if isinstance(v, tuple) else v for k, v in asdict(TextureSpec()).items()},
        "classifier": "random_forest",
        "select_k": ["all", 10],
        "cv_folds": 3,
        "seed": 0,
        "n_jobs": 1,
    }

    def fit(self, train: Any, validation: Any | None = None) -> TexturePlugin:
        """Compute features, rank and select them, tune by grouped CV, fit on the whole split."""
        if self.params["mode"] not in MODES:
            raise ModelError(f"texture: mode {self.params['mode']!r} is not one of {', '.join(MODES)}")
        self.classes_ = class_names(train)
        metadata_option = [] if self.params["mode"] == "texture" else self.params["metadata"]
        self.preprocessor_ = MetadataPreprocessor(metadata_option).fit(train)
        self.metadata_columns_ = self.preprocessor_.chosen_columns
        if self.params["mode"] != "texture" and not self.metadata_columns_:
            raise ModelError("texture: no metadata column varies in the training split; use --mode texture")
        features, y, group = self._features(train), labels(train), groups(train)
        search = self._search(features, y, group)
        self.pipeline_ = search.best_estimator_
        self.history_ = self._learning_curve(features, y, group)
        self.cv_score_ = float(search.best_score_)
        self.best_params_ = {k: _plain(v) for k, v in search.best_params_.items()}
        self.feature_ranking_ = self._ranking(features, y)
        return self

    def predict_proba(self, data: Any) -> np.ndarray:
        """Class probabilities, columns in ``classes_`` order."""
        probabilities = np.zeros((len(data), len(self.classes_)))
        fitted = self.pipeline_.predict_proba(self._features(data))
        probabilities[:, self.pipeline_.classes_] = fitted
        return probabilities

    # -------------------------------------------------------------- internals
    @property
    def spec(self) -> TextureSpec:
        """The texture feature settings."""
        p = self.params
        return TextureSpec(tuple(p["distances"]), int(p["levels"]), int(p["lbp_points"]), float(p["lbp_radius"]))

    def feature_names(self) -> list[str]:
        """Names of the model's input features."""
        names = [] if self.params["mode"] == "metadata" else self.spec.names()
        return names + self.preprocessor_.feature_names()

    def _features(self, data: Any) -> np.ndarray:
        blocks = []
        if self.params["mode"] != "metadata":
            spec = self.spec
            blocks.append(np.array([texture_features(image, spec) for image in iter_images(data)]).reshape(len(data), -1))
        if self.params["mode"] != "texture":
            blocks.append(self.preprocessor_.transform(data))
        return np.hstack(blocks)

    def _search(self, features: np.ndarray, y: np.ndarray, group: np.ndarray | None) -> Any:
        model_selection = require("sklearn.model_selection", COMMAND)
        folds = self._folds(y, group)
        grid = {"select__k": [k if k == "all" else min(int(k), features.shape[1]) for k in self.params["select_k"]]}
        grid.update(_classifier_grid(self.params["classifier"]))
        search = model_selection.GridSearchCV(
            self._pipeline(), grid, cv=folds, scoring="accuracy", n_jobs=self.params["n_jobs"], refit=True
        )
        with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
            # f_classif warns for features without within-class variance (perfect separators
            # on small folds); they are scored, not dropped, so the warning is noise here.
            warnings.filterwarnings("ignore", category=UserWarning, module="sklearn.feature_selection")
            warnings.filterwarnings("ignore", category=RuntimeWarning, module="sklearn.feature_selection")
            search.fit(features, y, groups=group)
        return search

    def _learning_curve(self, features: np.ndarray, y: np.ndarray, group: np.ndarray | None) -> dict[str, list[float]]:
        """Training and cross-validated accuracy of the tuned pipeline against training-set size.

        The texture model trains no epochs; this is its training curve.
        """
        model_selection = require("sklearn.model_selection", COMMAND)
        with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
            warnings.simplefilter("ignore")  # small subsets: constant features, missing classes
            sizes, train_scores, cv_scores = model_selection.learning_curve(
                self.pipeline_, features, y, groups=group, cv=self._folds(y, group),
                train_sizes=np.linspace(0.3, 1.0, 4), scoring="accuracy", error_score=np.nan,
                shuffle=True, random_state=self.params["seed"],
            )
        return {"train_size": [float(n) for n in sizes],
                "train_accuracy": [float(v) for v in np.nanmean(train_scores, axis=1)],
                "cv_accuracy": [float(v) for v in np.nanmean(cv_scores, axis=1)]}

    def _folds(self, y: np.ndarray, group: np.ndarray | None) -> Any:
        model_selection = require("sklearn.model_selection", COMMAND)
        n_groups = len(set(group)) if group is not None else 0
        if group is not None and n_groups >= 2:
            # stratified too, so a fold does not lose a class when whole specimens move
            return model_selection.StratifiedGroupKFold(n_splits=min(self.params["cv_folds"], n_groups),
                                                        shuffle=True, random_state=self.params["seed"])
        smallest = int(np.bincount(y).min()) if len(y) else 0
        if smallest < 2:
            raise ModelError("texture: the training split needs at least 2 rows of every class (or 2 specimens)")
        return model_selection.StratifiedKFold(min(self.params["cv_folds"], smallest), shuffle=True,
                                               random_state=self.params["seed"])

    def _pipeline(self) -> Any:
        pipeline = require("sklearn.pipeline", COMMAND)
        preprocessing = require("sklearn.preprocessing", COMMAND)
        selection = require("sklearn.feature_selection", COMMAND)
        return pipeline.Pipeline([
            ("constant", selection.VarianceThreshold()),  # drop features constant in training
            ("scale", preprocessing.StandardScaler()),
            ("select", selection.SelectKBest(selection.f_classif)),
            ("classify", _classifier(self.params["classifier"], self.params["seed"])),
        ])

    def _ranking(self, features: np.ndarray, y: np.ndarray) -> list[tuple[str, float]]:
        selection = require("sklearn.feature_selection", COMMAND)
        with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # constant features score 0 below
            scores, _ = selection.f_classif(features, y)
        scores = np.nan_to_num(scores, nan=0.0, posinf=0.0)
        order = np.argsort(-scores)
        names = self.feature_names()
        return [(names[i], float(scores[i])) for i in order]

    # ---------------------------------------------------------- persistence
    def save(self, folder: Path) -> list[Path]:
        """One joblib file with the pipeline and everything needed to predict."""
        joblib = require("joblib", COMMAND)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "model.joblib"
        joblib.dump({
            "params": self.params, "classes": self.classes_, "pipeline": self.pipeline_,
            "preprocessor": self.preprocessor_.to_dict(), "cv_score": self.cv_score_,
            "best_params": self.best_params_, "ranking": self.feature_ranking_, "history": self.history_,
        }, path)
        return [path]

    @classmethod
    def load(cls, folder: Path) -> TexturePlugin:
        """Read ``model.joblib``."""
        joblib = require("joblib", COMMAND)
        state = joblib.load(folder / "model.joblib")
        model = cls(**state["params"])
        model.classes_ = state["classes"]
        model.pipeline_ = state["pipeline"]
        model.preprocessor_ = MetadataPreprocessor.from_dict(state["preprocessor"])
        model.metadata_columns_ = model.preprocessor_.chosen_columns
        model.cv_score_, model.best_params_ = state["cv_score"], state["best_params"]
        model.feature_ranking_, model.history_ = state["ranking"], state.get("history")
        return model

    def report(self) -> dict[str, Any]:
        """What the run records beyond metrics: CV score, chosen hyperparameters, top features."""
        return {"cv_accuracy": self.cv_score_, "best_params": self.best_params_,
                "feature_ranking": self.feature_ranking_[:28]}


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def _classifier(name: str, seed: int) -> Any:
    if name == "random_forest":
        ensemble = require("sklearn.ensemble", COMMAND)
        return ensemble.RandomForestClassifier(n_estimators=200, random_state=seed)
    if name == "svm":
        svm = require("sklearn.svm", COMMAND)
        return svm.SVC(probability=True, random_state=seed)
    raise ModelError(f"texture: classifier {name!r} is not one of random_forest, svm")


def _classifier_grid(name: str) -> dict[str, list[Any]]:
    return {
        "random_forest": {"classify__max_depth": [None, 8]},
        "svm": {"classify__C": [1.0, 10.0], "classify__gamma": ["scale"]},
    }.get(name, {})
