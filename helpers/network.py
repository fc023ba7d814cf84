"""The network as a forecaster: a seed ensemble of stacked RNNs, one Keras model, that starts as persistence.

What 06 scores, 06 saves into ``<run>/model/`` and 07, ``lstm-lab predict``, the ledger, monitoring, retraining
and risk load is one :class:`NetworkForecaster`:

- **One model, many seeds.** ``config.seeds`` towers (:func:`helpers.models.build_seed_ensemble`) read the same
  window in parallel and are trained together; the forecast is their mean. One file, one call.
- **Start as persistence, earn every departure.** Each tower's head starts at the output that means "no
  change" (a zero log return, scaled; a probability of 0.5), so the untrained network forecasts persistence.
  Early stopping is per tower, on the first half of the validation rows, and counts the untrained start as
  epoch 0: a tower whose validation loss never improves on "no change" keeps its starting weights. Then the
  ensemble's departure from "no change" is shrunk by a factor in [0, 1] fitted on the second half of the
  validation rows (which the stopping never saw) and discounted by its own uncertainty (:func:`shrinkage_factor`),
  so the network moves away from persistence only as far as unseen validation rows give evidence for. Test rows
  are never used.
- **The forecaster surface.** ``fit(close, train_end)`` / ``predict(close, origins, horizon)`` like the
  baselines (:mod:`helpers.baselines`), plus ``predict_at``/``sample_at`` on any feature frame for bands.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from helpers.config import RunConfig
from helpers.preprocess import Preprocessor, output_kind
from helpers.splits import refit_split

SHRINK_LAYER = "shrink_to_persistence"

# Above this many bytes of training windows, batches are streamed from the strided view instead of materialised.
DEFAULT_MEMORY_BUDGET = 1 << 30


@dataclass
class EnsembleFit:
    """How training went: per-tower histories and best epochs (0 = the untrained start, i.e. persistence),
    the shrinkage factor and the validation losses (second half of the validation rows) it was chosen on."""

    seeds: list[int]
    history: dict[str, list[float]]                    # the whole model's loss, val_loss, learning_rate
    tower_val_loss: dict[int, list[float]]             # per tower, epoch 0 (the start) first
    best_epochs: dict[int, int]
    shrink: float
    val_loss: dict[str, float]                         # persistence, ensemble, shrunk ensemble (scaled units)
    epochs_run: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {"seeds": list(self.seeds), "best_epochs": {str(k): v for k, v in self.best_epochs.items()},
                "shrink": self.shrink, "val_loss": dict(self.val_loss), "epochs_run": self.epochs_run,
                "seconds": round(self.seconds, 3),
                "tower_val_loss": {str(k): [float(v) for v in vals] for k, vals in self.tower_val_loss.items()}}

    @property
    def best_epoch(self) -> int:
        """The latest best epoch over the towers (1-based; 0 when every tower kept its start)."""
        return max(self.best_epochs.values())


# ---------------------------------------------------------------------- losses in numpy
def _tower_losses(pred: np.ndarray, y: np.ndarray, target: str) -> np.ndarray:
    """Validation loss of each tower: ``pred`` ``(samples, towers, horizon)``, ``y`` ``(samples, horizon)``."""
    y = np.asarray(y, dtype=np.float64)[:, None, :]
    p = np.asarray(pred, dtype=np.float64)
    if target == "direction":
        p = np.clip(p, 1e-7, 1 - 1e-7)
        return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p), axis=(0, 2))
    return np.mean((p - y) ** 2, axis=(0, 2))


def shrinkage_factor(ensemble: np.ndarray, start: np.ndarray, y: np.ndarray) -> float:
    """How far to trust the ensemble's departure from ``start`` ("no change"): the factor ``s`` in [0, 1] of
    ``start + s * (ensemble - start)``, fitted on the validation rows.

    The least-squares coefficient ``b`` of the validation targets' departure on the ensemble's departure, shrunk
    by its own uncertainty (positive-part James-Stein for one coefficient): ``s = b - se^2 / b``, where ``se`` is
    the standard error of ``b``. ``s = 0`` (persistence) unless ``b`` is positive and larger than ``se`` (t > 1);
    ``s`` approaches ``b`` as the evidence grows; never above 1. A departure that only happens to correlate
    with the validation rows' noise is therefore mostly removed, a learnt signal is kept.
    """
    d = (np.asarray(ensemble, dtype=np.float64) - start).ravel()
    r = (np.asarray(y, dtype=np.float64) - start).ravel()
    dd = float(np.sum(d * d))
    if dd <= 1e-18 or d.size < 3:
        return 0.0
    b = float(np.sum(d * r)) / dd
    if b <= 0:
        return 0.0
    residual = r - b * d
    se2 = float(np.sum(residual * residual)) / (d.size - 1) / dd
    return float(np.clip(b - se2 / b, 0.0, 1.0))


# ---------------------------------------------------------------------- per-tower early stopping
def _tower_selection_callback(x_val: np.ndarray, y_val: np.ndarray, seeds: Sequence[int], target: str,
                              patience: int):
    import keras

    from helpers.models import tower_prefix

    class TowerSelection(keras.callbacks.Callback):
        """Early stopping per tower on its own validation loss, the untrained start counted as epoch 0;
        training ends when every tower has waited ``patience`` epochs; each tower gets its best weights back."""

        def _losses(self) -> np.ndarray:
            return _tower_losses(self.model.predict(x_val, batch_size=1024, verbose=0), y_val, target)

        def _layers(self, seed: int) -> list:
            return [layer for layer in self.model.layers if layer.name.startswith(tower_prefix(seed))]

        def on_train_begin(self, logs: dict | None = None) -> None:
            losses = self._losses()
            self.history = {s: [float(v)] for s, v in zip(seeds, losses)}
            self.best = {s: float(v) for s, v in zip(seeds, losses)}
            self.best_epoch = {s: 0 for s in seeds}
            self.wait = {s: 0 for s in seeds}
            self.weights = {s: [layer.get_weights() for layer in self._layers(s)] for s in seeds}

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            for s, loss in zip(seeds, self._losses()):
                self.history[s].append(float(loss))
                if loss < self.best[s] - 1e-12:
                    self.best[s], self.best_epoch[s], self.wait[s] = float(loss), epoch + 1, 0
                    self.weights[s] = [layer.get_weights() for layer in self._layers(s)]
                else:
                    self.wait[s] += 1
            if all(w >= patience for w in self.wait.values()):
                self.model.stop_training = True

        def on_train_end(self, logs: dict | None = None) -> None:
            for s in seeds:
                for layer, weights in zip(self._layers(s), self.weights[s]):
                    layer.set_weights(weights)

    return TowerSelection()


# ---------------------------------------------------------------------- the deployment model
def deployment_model(towers_model: Any, seeds: Sequence[int], shrink: float, start: np.ndarray | None,
                     target: str) -> Any:
    """The model that is saved and served: the towers' mean, shrunk toward ``start`` by ``shrink``, as one
    Keras model ``(batch, window, features) -> (batch, horizon)`` sharing the towers' layers. The shrinkage is
    a frozen ``Dense`` (weights ``shrink * I``, bias ``(1 - shrink) * start``): plain Keras, loads in safe mode."""
    import keras

    from helpers.models import tower_prefix

    heads = [towers_model.get_layer(f"{tower_prefix(s)}head").output for s in seeds]
    mean = heads[0] if len(heads) == 1 else keras.layers.Average(name="seed_mean")(heads)
    horizon = int(heads[0].shape[-1])
    shrink_layer = keras.layers.Dense(horizon, trainable=False, name=SHRINK_LAYER)
    out = shrink_layer(mean)
    base = np.zeros(horizon) if start is None else np.asarray(start, dtype=np.float64)
    factor = 1.0 if start is None else float(shrink)
    shrink_layer.set_weights([np.eye(horizon, dtype=np.float32) * factor,
                              ((1.0 - factor) * base).astype(np.float32)])
    return keras.Model(towers_model.input, out, name=f"forecaster_{len(seeds)}_seeds")


def tower_outputs_model(model: Any, seeds: Sequence[int]) -> Any:
    """A view of a deployment model giving each tower's output ``(batch, towers, horizon)`` (per-seed scores)."""
    import keras

    from helpers.models import tower_prefix

    heads = [model.get_layer(f"{tower_prefix(s)}head").output for s in seeds]
    rows = [keras.ops.expand_dims(h, 1) for h in heads]
    return keras.Model(model.input, rows[0] if len(rows) == 1 else keras.ops.concatenate(rows, axis=1))


# ---------------------------------------------------------------------- the forecaster
class NetworkForecaster:
    """The seed ensemble as a forecaster; see the module docstring.

    Built unfitted from a feature frame (``NetworkForecaster(frame, feature_columns, config)``) and fitted
    with :meth:`fit` (the baselines' surface) or :meth:`fit_windows` (a WindowGenerator's own split), or
    loaded from a run's ``model/`` folder with :meth:`load`. ``model`` is the deployment Keras model,
    ``preprocessor`` its :class:`~helpers.preprocess.Preprocessor`.
    """

    name = "model"

    def __init__(self, frame: pd.DataFrame | None, feature_columns: Sequence[str], config: RunConfig, *,
                 seeds: Sequence[int] | None = None):
        self.frame = frame
        self.feature_columns = list(feature_columns)
        self.config = config
        self.seeds = [int(s) for s in (seeds if seeds is not None else config.seed_list)]
        self.model: Any = None
        self.preprocessor: Preprocessor | None = None
        self.validation_residuals_: np.ndarray | None = None
        self.fit_report: EnsembleFit | None = None
        self.manifest: dict[str, Any] | None = None
        self._towers: Any = None   # the trained towers (fitted in this process): a warm start's weights

    # ------------------------------------------------------------------ fitting
    def fit_windows(self, windows: Any, *, verbose: int = 0, memory_budget_bytes: int = DEFAULT_MEMORY_BUDGET,
                    warm_start: "NetworkForecaster | None" = None) -> "NetworkForecaster":
        """Train the towers on ``windows``' training samples, stop each on its validation samples, fit the
        shrinkage on them, and keep the deployment model. Test samples are never read. Training windows are
        materialised when they fit ``memory_budget_bytes``, else streamed from the view (``feed_``).

        ``warm_start``: a fitted forecaster of the same shape whose towers' weights are the starting point (and
        epoch 0) instead of the persistence start: a walk-forward refit continuing from the previous part. The
        caller vouches that it was trained on rows before this fit's test rows."""
        import keras

        from helpers.models import build_seed_ensemble
        from helpers.train import set_seed
        from helpers.trainers import compiled_like

        config, pre = self.config, windows.preprocessor
        set_seed(config.seed)
        start = pre.no_change_output()
        # ``towers`` holds the fresh state and, after training, the trained weights; ``trainer`` is a compiled
        # model of the same architecture lent for this fit (its traced step is reused by refits of this shape).
        towers = build_seed_ensemble(config.cell, config.units, config.dropout, windows.horizon, windows.window,
                                     windows.n_features, self.seeds, output=output_kind(windows.target),
                                     start=start)
        if warm_start is not None:
            previous = warm_start.towers_weights()
            if [w.shape for w in previous] != [w.shape for w in towers.get_weights()]:
                raise ValueError("warm_start has another shape (cell, units, window, features or seeds) than this fit")
            towers.set_weights(previous)
        trainer = compiled_like(towers, learning_rate=config.learning_rate, target=windows.target)
        # The validation rows are used twice, so they are halved: the first half stops each tower, the second
        # (closer to the test period, unseen by the stopping) decides how far to trust the departure.
        x_all, y_all = np.ascontiguousarray(windows.inputs("val")), windows.labels("val")
        half = len(x_all) // 2
        x_val, y_val = x_all[:half], y_all[:half]
        x_judge, y_judge = x_all[half:], y_all[half:]
        tile = (1, len(self.seeds), 1)
        window_bytes = (windows.window * windows.n_features + windows.horizon * len(self.seeds)) * 4
        self.feed_ = "arrays" if windows.n_samples("train") * window_bytes <= memory_budget_bytes else "dataset"
        if self.feed_ == "arrays":
            train = dict(x=np.ascontiguousarray(windows.inputs("train")), batch_size=config.batch_size, shuffle=True,
                         y=np.tile(windows.labels("train")[:, None, :], tile))
        else:
            train = dict(x=windows.as_dataset("train", config.batch_size, shuffle=True, seed=config.seed,
                                              label_repeats=len(self.seeds)), shuffle=False)
        selection = _tower_selection_callback(x_val, y_val, self.seeds, windows.target, config.patience)
        plateau = keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5,
                                                    patience=max(1, config.patience // 2), min_lr=1e-6)
        started = time.perf_counter()
        history = trainer.fit(**train, epochs=config.epochs, verbose=verbose, callbacks=[selection, plateau],
                              validation_data=(x_val, np.tile(y_val[:, None, :], tile)))
        seconds = time.perf_counter() - started

        per_tower = trainer.predict(x_judge, batch_size=1024, verbose=0)
        towers.set_weights(trainer.get_weights())
        mean = per_tower.mean(axis=1)
        base = start if start is not None else mean
        shrink = 1.0 if start is None else shrinkage_factor(mean, start, y_judge)
        shrunk = base + shrink * (mean - base)
        loss = (lambda p: float(_tower_losses(p[:, None, :], y_judge, windows.target)[0]))
        val_loss = {"ensemble": loss(mean), "shrunk": loss(shrunk)}
        if start is not None:
            val_loss["persistence"] = loss(np.broadcast_to(start, mean.shape))
        self.model = deployment_model(towers, self.seeds, shrink, start, windows.target)
        self._towers = towers
        self.preprocessor = pre
        self.validation_residuals_ = self._validation_residuals(windows)
        curves = {k: [float(v) for v in vals] for k, vals in history.history.items()}
        self.fit_report = EnsembleFit(seeds=list(self.seeds), history=curves, tower_val_loss=selection.history,
                                      best_epochs=dict(selection.best_epoch), shrink=shrink, val_loss=val_loss,
                                      epochs_run=len(curves.get("loss", [])), seconds=seconds)
        return self

    def towers_weights(self) -> list[np.ndarray]:
        """The trained towers' weights (each tower at its selected epoch), for a warm start."""
        if self._towers is None:
            raise ValueError("towers_weights needs a forecaster fitted in this process (fit or fit_windows)")
        return self._towers.get_weights()

    def fit(self, close: pd.Series, train_end: int, *, verbose: int = 0) -> "NetworkForecaster":
        """The baselines' surface: learn from rows ``0..train_end-1`` of the feature frame only (training and
        validation cut by :func:`helpers.splits.refit_split`, validation last)."""
        from helpers.windows import WindowGenerator

        frame = self._frame(close)
        known = frame.iloc[: int(train_end)]
        window, horizon = self.config.window, self.config.horizon
        plan = refit_split(known.index, self.config, window, horizon, len(known), required=("train", "val"))
        windows = WindowGenerator(known, self.feature_columns, self.config, plan=plan)
        return self.fit_windows(windows, verbose=verbose)

    def _validation_residuals(self, windows: Any) -> np.ndarray | None:
        """``log(actual / forecast)`` of the fitted model on the validation samples ``(samples, horizon)``:
        the pool the predictive bands draw from; None for the direction target (its bands are dropout only)."""
        from helpers.predictive import log_residuals, point_prices

        if windows.target == "direction":
            return None
        return log_residuals(windows.actual_price("val"), point_prices(self.model, windows, "val"))

    # ------------------------------------------------------------------ predicting
    def outputs(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        """The deployment model's outputs for windows ``x`` ``(n, window, features)``: ``(n, horizon)``, scaled."""
        from helpers.predictive import model_outputs

        self._check_fitted()
        return model_outputs(self.model, x, training)

    def predict_at(self, frame: pd.DataFrame, rows: Sequence[int] | np.ndarray) -> np.ndarray:
        """Price forecasts ``(len(rows), horizon)`` from the windows of ``frame`` ending at origin ``rows``."""
        self._check_fitted()
        rows = np.asarray(rows, dtype=np.int64)
        x = self.preprocessor.windows_at(frame, rows)
        last_close = frame["close"].to_numpy(dtype=np.float64)[rows]
        return self.preprocessor.to_price(self.outputs(x), last_close)

    def predict(self, close: pd.Series, origins: np.ndarray, horizon: int) -> np.ndarray:
        """The baselines' surface: ``(len(origins), horizon)`` price forecasts from the origin rows of the
        feature frame this forecaster was built on (``close`` is its ``close`` column, for the row index)."""
        frame = self._frame(close)
        out = self.predict_at(frame, origins)
        if int(horizon) > out.shape[1]:
            raise ValueError(f"the network forecasts {out.shape[1]} step(s); {horizon} were asked for")
        return out[:, : int(horizon)]

    def predict_by_seed(self, frame: pd.DataFrame, rows: Sequence[int] | np.ndarray) -> dict[int, np.ndarray]:
        """Each tower's own price forecasts (not shrunk): ``{seed: (len(rows), horizon)}``, for the seed spread."""
        self._check_fitted()
        rows = np.asarray(rows, dtype=np.int64)
        x = self.preprocessor.windows_at(frame, rows)
        per = np.asarray(tower_outputs_model(self.model, self.seeds).predict(x, batch_size=1024, verbose=0))
        last_close = frame["close"].to_numpy(dtype=np.float64)[rows]
        return {s: self.preprocessor.to_price(per[:, i, :], last_close) for i, s in enumerate(self.seeds)}

    def sample_at(self, frame: pd.DataFrame, rows: Sequence[int] | np.ndarray, n_samples: int, *,
                  seed: int | None = None) -> np.ndarray:
        """Monte Carlo dropout price samples ``(n_samples, len(rows), horizon)`` of the whole ensemble."""
        from helpers.predictive import mc_dropout_samples

        self._check_fitted()
        rows = np.asarray(rows, dtype=np.int64)
        x = self.preprocessor.windows_at(frame, rows)
        last_close = frame["close"].to_numpy(dtype=np.float64)[rows]
        return self.preprocessor.to_price(mc_dropout_samples(self.model, x, n_samples, seed=seed), last_close)

    # ------------------------------------------------------------------ saving and loading
    def save(self, model_dir: str | Path, manifest: dict[str, Any]) -> Path:
        """Write the deployment model and ``manifest`` (see :func:`helpers.artifacts.build_manifest`)."""
        from helpers.artifacts import MANIFEST_FILE, save_artifact
        from helpers.atomic import read_json

        self._check_fitted()
        folder = save_artifact(self.model, manifest, model_dir)
        self.manifest = read_json(folder / MANIFEST_FILE)
        return folder

    @classmethod
    def load(cls, model_dir: str | Path, frame: pd.DataFrame | None = None) -> "NetworkForecaster":
        """A saved forecaster (``model.keras`` loaded with ``safe_mode=True``) with its preprocessor, seeds and
        config rebuilt from ``manifest.json``; ``frame`` (optional) is the feature frame :meth:`predict` reads."""
        from helpers.artifacts import load_artifact

        model, manifest = load_artifact(model_dir)
        pre = Preprocessor.from_manifest(manifest)
        ensemble = manifest.get("ensemble") or {}
        seeds = ensemble.get("seeds") or [int(manifest.get("seed", pre.config.seed))]
        self = cls(frame, pre.feature_columns, pre.config, seeds=seeds)
        self.model, self.preprocessor, self.manifest = model, pre, manifest
        pool = manifest.get("validation_residuals")
        self.validation_residuals_ = None if pool is None else np.asarray(pool, dtype=np.float64)
        return self

    @classmethod
    def of(cls, trained: Any, windows: Any) -> "NetworkForecaster":
        """A forecaster from what a trainer returned: a NetworkForecaster as it is, a ``TrainResult`` by its
        ``network``, or a bare Keras model (a test's hand-made one) wrapped with ``windows``' preprocessor."""
        if isinstance(trained, cls):
            return trained
        if getattr(trained, "network", None) is not None:
            return trained.network
        model = getattr(trained, "model", trained)
        config = windows.config
        self = cls(windows.frame, windows.feature_columns, config, seeds=[config.seed])
        self.model, self.preprocessor = model, windows.preprocessor
        self.validation_residuals_ = self._validation_residuals(windows)
        return self

    def over(self, frame: pd.DataFrame) -> "NetworkForecaster":
        """The same fitted forecaster reading ``frame`` (e.g. new data's features) in :meth:`predict`."""
        other = NetworkForecaster(frame, self.feature_columns, self.config, seeds=self.seeds)
        other.model, other.preprocessor = self.model, self.preprocessor
        other.fit_report, other.manifest = self.fit_report, self.manifest
        other.validation_residuals_ = self.validation_residuals_
        return other

    # ------------------------------------------------------------------ helpers
    def _frame(self, close: pd.Series) -> pd.DataFrame:
        if self.frame is None:
            raise ValueError("this forecaster has no feature frame: build it with one, or call .over(frame)")
        if len(close) != len(self.frame):
            raise ValueError(f"close has {len(close)} rows, the network's feature frame {len(self.frame)}: pass "
                             "the frame's own close column")
        return self.frame

    def _check_fitted(self) -> None:
        if self.model is None:
            raise ValueError("this NetworkForecaster is not fitted: call fit()/fit_windows() or load() one")

    def __repr__(self) -> str:
        state = "fitted" if self.model is not None else "unfitted"
        return (f"NetworkForecaster({self.config.cell}, units={list(self.config.units)}, "
                f"{len(self.seeds)} seed(s), {state})")


# ---------------------------------------------------------------------- the run's model
def load_run_model(paths: Any) -> tuple[NetworkForecaster, Any]:
    """The run's model (``<run>/model/``, saved by 06_evaluate) reading the run's feature table, and the
    WindowGenerator it was trained on, rebuilt from the manifest's config (tuning included). Refuses windows
    whose training scaler differs from the saved one (another split or other features)."""
    from helpers.atomic import read_json
    from helpers.windows import WindowGenerator

    paths.require(paths.manifest, "06_evaluate")
    features = pd.read_parquet(paths.require(paths.features, "03_featurize"))
    columns = list(read_json(paths.require(paths.features_meta, "03_featurize"))["columns"])
    network = NetworkForecaster.load(paths.model_dir, features)
    pre = network.preprocessor
    windows = WindowGenerator(features, columns, pre.config, window=pre.window, horizon=pre.horizon)
    check_same_preprocessing(windows.preprocessor, pre)
    return network, windows


def check_same_preprocessing(rebuilt: Preprocessor, saved: Preprocessor) -> None:
    """Refuse a rebuilt preprocessor whose columns or training scaler differ from the saved model's."""
    if rebuilt.input_columns != saved.input_columns:
        raise ValueError(f"the run's features {rebuilt.input_columns} are not the model's {saved.input_columns}: "
                         "re-run 03 and 06")
    a, b = rebuilt.feature_scaler_.to_dict(), saved.feature_scaler_.to_dict()
    key = "mean" if "mean" in b else "min"
    if key not in a or not np.allclose(np.asarray(a[key]), np.asarray(b[key])):
        raise ValueError("the windows rebuilt from this run's data are not the ones the model was trained on "
                         "(the training scalers differ): drop overrides that change the split or the features, "
                         "or re-run 03 and 06")
