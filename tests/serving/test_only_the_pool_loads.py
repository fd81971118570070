"""No code path loads or unloads weights outside the pool (a static check of the product's code)."""

from __future__ import annotations

import ast

from tests.conftest import ROOT

PRODUCT = [ROOT / "Home.py", *ROOT.glob("pages/*.py"), *ROOT.glob("ui/*.py"), *ROOT.glob("core/**/*.py"),
           *ROOT.glob("bench/*.py")]  # fmt: skip
POOL = ROOT / "core" / "serving" / "pool.py"
ENGINE_BASE = ROOT / "core" / "engines" / "hf.py"


def _calls(path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            yield node.func, ast.unparse(node.func.value)


def test_only_the_pool_calls_load_and_unload_on_an_engine():
    offenders = [
        f"{path.relative_to(ROOT)}:{func.lineno} {receiver}.{func.attr}()"
        for path in PRODUCT
        for func, receiver in _calls(path)
        if func.attr in ("load", "unload") and receiver.split(".")[-1].endswith("engine") and path != POOL
    ]
    assert offenders == []


def test_only_the_transformers_engine_reads_checkpoints():
    offenders = [
        f"{path.relative_to(ROOT)}:{func.lineno}"
        for path in PRODUCT
        for func, _ in _calls(path)
        if func.attr == "from_pretrained" and path != ENGINE_BASE
    ]
    assert offenders == []


def test_the_check_sees_a_call_when_there_is_one(tmp_path):
    sample = tmp_path / "page.py"
    sample.write_text("engine.load()\nself.engine.unload()\nclient.load()\n", encoding="utf-8")
    found = [(func.attr, receiver) for func, receiver in _calls(sample)]
    assert ("load", "engine") in found and ("unload", "self.engine") in found
