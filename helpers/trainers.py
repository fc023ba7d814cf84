"""Compiled training models, reused across fits of one architecture.

TensorFlow traces a Keras model's training step once per model object, and for stacked LSTMs that trace
costs more than the training of a small network: about 3 s for two towers of [16, 8], about 9 s for five,
against well under a second per epoch (measured on two cores). Every fit builds a new model, so refits of
the same shape (the walk-forward's parts, above all) paid the trace again and again.

:func:`compiled_like` hands out a compiled model of the fresh model's architecture that holds exactly the
fresh model's state (its initial weights and its dropout seed states) with a reset optimizer, so training it
gives the same numbers as training the fresh model would; the trace is paid once per architecture and
process. The trainer is lent for one fit: the caller copies the trained weights out (the fresh model keeps
them), because the next fit of that shape overwrites the trainer. Its LSTM layers run TensorFlow's fused
kernel (:mod:`helpers.fused`: the same cell, a cheaper trace and epoch); the fresh model keeps Keras's LSTM, so
what is saved and served loads in plain Keras.
"""

from __future__ import annotations

import json
import random
import re
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

# Architectures kept per thread; a run trains a handful (the main network, the cells, the pitfall, the direct
# model), and only refits of one of them repeat.
KEPT = 4

_local = threading.local()


def _kept() -> OrderedDict:
    if not hasattr(_local, "trainers"):
        _local.trainers = OrderedDict()
    return _local.trainers


def forget_trainers() -> None:
    """Drop this thread's compiled trainers (the next fit of every shape traces again)."""
    _kept().clear()


@contextmanager
def _random_state_kept() -> Iterator[None]:
    """Python's and NumPy's global random states as they were, whatever the block draws: building the trainer
    draws dropout seeds from Python's generator, and a fit must see the same draws whether the trainer was
    built for it or kept from an earlier fit."""
    python_state, numpy_state = random.getstate(), np.random.get_state()
    try:
        yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)


def _variable_name(path: str) -> str:
    """A variable's path with Keras's numbering of seed generators removed (``seed_generator_12/...``): the
    numbering counts every generator the process made, so it differs between two builds of one architecture."""
    return re.sub(r"seed_generator(_\d+)?", "seed_generator", path)


def load_state(trainer: Any, fresh: Any) -> None:
    """Copy every variable of ``fresh`` (weights and dropout seed states) into ``trainer``, position by
    position; both must be builds of one architecture (raises ValueError naming the first variable that differs)."""
    source, target = list(fresh.variables), list(trainer.variables)
    if len(source) != len(target):
        raise ValueError(f"the trainer has {len(target)} variables, the fresh model {len(source)}")
    for s, t in zip(source, target):
        if _variable_name(s.path) != _variable_name(t.path) or tuple(s.shape) != tuple(t.shape):
            raise ValueError(f"variable {t.path} {tuple(t.shape)} does not match {s.path} {tuple(s.shape)}")
    for s, t in zip(source, target):
        t.assign(s.value)


def reset_optimizer(trainer: Any, learning_rate: float) -> None:
    """The trainer's optimizer as a new one: its step count and moments at zero, its learning rate the given
    one (a plateau callback may have lowered it in the last fit)."""
    optimizer = trainer.optimizer
    for variable in optimizer.variables:
        variable.assign(np.zeros(tuple(variable.shape), dtype=variable.dtype))
    optimizer.learning_rate = float(learning_rate)


def architecture(model: Any) -> str:
    """``model``'s configuration as JSON without its initializers: two builds that differ only in their
    starting values (a head started at another "no change" output) share a trainer, whose variables are
    overwritten from the fresh model anyway."""
    def strip(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if not k.endswith("_initializer")}
        if isinstance(node, (list, tuple)):
            return [strip(v) for v in node]
        return node

    return json.dumps(strip(model.get_config()), sort_keys=True, default=repr)


def compiled_like(fresh: Any, *, learning_rate: float, target: str) -> Any:
    """A model compiled for ``target`` (:func:`helpers.train.compile_model`) with ``fresh``'s architecture and
    state, ready to fit; see the module docstring. It is kept for the next fit of the same architecture and
    target in this thread, with its optimizer reset to a new one at ``learning_rate``.
    """
    from helpers.fused import fused_clone
    from helpers.train import compile_model

    key = (architecture(fresh), target)
    kept = _kept()
    trainer = kept.pop(key, None)
    if trainer is None:
        with _random_state_kept():
            trainer = compile_model(fused_clone(fresh), learning_rate, target)
    else:
        reset_optimizer(trainer, learning_rate)
    load_state(trainer, fresh)
    kept[key] = trainer
    while len(kept) > KEPT:
        kept.popitem(last=False)
    return trainer
