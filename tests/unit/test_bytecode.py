"""The Lambda package ships bytecode for what a cold start imports (infra/bytecode.py)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from infra import bytecode

HANDLER = """
import thirdparty, readsource
def handler(event, context):
    return {"statusCode": 200, "body": ""}
"""


def write_package(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as package:
        package.writestr("handler.py", HANDLER)
        package.writestr("domain/__init__.py", "")
        package.writestr("domain/rules.py", "X = 1\n")  # own code, not imported by the probe: compiled all the same
        package.writestr("thirdparty/__init__.py", "from .used import VALUE\n")
        package.writestr("thirdparty/used.py", "VALUE = 2\n")
        package.writestr("thirdparty/unused.py", "VALUE = 3\n")
        package.writestr("readsource/__init__.py", "import inspect\nSOURCE = inspect.getsource(inspect)\n")
        package.writestr("thirdparty/data.bin", b"\x00\x01")


def test_own_code_keeps_its_source_imported_libraries_ship_bytecode_the_rest_is_untouched(tmp_path):
    package = tmp_path / "partnerhub.zip"
    write_package(package)

    counts = bytecode.precompile(package)

    names = set(zipfile.ZipFile(package).namelist())
    cached = lambda name: Path(importlib.util.cache_from_source(name)).as_posix()  # noqa: E731
    assert {"handler.py", cached("handler.py"), "domain/rules.py", cached("domain/rules.py")} <= names
    assert {"thirdparty/__init__.pyc", "thirdparty/used.pyc"} <= names
    assert not {"thirdparty/__init__.py", "thirdparty/used.py"} & names
    assert {"thirdparty/unused.py", "thirdparty/data.bin"} <= names and "thirdparty/unused.pyc" not in names
    # A package that reads source at run time keeps it.
    assert {"readsource/__init__.py", cached("readsource/__init__.py")} <= names
    assert counts == {"own modules": 3, "third-party modules without source": 2, "third-party modules with source": 1, "left as source": 1}

    # The rewritten package imports from bytecode alone.
    code = tmp_path / "code"
    zipfile.ZipFile(package).extractall(code)
    result = subprocess.run([sys.executable, "-B", "-c", "import thirdparty; print(thirdparty.VALUE, thirdparty.__spec__.origin)"],
                            cwd=code, capture_output=True, text=True, check=True)
    assert result.stdout.split()[0] == "2" and result.stdout.split()[1].endswith("thirdparty/__init__.pyc")


def test_refuses_bytecode_for_another_python_version(tmp_path):
    package = tmp_path / "partnerhub.zip"
    write_package(package)
    before = package.read_bytes()
    with pytest.raises(SystemExit, match="needs a 3.99 interpreter"):
        bytecode.main([str(package), "--python-version", "3.99"])
    assert package.read_bytes() == before
