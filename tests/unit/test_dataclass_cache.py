"""Generated dataclass methods compiled once and kept (infra/dataclass_cache.py): same classes, no compiling."""

from __future__ import annotations

import json
import marshal
import os
import subprocess
import sys
from pathlib import Path

from infra import dataclass_cache
from infra.bytecode import DATACLASS_METHODS
from infra.dataclass_cache import HEADER, CompiledMethods

ROOT = Path(__file__).resolve().parents[2]

# Defines dataclasses of every kind the project uses, with the cache at argv[1] (or none: "-"), and prints how they
# behave, and how many methods were compiled.
CLASSES = r"""
import dataclasses, inspect, json, sys, typing
from pathlib import Path
from infra import dataclass_cache
methods = dataclass_cache.install(Path(sys.argv[1])) if sys.argv[1] != "-" else None

@dataclasses.dataclass(frozen=True)
class Money:
    amount: int
    currency: str = "EUR"

@dataclasses.dataclass(order=True)
class Line:
    number: int
    tags: list = dataclasses.field(default_factory=list)

@dataclasses.dataclass(kw_only=True, slots=True)
class Filter:
    first: int
    after: typing.Optional[str] = None

@dataclasses.dataclass
class Seats:
    count: int
    added: dataclasses.InitVar[int] = 0
    def __post_init__(self, added):
        self.count += added

@dataclasses.dataclass
class Documented:
    'Written by hand.'
    note: "str" = "a -> None"

T = typing.TypeVar("T")

@dataclasses.dataclass
class Page(typing.Generic[T]):
    items: typing.List[T]
    cursor: typing.Optional[str] = None

@dataclasses.dataclass
class Child(Seats):
    label: str = "x"

@dataclasses.dataclass
class Made:
    value: int
    def __new__(cls, *args, **kwargs):
        return super().__new__(cls)

class Meta(type):
    def __call__(cls, *args, **kwargs):
        return super().__call__(*args, **kwargs)

@dataclasses.dataclass
class Measured(metaclass=Meta):
    value: int

try:
    Money(5).amount = 6
    frozen = "assigned"
except dataclasses.FrozenInstanceError as error:
    frozen = str(error)
classes = (Money, Line, Filter, Seats)
print(json.dumps({
    "repr": [repr(Money(5)), repr(Line(1, ["a"])), repr(Filter(first=2)), repr(Seats(1, 2))],
    "compare": [Money(5) == Money(5), Money(5) == Money(6), Line(1) < Line(2), Line(2) <= Line(1), Seats(3) == Seats(1, 2)],
    "hash": [hash(Money(5)) == hash(Money(5)), Line.__hash__ is None],
    "frozen": frozen,
    "own lists": Line(1).tags is not Line(1).tags,
    "signatures": [str(inspect.signature(cls)) for cls in classes],
    "annotations": [repr(cls.__init__.__annotations__) for cls in classes],
    "docstrings": [cls.__doc__ for cls in (*classes, Documented, Page, Child, Made, Measured)],
    "compiled": None if methods is None else len(methods.compiled),
    "saved": None if methods is None else methods.save(),
}))
"""


def define(cache: str) -> dict:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    result = subprocess.run([sys.executable, "-c", CLASSES, cache], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_classes_from_cached_methods_behave_as_without_and_a_warm_start_compiles_nothing(tmp_path):
    cache = tmp_path / "__pycache__" / "dataclass-methods.bin"

    plain = define("-")
    cold = define(str(cache))
    warm = define(str(cache))

    # Money: __init__, __repr__, __eq__, __setattr__, __delattr__, __hash__; Line: __init__, __repr__, __eq__ and 4
    # comparisons; Filter, Seats, Documented, Page, Child, Made and Measured: __init__, __repr__, __eq__, the same text
    # for Made and Measured (one value: int).
    assert (cold["compiled"], cold["saved"]) == (31, True)
    assert (warm["compiled"], warm["saved"]) == (0, False)
    assert cache.read_bytes().startswith(HEADER) and len(marshal.loads(cache.read_bytes()[len(HEADER):])) == 31
    for run in (cold, warm):
        assert {**run, "compiled": None, "saved": None} == plain
    assert plain["frozen"] == "cannot assign to field 'amount'"
    assert plain["compare"] == [True, False, True, False, True]
    assert plain["signatures"][2] == "(*, first: int, after: Optional[str] = None) -> None"
    assert plain["docstrings"] == [
        "Money(amount: int, currency: str = 'EUR')", "Line(number: int, tags: list = <factory>)",
        "Filter(*, first: int, after: Optional[str] = None)", "Seats(count: int, added: dataclasses.InitVar[int] = 0)",
        "Written by hand.", "Page(items: List[~T], cursor: Optional[str] = None)",
        "Child(count: int, added: dataclasses.InitVar[int] = 0, label: str = 'x')", "Made(*args, **kwargs)",
        "Measured(*args, **kwargs)"]


def test_docstrings_written_without_inspect_are_inspects_text_for_every_dataclass_of_the_api():
    import dataclasses
    import inspect

    import handler  # noqa: F401 - defines every dataclass the API uses
    from infra.dataclass_cache import generated_init_signature

    classes = {value for name, module in list(sys.modules.items()) if name.split(".")[0] in ("domain", "infra", "resolvers", "schema")
               for value in vars(module).values() if isinstance(value, type) and dataclasses.is_dataclass(value)}
    written = {cls: generated_init_signature(cls) for cls in classes}
    assert len(classes) > 300 and sum(text is not None for text in written.values()) > 300
    for cls, text in written.items():
        assert text is None or text == str(inspect.signature(cls)), cls


def test_a_file_of_another_python_or_damaged_is_ignored(tmp_path):
    path = tmp_path / "methods.bin"
    good = {b"k" * 16: compile("x = 1", "<string>", "exec")}
    for content in (b"\x00\x00\r\n dataclass methods\n" + marshal.dumps(good),  # another interpreter's bytecode version
                    HEADER + marshal.dumps(good)[:-3],  # cut short
                    HEADER + marshal.dumps({b"k" * 16: "not code"}),
                    HEADER + marshal.dumps([1, 2])):
        path.write_bytes(content)
        assert CompiledMethods(path).codes == {}
    path.write_bytes(HEADER + marshal.dumps(good))
    assert list(CompiledMethods(path).codes) == [b"k" * 16]


def test_saved_only_when_something_was_compiled_and_python_may_write_bytecode(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    methods = CompiledMethods(tmp_path / "__pycache__" / "methods.bin")
    assert methods.save() is False and not methods.path.exists()  # nothing compiled
    methods.code("x = 1")
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    assert methods.save() is False and not methods.path.exists()
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    assert methods.save() is True and len(CompiledMethods(methods.path).codes) == 1
    assert methods.save() is False  # nothing new since

    # Where it cannot write (Lambda's code directory is read-only): not saved, and no partial file left behind.
    (tmp_path / "file").write_text("")
    (tmp_path / "taken" / "methods.bin" / "inside").mkdir(parents=True)  # os.replace onto a directory fails
    for path in (tmp_path / "file" / "__pycache__" / "methods.bin", tmp_path / "taken" / "methods.bin"):
        blocked = CompiledMethods(path)
        blocked.code("x = 2")
        assert blocked.save() is False
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == [
        "__pycache__", "__pycache__/methods.bin", "file", "taken", "taken/methods.bin", "taken/methods.bin/inside"]


def test_the_file_keeps_texts_of_edited_classes_only_while_it_is_at_most_twice_what_a_process_uses(tmp_path):
    path = tmp_path / "methods.bin"
    old = CompiledMethods(path)
    for n in range(3):
        old.code(f"x = {n}")
    old.write()

    grown = CompiledMethods(path)
    grown.code("x = 0")
    grown.code("y = 1")
    grown.write()
    assert len(CompiledMethods(path).codes) == 4  # 4 <= 2 * 2 used: kept

    pruned = CompiledMethods(path)
    pruned.code("y = 1")
    pruned.write()
    assert len(CompiledMethods(path).codes) == 1  # 4 > 2 * 1 used: only what this process used


def test_the_package_ships_the_file_where_the_handler_reads_it():
    assert DATACLASS_METHODS == dataclass_cache.cache_file(Path(".")).as_posix()
