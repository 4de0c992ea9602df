#!/usr/bin/env bash
# Print the path of a working Python 3.10 interpreter, or explain what to install.
set -u
candidates=("${PYTHON310:-}" python3.10)
if command -v pyenv >/dev/null 2>&1; then
  root=$(pyenv root 2>/dev/null)
  for p in "$root"/versions/3.10*/bin/python3.10; do candidates+=("$p"); done
fi
for p in "$HOME"/.pyenv/versions/3.10*/bin/python3.10 /usr/bin/python3.10 /usr/local/bin/python3.10; do candidates+=("$p"); done
for c in "${candidates[@]}"; do
  [ -n "$c" ] || continue
  if out=$("$c" -c 'import sys; print(sys.executable if sys.version_info[:2]==(3,10) else "")' 2>/dev/null) && [ -n "$out" ]; then
    echo "$out"; exit 0
  fi
done
echo "error: Python 3.10 is required (Rasa 3.6 supports 3.8-3.10) but was not found." >&2
echo "Install it, e.g. 'pyenv install 3.10.13' or 'apt-get install python3.10 python3.10-venv', or set PYTHON310=/path/to/python3.10." >&2
exit 1
