#!/usr/bin/env bash
# Print the path of a working Python 3.12 interpreter: $PYTHON, then python3.12 on PATH, then pyenv's.
# Exits 1 with a message saying how to get one when none is found.
set -u
try() { "$1" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 12) else 1)' >/dev/null 2>&1 && { command -v "$1" || echo "$1"; exit 0; }; }
[ -n "${PYTHON:-}" ] && try "$PYTHON"
for cand in python3.12 python3 python; do
  command -v "$cand" >/dev/null 2>&1 && try "$cand"
done
if command -v pyenv >/dev/null 2>&1; then
  root=$(pyenv root)
  for dir in $(ls -d "$root"/versions/3.12* 2>/dev/null | sort -V -r); do
    [ -x "$dir/bin/python3.12" ] && try "$dir/bin/python3.12"
  done
fi
for dir in /usr/local/bin /usr/bin "$HOME/.local/bin"; do
  [ -x "$dir/python3.12" ] && try "$dir/python3.12"
done
cat >&2 <<'MSG'
error: Python 3.12 was not found (pandas-ta's releases need 3.12).
  Install it, then run the command again, for example:
    pyenv install 3.12 && pyenv local 3.12      (with pyenv)
    sudo apt-get install python3.12-venv        (Debian/Ubuntu, where packaged)
  or point PYTHON at one:  make report PYTHON=/path/to/python3.12
  conda users: conda env create -f environment.yml && conda activate lstm-stock-lab
MSG
exit 1
