# Shared by demo.sh and test.sh: one virtualenv, exact pins from constraints.txt.
VENV="${FAIRMICRO_VENV:-.venv}"
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3

pip_install() {
    # pip.conf on some machines names extra local indexes that may be absent; hide that noise only.
    "$VENV/bin/python" -m pip install -q "$@" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
}

make_venv() {
    [[ -x "$VENV/bin/python" ]] || "$PYTHON" -m venv "$VENV"
    pip_install --upgrade pip
}

install_torch() {
    # torch first and exactly this version (a CPU build on disk here); a loose
    # torch requirement would pull a multi-GB CUDA build.
    pip_install "$(grep '^torch==' constraints.txt)"
}

install_fairmicro() {
    pip_install -c constraints.txt -e "$1"
}
