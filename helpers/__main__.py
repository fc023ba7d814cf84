"""``python -m helpers``: the same command line as ``lstm-lab`` (see helpers/cli.py)."""

from helpers.cli import main

# Guarded: batch workers are spawned processes, which import this module again under another name.
if __name__ == "__main__":
    raise SystemExit(main())
