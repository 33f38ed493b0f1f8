"""``texture``: the Haralick + LBP baseline of Stiefel et al. (2024), with optional metadata.

Modes: ``texture`` (image features only), ``metadata`` (metadata only) and
``hybrid`` (both). A scikit-learn pipeline (drop constant features, scale,
rank features and keep the best k, classifier) is tuned by a grid search with
grouped cross-validation on the training split (groups = specimens, so no
specimen is in a fold's train and test part; feature ranking and selection are
refitted inside every fold, so they never see the fold's test rows), then
saved with joblib. The run reports the grouped-CV accuracy and balanced
accuracy and, beside them, the same pipeline scored by a leaky ungrouped
(plain stratified) CV: the difference is what leakage would have cost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field

from fairmicro.errors import ModelError
from fairmicro.models.base import ModelPlugin, PluginParams
from fairmicro.models.data import GROUP, IntensityScale, class_names, iter_images, labels
from fairmicro.models.deps import require
from fairmicro.models.metadata import MetadataPreprocessor
from fairmicro.models.texture_cv import SCORINGS, CvPlan, cv_plan, cv_summary, quiet
from fairmicro.models.texture_features import TextureSpec, feature_matrix

log = logging.getLogger(__name__)

MODES = ("texture", "metadata", "hybrid")
RANKINGS = ("anova", "mutual_info")
COMMAND = "fairmicro train texture"
_SPEC = TextureSpec()


class TextureParams(PluginParams):
    """Parameters of the ``texture`` plugin (values outside the listed choices are refused by ``fit``)."""

    mode: str = Field("texture", description="texture (image features), metadata (metadata only) or hybrid (both).")
    metadata: str | list[str] = Field("auto", description="Metadata columns: auto, or a list of column names.")
    distances: list[int] = Field(
        list(_SPEC.distances), min_length=1, description="GLCM pixel distances (four directions each)."
    )
    levels: int = Field(_SPEC.levels, ge=2, le=256, description="Grey levels of the co-occurrence matrices (2 to 256).")
    lbp_points: int = Field(_SPEC.lbp_points, description="LBP sampling points P.")
    lbp_radius: float = Field(_SPEC.lbp_radius, description="LBP radius R in pixels.")
    classifier: str = Field("random_forest", description="random_forest or svm.")
    ranking: str = Field("anova", description="Feature ranking: anova (F statistic) or mutual_info.")
    select_k: list[int | Literal["all"]] = Field(
        [8, 16, "all"], description='Grid of how many top-ranked features to keep (numbers or "all").'
    )
    scoring: str = Field(
        "balanced_accuracy", description="What the grid search maximises (accuracy or balanced_accuracy)."
    )
    cv_folds: int = Field(3, description="Cross-validation folds of the grid search.")
    group_column: str | None = Field(GROUP, description="CV groups; tiles of one image stay together without it.")
    seed: int = Field(0, description="Random seed.")
    n_jobs: int = Field(1, description="Parallel jobs of the grid search.")


class TexturePlugin(ModelPlugin):
    """Haralick/LBP texture features (+ metadata) with a tuned scikit-learn classifier."""

    name: ClassVar[str] = "texture"
    task: ClassVar[str] = "classification"
    Params: ClassVar[type[PluginParams]] = TextureParams

    def fit(self, train: Any, validation: Any | None = None) -> TexturePlugin:
        """Compute features, rank and select them, tune by grouped CV, fit on the whole split."""
        self._check_params()
        self.classes_ = class_names(train)
        metadata_option = [] if self.params["mode"] == "texture" else self.params["metadata"]
        self.preprocessor_ = MetadataPreprocessor(metadata_option).fit(train)
        self.metadata_columns_ = self.preprocessor_.chosen_columns
        if self.params["mode"] != "texture" and not self.metadata_columns_:
            raise ModelError("texture: no metadata column varies in the training split; use --mode texture")
        self.intensity_ = IntensityScale()
        if self.params["mode"] != "metadata":
            self.intensity_.fit(iter_images(train))
        features, y = self._features(train), labels(train)
        _check_features(features)
        plan = cv_plan(train, y, self.params)
        search = self._search(features, y, plan)
        self.pipeline_ = search.best_estimator_
        self.best_params_ = {k: _plain(v) for k, v in search.best_params_.items()}
        self.cv_ = cv_summary(search, self._pipeline_with_best(), features, y, plan, self.params)
        self.cv_score_ = self.cv_["grouped"]["accuracy"]
        self.history_ = self._learning_curve(features, y, plan)
        self.feature_ranking_ = self._ranking()
        return self

    def _check_params(self) -> None:
        p = self.params
        for key, allowed in (("mode", MODES), ("ranking", RANKINGS), ("scoring", SCORINGS)):
            if p[key] not in allowed:
                raise ModelError(f"texture: {key} {p[key]!r} is not one of {', '.join(allowed)}")
        _classifier_grid(p["classifier"])
        if not isinstance(p["select_k"], list) or not p["select_k"]:
            raise ModelError(f'texture: select_k {p["select_k"]!r} must be a list like [8, 16, "all"]')

    def predict_proba(self, data: Any) -> np.ndarray:
        """Class probabilities, columns in ``classes_`` order."""
        probabilities = np.zeros((len(data), len(self.classes_)))
        if len(data) == 0:
            return probabilities
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
        blocks = [np.zeros((len(data), 0))]
        if self.params["mode"] != "metadata":
            blocks.append(feature_matrix(iter_images(data), self.spec, getattr(self, "intensity_", None)))
        if self.params["mode"] != "texture":
            blocks.append(self.preprocessor_.transform(data))
        return np.hstack(blocks)

    def _search(self, features: np.ndarray, y: np.ndarray, plan: CvPlan) -> Any:
        model_selection = require("sklearn.model_selection", COMMAND)
        ks = [k if k == "all" else min(int(k), features.shape[1]) for k in self.params["select_k"]]
        grid = {"select__k": list(dict.fromkeys(ks))}
        grid.update(_classifier_grid(self.params["classifier"]))
        search = model_selection.GridSearchCV(
            self._pipeline(),
            grid,
            cv=plan.folds,
            scoring=list(SCORINGS),
            refit=self.params["scoring"],
            n_jobs=self.params["n_jobs"],
            error_score=np.nan,
        )
        with quiet():
            search.fit(features, y, groups=plan.groups)
        return search

    def _pipeline_with_best(self) -> Any:
        base = require("sklearn.base", COMMAND)
        return base.clone(self._pipeline()).set_params(**self.best_params_)

    def _learning_curve(self, features: np.ndarray, y: np.ndarray, plan: CvPlan) -> dict[str, list[float]]:
        """Training and cross-validated accuracy of the tuned pipeline against training-set size.

        The texture model trains no epochs; this is its training curve.
        """
        model_selection = require("sklearn.model_selection", COMMAND)
        with quiet():
            sizes, train_scores, cv_scores = model_selection.learning_curve(
                self._pipeline_with_best(),
                features,
                y,
                groups=plan.groups,
                cv=plan.folds,
                train_sizes=np.linspace(0.4, 1.0, 3),
                scoring="accuracy",
                error_score=np.nan,
                shuffle=True,
                random_state=self.params["seed"],
            )
        return {
            "train_size": [float(n) for n in sizes],
            "train_accuracy": [float(v) for v in np.nanmean(train_scores, axis=1)],
            "cv_accuracy": [float(v) for v in np.nanmean(cv_scores, axis=1)],
        }

    def _pipeline(self) -> Any:
        pipeline = require("sklearn.pipeline", COMMAND)
        preprocessing = require("sklearn.preprocessing", COMMAND)
        selection = require("sklearn.feature_selection", COMMAND)
        score_func: Callable[[np.ndarray, np.ndarray], Any]
        if self.params["ranking"] == "mutual_info":
            score_func = partial(selection.mutual_info_classif, random_state=self.params["seed"])
        else:
            score_func = anova_f
        return pipeline.Pipeline(
            [
                ("constant", selection.VarianceThreshold()),  # drop features constant in training
                ("scale", preprocessing.StandardScaler()),
                ("select", selection.SelectKBest(score_func)),
                ("classify", _classifier(self.params["classifier"], self.params["seed"])),
            ]
        )

    def _ranking(self) -> list[dict[str, Any]]:
        """Every feature with the score and rank the fitted selection step gave it, best first.

        Features constant in the training split were dropped before ranking (no rank).
        """
        kept = np.flatnonzero(self.pipeline_.named_steps["constant"].get_support())
        select = self.pipeline_.named_steps["select"]
        scores = np.nan_to_num(np.asarray(select.scores_, dtype=np.float64), nan=0.0, posinf=np.finfo(np.float64).max)
        chosen = select.get_support()
        names = self.feature_names()
        order = np.argsort(-scores, kind="stable")
        ranked = [
            {"rank": rank + 1, "feature": names[kept[i]], "score": float(scores[i]), "selected": bool(chosen[i])}
            for rank, i in enumerate(order)
        ]
        dropped = sorted(set(range(len(names))) - set(kept.tolist()))
        return ranked + [{"rank": None, "feature": names[i], "score": None, "selected": False} for i in dropped]

    # ---------------------------------------------------------- persistence
    def save(self, folder: Path) -> list[Path]:
        """One joblib file with the pipeline and everything needed to predict."""
        joblib = require("joblib", COMMAND)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "model.joblib"
        joblib.dump(
            {
                "params": self.params,
                "classes": self.classes_,
                "pipeline": self.pipeline_,
                "preprocessor": self.preprocessor_.to_dict(),
                "intensity": self.intensity_.to_dict(),
                "cv": self.cv_,
                "best_params": self.best_params_,
                "ranking": self.feature_ranking_,
                "history": self.history_,
            },
            path,
        )
        return [path]

    @classmethod
    def load(cls, folder: Path) -> TexturePlugin:
        """Read ``model.joblib``."""
        joblib = require("joblib", COMMAND)
        state = joblib.load(folder / "model.joblib")
        model = cls(**{k: v for k, v in state["params"].items() if k in cls.Params.model_fields})
        model.classes_ = state["classes"]
        model.pipeline_ = state["pipeline"]
        model.preprocessor_ = MetadataPreprocessor.from_dict(state["preprocessor"])
        model.metadata_columns_ = model.preprocessor_.chosen_columns
        model.intensity_ = IntensityScale.from_dict(state.get("intensity"))
        model.cv_ = state.get("cv") or {"grouped": {"accuracy": state.get("cv_score")}}
        model.cv_score_ = model.cv_["grouped"]["accuracy"]
        model.best_params_ = state["best_params"]
        model.feature_ranking_, model.history_ = state["ranking"], state.get("history")
        return model

    def report(self) -> dict[str, Any]:
        """What the run records beyond metrics: CV figures, hyperparameters, feature ranks and selection."""
        selected = [r["feature"] for r in self.feature_ranking_ if r.get("selected")]
        chosen = (
            f"selected {len(selected)} of {len(self.feature_ranking_)} features by {self.params['ranking']} "
            f"rank (best: {', '.join(selected[:3])}); hyperparameters {self.best_params_}"
        )
        return {
            "cv_accuracy": self.cv_score_,
            "cv": self.cv_,
            "best_params": self.best_params_,
            "ranking_method": self.params["ranking"],
            "selected_features": selected,
            "feature_ranking": self.feature_ranking_,
            "summary": [*self.cv_.get("summary", []), chosen],
        }


def anova_f(features: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One-way ANOVA F per feature; a perfect separator (no within-class spread) ranks first.

    Sums of squares are taken directly (within = around each class mean), not
    as total minus between as scikit-learn's ``f_classif`` does: that
    difference cancels to a tiny negative number for a feature constant within
    each class, giving it a huge *negative* F (or NaN), so the one feature that
    carries the label was ranked last and dropped.
    """
    x = np.asarray(features, dtype=np.float64)
    classes, codes = np.unique(np.asarray(y), return_inverse=True)
    n, k = x.shape[0], len(classes)
    counts = np.bincount(codes, minlength=k).astype(np.float64)
    means = np.stack([x[codes == c].mean(axis=0) for c in range(k)])
    within = ((x - means[codes]) ** 2).sum(axis=0)
    between = (counts[:, None] * (means - x.mean(axis=0)) ** 2).sum(axis=0)
    total = within + between
    with np.errstate(divide="ignore", invalid="ignore"):
        f = (between / max(k - 1, 1)) / (within / max(n - k, 1))
    perfect = (between > 0) & (within <= 1e-12 * total)
    scores = np.where(perfect, np.finfo(np.float64).max, np.nan_to_num(f, nan=0.0, posinf=0.0))
    stats = require("scipy.stats", COMMAND)
    p_values = np.where(perfect, 0.0, stats.f.sf(scores, max(k - 1, 1), max(n - k, 1)))
    return scores, np.nan_to_num(p_values, nan=1.0)


def _check_features(features: np.ndarray) -> None:
    if not features.size or not np.isfinite(features).all():
        raise ModelError("texture: the training split gives no finite features")
    if float(np.ptp(features, axis=0).max()) == 0.0:
        raise ModelError("texture: every feature is constant over the training split (blank or identical images?)")


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def _classifier(name: str, seed: int) -> Any:
    if name == "random_forest":
        ensemble = require("sklearn.ensemble", COMMAND)
        return ensemble.RandomForestClassifier(n_estimators=100, random_state=seed)
    if name == "svm":
        svm = require("sklearn.svm", COMMAND)
        return svm.SVC(probability=True, random_state=seed)
    raise ModelError(f"texture: classifier {name!r} is not one of random_forest, svm")


def _classifier_grid(name: str) -> dict[str, list[Any]]:
    grids: dict[str, dict[str, list[Any]]] = {
        "random_forest": {"classify__max_depth": [None, 8]},
        "svm": {"classify__C": [1.0, 10.0], "classify__gamma": ["scale"]},
    }
    if name not in grids:
        raise ModelError(f"texture: classifier {name!r} is not one of {', '.join(grids)}")
    return grids[name]
