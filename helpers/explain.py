"""Permutation importance: which inputs, and which days of the window, does a trained network rely on?

Shuffle one input across the test samples, breaking its link to the target while keeping its distribution,
and measure how much the loss grows. A feature the network ignores costs nothing when shuffled. The shuffle
is repeated ``n_repeats`` times; each row reports the mean increase in loss with a 95% **t-based** interval
for that mean (mean +/- t(0.975, n_repeats-1) * sd / sqrt(n_repeats)). The interval reflects the
randomness of the shuffles on this test set, not the sampling of the test set itself.

Works on any ``predict`` callable that maps ``(samples, window, features)`` inputs to predictions, so it
needs no TensorFlow: wrap a Keras model as ``lambda x: model.predict(x, verbose=0)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from scipy import stats

Predict = Callable[[np.ndarray], np.ndarray]
Loss = Callable[[np.ndarray, np.ndarray], float]
INTERVAL = 0.95
COLUMNS = ["mean", "sd", "lo", "hi", "base_loss", "important"]


def mse(labels: np.ndarray, predictions: np.ndarray) -> float:
    """Mean squared error over every sample and horizon step; ``(samples,)`` and ``(samples, 1)`` both fit."""
    labels, predictions = _as_2d(labels), _as_2d(predictions)
    if labels.shape != predictions.shape:
        raise ValueError(f"predictions of shape {predictions.shape} do not match labels of shape {labels.shape}")
    return float(np.mean((labels - predictions) ** 2))


def _as_2d(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype="float64")
    return values.reshape(values.shape[0], -1) if values.ndim else values.reshape(1, 1)


def permutation_importance(predict: Predict, inputs: np.ndarray, labels: np.ndarray,
                           feature_names: Sequence[str], *, n_repeats: int = 10, seed: int = 0,
                           loss: Loss = mse, baseline_loss: float | None = None) -> pd.DataFrame:
    """Increase in loss when one feature is shuffled across samples, all its time steps together.

    ``inputs`` is ``(samples, window, features)`` (a read-only view is fine: it is copied once and never
    written); ``labels`` is ``(samples, horizon)`` or ``(samples,)`` in the units ``predict`` returns.
    The same permutation moves every time step of the feature, so the shuffled feature keeps its own
    history within a window but loses its link to the target. ``baseline_loss`` is the unshuffled loss,
    computed when not given. Returns one row per feature: feature, mean, sd, lo, hi (t-based 95% interval
    of the mean increase), base_loss, and important (the interval excludes zero and the mean is positive).
    """
    inputs, labels = _check_problem(inputs, labels)
    names = [str(name) for name in feature_names]
    if len(names) != inputs.shape[2]:
        raise ValueError(f"feature_names has {len(names)} names but inputs have {inputs.shape[2]} features "
                         f"(inputs are (samples, window, features) = {inputs.shape})")
    increases = _permutation_increases(
        predict, inputs, labels, [np.s_[:, :, j] for j in range(inputs.shape[2])],
        n_repeats=n_repeats, seed=seed, loss=loss, baseline_loss=baseline_loss)
    frame = _summarise(*increases)
    frame.insert(0, "feature", names)
    return frame


def lag_importance(predict: Predict, inputs: np.ndarray, labels: np.ndarray, *, n_repeats: int = 10,
                   seed: int = 0, loss: Loss = mse, baseline_loss: float | None = None) -> pd.DataFrame:
    """Increase in loss when one window position is shuffled across samples, all features together.

    Answers "how far back does the network look?". One row per position: ``position`` (0 = oldest step of
    the window), ``lag`` (steps before the origin: 0 = the origin day itself) and the same columns as
    :func:`permutation_importance`.
    """
    inputs, labels = _check_problem(inputs, labels)
    window = inputs.shape[1]
    increases = _permutation_increases(
        predict, inputs, labels, [np.s_[:, s, :] for s in range(window)],
        n_repeats=n_repeats, seed=seed, loss=loss, baseline_loss=baseline_loss)
    frame = _summarise(*increases)
    frame.insert(0, "lag", window - 1 - np.arange(window))
    frame.insert(0, "position", np.arange(window))
    return frame


def _check_problem(inputs: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    inputs = np.asarray(inputs)
    labels = np.asarray(labels)
    if inputs.ndim != 3:
        raise ValueError(f"inputs must be (samples, window, features), got shape {inputs.shape}")
    if inputs.shape[0] < 2:
        raise ValueError(f"permutation needs at least 2 samples to shuffle, got {inputs.shape[0]}")
    if labels.ndim not in (1, 2) or labels.shape[0] != inputs.shape[0]:
        raise ValueError(f"labels must be (samples,) or (samples, horizon) with samples = {inputs.shape[0]}, "
                         f"got shape {labels.shape}")
    return inputs, labels


def _permutation_increases(predict: Predict, inputs: np.ndarray, labels: np.ndarray, slices: list,
                           *, n_repeats: int, seed: int, loss: Loss,
                           baseline_loss: float | None) -> tuple[np.ndarray, float]:
    """``(len(slices), n_repeats)`` loss increases, and the base loss, shuffling ``inputs[slice]`` by sample."""
    if not isinstance(n_repeats, (int, np.integer)) or n_repeats < 2:
        raise ValueError(f"n_repeats must be a whole number >= 2 (an interval needs repeats), got {n_repeats!r}")
    base = float(loss(labels, _predict_checked(predict, inputs, labels))) if baseline_loss is None \
        else float(baseline_loss)
    rng = np.random.default_rng(seed)
    # The same permutations for every slice, so differences between features are not shuffle luck.
    permutations = [rng.permutation(inputs.shape[0]) for _ in range(n_repeats)]
    n = inputs.shape[0]
    # All repeats of one slice go to ``predict`` as one stacked call: one call per feature instead of one per
    # feature and repeat (each call of a Keras model costs far more than its few hundred samples).
    work = np.repeat(np.asarray(inputs)[None], n_repeats, axis=0)
    stacked_labels = np.concatenate([labels] * n_repeats)
    increases = np.empty((len(slices), n_repeats))
    for i, where in enumerate(slices):
        original = inputs[where]
        for r, order in enumerate(permutations):
            work[r][where] = original[order]
        predictions = _predict_checked(predict, work.reshape(n_repeats * n, *inputs.shape[1:]), stacked_labels)
        predictions = predictions.reshape(n_repeats, n, -1)
        for r in range(n_repeats):
            increases[i, r] = float(loss(labels, predictions[r].reshape(labels.shape))) - base
            work[r][where] = original
    return increases, base


def _predict_checked(predict: Predict, inputs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    predictions = np.asarray(predict(inputs))
    if predictions.shape[0] != labels.shape[0] or predictions.size != labels.size:
        raise ValueError(f"predict returned shape {predictions.shape} for {inputs.shape[0]} samples; labels "
                         f"have shape {labels.shape}: predict must return one prediction per label")
    return predictions


def _summarise(increases: np.ndarray, base: float) -> pd.DataFrame:
    n = increases.shape[1]
    mean = increases.mean(axis=1)
    sd = increases.std(axis=1, ddof=1)
    half = stats.t.ppf(0.5 + INTERVAL / 2, n - 1) * sd / np.sqrt(n)
    lo, hi = mean - half, mean + half
    return pd.DataFrame({"mean": mean, "sd": sd, "lo": lo, "hi": hi, "base_loss": base,
                         "important": (lo > 0) & (mean > 0)})


def persistence_relative(frame: pd.DataFrame, model_loss: float, persistence_loss: float) -> pd.DataFrame:
    """Per feature: does the model still beat persistence when that feature is shuffled?

    ``model_loss`` and ``persistence_loss`` must be in the units of the frame's loss (usually
    ``model_loss = frame.base_loss``; ``persistence_loss`` the same loss of the persistence forecast on the
    same labels). Adds ``loss_without`` (model_loss + mean increase) and ``beats_persistence_without``
    (loss_without < persistence_loss), plus ``model_loss`` and ``persistence_loss`` for the record. A
    feature with False while the model itself beats persistence is what lets it beat persistence at all.
    """
    missing = {"mean"} - set(frame.columns)
    if missing:
        raise ValueError("frame must come from permutation_importance or lag_importance (needs a 'mean' column)")
    out = frame.copy()
    out["loss_without"] = float(model_loss) + out["mean"]
    out["beats_persistence_without"] = out["loss_without"] < float(persistence_loss)
    out["model_loss"] = float(model_loss)
    out["persistence_loss"] = float(persistence_loss)
    return out


def describe_importance(frame: pd.DataFrame) -> str:
    """One sentence saying which inputs matter, which do not, and (when known) which beat persistence.

    "The network relies mostly on X and Y; Z's interval includes zero, so it is unimportant." or
    "No feature matters: every interval includes zero."
    """
    labels = _row_labels(frame)
    order = frame["mean"].to_numpy().argsort()[::-1]
    important = [labels[i] for i in order if frame["important"].iloc[i]]
    harmful = [labels[i] for i in order[::-1] if frame["hi"].iloc[i] < 0]
    noise = [labels[i] for i in order if not frame["important"].iloc[i] and frame["hi"].iloc[i] >= 0]
    thing = "feature" if "feature" in frame.columns else "window position"

    clauses = []
    if not important:
        clauses.append(f"No {thing} matters: every interval includes zero" if not harmful else
                       f"No {thing} helps the network")
    else:
        clauses.append(f"The network relies mostly on {_join(important, limit=3)}")
        if noise:
            if len(noise) == 1:
                clauses.append(f"{noise[0]}'s interval includes zero, so it is unimportant")
            else:
                clauses.append(f"the intervals of {_join(noise, limit=4)} include zero, so they are unimportant")
    if harmful:
        verb = "lowers" if len(harmful) == 1 else "lower"
        clauses.append(f"shuffling {_join(harmful, limit=3)} {verb} the loss, a sign of overfitting to "
                       f"{'it' if len(harmful) == 1 else 'them'}")
    if "beats_persistence_without" in frame.columns and "persistence_loss" in frame.columns:
        clauses.append(_persistence_clause(frame, labels))
    sentence = "; ".join(clauses)
    return sentence[0].upper() + sentence[1:] + "."


def _persistence_clause(frame: pd.DataFrame, labels: list[str]) -> str:
    model_loss = float(frame["model_loss"].iloc[0])
    persistence_loss = float(frame["persistence_loss"].iloc[0])
    if not model_loss < persistence_loss:
        return "the network does not beat persistence even with every input intact"
    needed = [labels[i] for i in range(len(frame)) if not frame["beats_persistence_without"].iloc[i]]
    if not needed:
        return "it still beats persistence with any single input shuffled"
    return f"without {_join(needed, limit=3)} it would no longer beat persistence"


def _row_labels(frame: pd.DataFrame) -> list[str]:
    if "feature" in frame.columns:
        return [str(name) for name in frame["feature"]]
    if "lag" in frame.columns:
        return [f"lag {int(lag)}" for lag in frame["lag"]]
    raise ValueError("frame must come from permutation_importance (a 'feature' column) or lag_importance "
                     "(a 'lag' column)")


def _join(names: list[str], limit: int) -> str:
    """'A', 'A and B', 'A, B and C', 'A, B, C and 2 others'."""
    if len(names) > limit:
        rest = len(names) - limit
        names = names[:limit] + [f"{rest} other{'s' if rest > 1 else ''}"]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
