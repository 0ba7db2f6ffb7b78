"""The compiled methods of every dataclass, kept from one cold start to the next.

`@dataclass` (and every Strawberry type, which is one) writes `__init__`, `__repr__` and `__eq__` (a frozen class also
`__setattr__`, `__delattr__` and `__hash__`) as source text and compiles each with its own `exec`. Importing the
handler does that about 1,300 times, some 80 ms of every cold start (bench/coldstart.py). The text is the same in
every process, and so is the code compiled from it: this keeps the code objects in one file beside the bytecode, a
`.pyc` for the generated methods. The Lambda package ships it (written by infra/bytecode.py, which imports the
handler in the unpacked package); in the repository it is written under `__pycache__` whenever Python may write
bytecode there.

`dataclasses` compiles that text with the built-in `exec`; `install` gives the module its own `exec` (a module
global shadows the built-in) that looks the text up, by a 128-bit BLAKE2 digest, before compiling it, and then runs
the code exactly as the built-in would have run the text: same code, same globals and namespace, compiled without
any `from __future__` flag, as `dataclasses.py` compiles it. Nothing of `dataclasses` is copied or replaced. The
file's header carries the interpreter's bytecode version, so code from another Python is never loaded.

`dataclasses` also writes a docstring for every class without one: the class name and `str(inspect.signature(cls))`,
some 10 ms of a cold start for the 350 classes the handler defines. `install` gives the module its own `inspect`
(`_Inspect`), whose `signature` writes that same text straight from the `__init__` dataclasses has just generated,
for a class inspect would take it from (no metaclass, no own `__new__`, nothing wrapped); any other class goes to
`inspect.signature` itself. tests/unit/test_dataclass_cache.py compares the docstrings with inspect's text.
"""

from __future__ import annotations

import builtins
import dataclasses
import hashlib
import importlib.util
import inspect
import keyword
import marshal
import os
import sys
import types
from pathlib import Path

# The bytecode version is part of the header: code objects from another interpreter are never loaded.
HEADER = importlib.util.MAGIC_NUMBER + b" dataclass methods\n"


def cache_file(directory: Path) -> Path:
    """Where a code directory keeps its compiled methods: `__pycache__/dataclass-methods.cpython-311.bin`."""
    return directory / "__pycache__" / f"dataclass-methods.{sys.implementation.cache_tag}.bin"


class CompiledMethods:
    """Code objects of generated dataclass methods by the digest of their text: those read from the file, and those
    this process compiled because the file lacked them (`compiled`)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.codes: dict[bytes, object] = _read(path)
        self.compiled: dict[bytes, object] = {}
        self.used: set[bytes] = set()
        self._unsaved = False

    def code(self, text: str):
        key = hashlib.blake2b(text.encode(), digest_size=16).digest()
        self.used.add(key)
        code = self.codes.get(key)
        if code is None:
            # dont_inherit: compiled as dataclasses.py compiles it, without this module's `from __future__` flags.
            code = self.codes[key] = self.compiled[key] = compile(text, "<string>", "exec", dont_inherit=True)
            self._unsaved = True
        return code

    def write(self) -> None:
        """Write the file (atomically): every method this process used, and those read that it did not use unless
        the file has grown to more than twice what a process uses (old texts from edited classes)."""
        codes, used = dict(self.codes), tuple(self.used)  # snapshots: a thread may define a dataclass meanwhile
        keep = codes if len(codes) <= 2 * len(used) else {key: codes[key] for key in used}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        try:
            with open(partial, "wb") as file:
                file.write(HEADER)
                marshal.dump(keep, file)
            os.replace(partial, self.path)
        finally:
            partial.unlink(missing_ok=True)
        self._unsaved = False

    def save(self) -> bool:
        """Write the file if this process compiled a method it lacked and Python may write bytecode here (not in
        Lambda's read-only code directory, not with PYTHONDONTWRITEBYTECODE). True if written."""
        if not self._unsaved or sys.dont_write_bytecode:
            return False
        try:
            self.write()
        except OSError:
            return False
        return True


def _read(path: Path) -> dict[bytes, object]:
    try:
        with open(path, "rb") as file:
            data = file.read()  # marshal.loads of the whole: 5 ms; marshal.load(file) reads piecemeal, 25 ms
        if not data.startswith(HEADER):
            return {}
        codes = marshal.loads(memoryview(data)[len(HEADER):])
    except (OSError, EOFError, ValueError, TypeError):
        return {}
    if not isinstance(codes, dict) or not all(isinstance(key, bytes) and isinstance(code, types.CodeType) for key, code in codes.items()):
        return {}
    return codes


_installed: CompiledMethods | None = None


def installed() -> CompiledMethods | None:
    return _installed


def install(path: Path) -> CompiledMethods:
    """From now on, `dataclasses` compiles the methods it generates through the cache at `path`."""
    global _installed
    if _installed is None:
        methods = CompiledMethods(path)

        def exec(source, globals=None, locals=None, /):  # noqa: A001 - the name dataclasses calls
            return builtins.exec(methods.code(source) if isinstance(source, str) else source, globals, locals)

        dataclasses.exec = exec
        dataclasses.inspect = _Inspect()
        _installed = methods
    return _installed


class _Inspect:
    """`inspect` as `dataclasses` sees it: `signature(cls)` for a class's docstring, without building a Signature."""

    def __getattr__(self, name: str):
        return getattr(inspect, name)

    @staticmethod
    def signature(obj, *args, **kwargs):
        text = None if args or kwargs else generated_init_signature(obj)
        return inspect.signature(obj, *args, **kwargs) if text is None else text


_VARIABLE_ARGUMENTS = inspect.CO_VARARGS | inspect.CO_VARKEYWORDS


def generated_init_signature(cls) -> str | None:
    """`str(inspect.signature(cls))` of a class whose signature inspect takes from the plain `__init__` function in
    the class's own namespace (dataclasses' generated one): the parameters after `self` and the return annotation,
    written as `inspect.Signature.__str__` writes them. None for any other class: a metaclass (its `__call__`), an own
    `__new__`, a `__signature__`, something wrapped, positional-only or variable arguments."""
    init = cls.__dict__.get("__init__")
    if (type(cls) is not type or type(init) is not types.FunctionType or "__new__" in cls.__dict__
            or any(hasattr(obj, name) for obj in (cls, init) for name in ("__signature__", "__wrapped__", "_partialmethod"))):
        return None
    code = init.__code__
    positional = code.co_argcount
    if code.co_posonlyargcount or code.co_flags & _VARIABLE_ARGUMENTS or positional < 1:
        return None
    names = code.co_varnames[:positional + code.co_kwonlyargcount]
    defaults, keyword_defaults = init.__defaults__ or (), init.__kwdefaults__ or {}
    annotations = init.__annotations__
    first_default = positional - len(defaults)
    parts = []
    for index in range(1, len(names)):  # without `self`, as the signature of the class
        name = names[index]
        if not name.isidentifier() or keyword.iskeyword(name):
            return None  # inspect refuses the name
        if index == positional:
            parts.append("*")
        text = name
        if name in annotations:
            text = f"{text}: {inspect.formatannotation(annotations[name])}"
        if index < positional:
            has_default, default = index >= first_default, defaults[index - first_default] if index >= first_default else None
        else:
            has_default, default = name in keyword_defaults, keyword_defaults.get(name)
        if has_default:
            text = f"{text} = {default!r}" if name in annotations else f"{text}={default!r}"
        parts.append(text)
    rendered = f"({', '.join(parts)})"
    if "return" in annotations:
        rendered = f"{rendered} -> {inspect.formatannotation(annotations['return'])}"
    return rendered
