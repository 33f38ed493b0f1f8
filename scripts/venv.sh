# Shared by demo.sh and test.sh: one virtualenv, exact pins from constraints.txt.
VENV="${FAIRMICRO_VENV:-.venv}"
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3

make_venv() {
    [[ -x "$VENV/bin/python" ]] || "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --upgrade pip
}

install_torch() {
    # torch first and exactly this version (a CPU build on disk here); a loose
    # torch requirement would pull a multi-GB CUDA build.
    "$VENV/bin/python" -m pip install -q "$(grep '^torch==' constraints.txt)"
}

install_fairmicro() {
    "$VENV/bin/python" -m pip install -q -c constraints.txt -e "$1"
}
