"""Data providers: one small module each, all with the same ``fetch`` signature (see ``base.py``)."""
