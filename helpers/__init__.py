"""lstm-stock-lab: the tested package behind the notebook series (see ARCHITECTURE.md for the module map)."""

import os as _os

# TensorFlow's C++ log (oneDNN notices, and an "E0000 ... use_unbounded_threadpool" line per fit from a
# harmless graph-attribute mismatch in tensorflow-cpu 2.21) lands in notebook outputs and buries the lessons.
# Python exceptions are unaffected. Set TF_CPP_MIN_LOG_LEVEL=0 yourself to see everything.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

__version__ = "0.1.0"
