"""lstm-stock-lab: the tested package behind the notebook series (see ARCHITECTURE.md for the module map)."""

__version__ = "0.1.0"
