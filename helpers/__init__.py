"""lstm-stock-lab: the tested package behind the notebook series (see ARCHITECTURE.md for the module map)."""

import os as _os

# TensorFlow's C++ start-up chatter (oneDNN notices, graph-attribute warnings) buries the lessons in notebook
# output; real errors still show. Users can set the variable themselves to see everything.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
