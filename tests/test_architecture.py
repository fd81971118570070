"""The shape of the code: no import cycles in core/, no UI in core/, no family named outside its own module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(tree: ast.AST, known: set[str]) -> set[str]:
    """Every core module ``tree`` imports, wherever the import stands (in a function, under TYPE_CHECKING)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                if full in known:
                    found.add(full)
                elif node.module in known:
                    found.add(node.module)
    return found


def import_graph(package: str = "core") -> dict[str, set[str]]:
    paths = {_module_name(path): path for path in (ROOT / package).rglob("*.py")}
    known = set(paths)
    return {name: _imports(ast.parse(path.read_text(encoding="utf-8")), known) - {name} for name, path in paths.items()}


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = list(graph.get(start, ()))
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(graph.get(node, ()))
    return seen


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The groups of modules that import each other, directly or round a ring (strongly connected components)."""
    reach = {node: _reachable(graph, node) for node in graph}
    groups = {frozenset({node} | {other for other in reach[node] if node in reach.get(other, ())}) for node in graph}
    return sorted(sorted(group) for group in groups if len(group) > 1)


def packages(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The same graph one level up: ``core.engines.hf`` counts as ``core.engines``."""

    def top(name: str) -> str:
        return ".".join(name.split(".")[:2])

    merged: dict[str, set[str]] = {}
    for name, targets in graph.items():
        merged.setdefault(top(name), set()).update(top(target) for target in targets if top(target) != top(name))
    return merged


def test_the_cycle_finder_sees_a_cycle():
    # The positive control: a three-module ring and a self-contained pair are told apart.
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"e"}, "e": set()}) == [["a", "b", "c"]]


def test_no_import_cycle_between_core_modules():
    assert cycles(import_graph()) == []


def test_no_import_cycle_between_core_packages():
    # engines <-> families through a registry inside engines was one: the registry now sits above both.
    assert cycles(packages(import_graph())) == []


def test_core_never_imports_streamlit():
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "core").rglob("*.py")
        if any(
            (isinstance(node, ast.Import) and any(a.name.split(".")[0] == "streamlit" for a in node.names))
            or (isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "streamlit")
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        )
    ]
    assert offenders == []


def _family_names() -> set[str]:
    from core.families import FAMILIES

    return set(FAMILIES)


def _name_checks(path: Path, names: set[str]) -> list[str]:
    """Places that single out a family by name: a string equal to its name (``card.family == "tesseract"``,
    ``FAMILIES["tesseract"]``, ``client_for("tesseract")``) or an import from one family's own module."""
    hits = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.lower() in names:
            hits.append(f"{path.relative_to(ROOT)}:{node.lineno} names {node.value!r}")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").rpartition(".")[2] in names:
            hits.append(f"{path.relative_to(ROOT)}:{node.lineno} imports from {node.module}")
    return hits


@pytest.mark.parametrize("folder", ["ui", "pages", "core/lab", "core/tasks", "core/serving"])
def test_no_family_is_named_outside_families_and_engines(folder):
    names = _family_names()
    paths = [ROOT / folder] if (ROOT / folder).is_file() else sorted((ROOT / folder).rglob("*.py"))
    hits = [hit for path in paths for hit in _name_checks(path, names)]
    assert hits == []


def test_the_name_check_finder_sees_a_name_check():
    # The positive control for the test above.
    probe = ROOT / "tests" / "_probe_name_check.py"
    probe.write_text(
        'from core.families.tesseract import TESSERACT_ID\n\ndef f(card):\n    return card.family == "tesseract"\n',
        encoding="utf-8",
    )
    try:
        assert _name_checks(probe, {"tesseract"}) == [
            "tests/_probe_name_check.py:1 imports from core.families.tesseract",
            "tests/_probe_name_check.py:4 names 'tesseract'",
        ]
    finally:
        probe.unlink()


def _download_buttons_that_rerun(source: str) -> list[int]:
    return [
        node.lineno
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "download_button"
        and not any(
            keyword.arg == "on_click" and getattr(keyword.value, "value", None) == "ignore" for keyword in node.keywords
        )  # fmt: skip
    ]


def test_the_download_finder_sees_a_button_that_reruns():
    assert _download_buttons_that_rerun(
        'st.download_button("a", b"x", "a.txt")\nst.download_button("b", b"y", "b.txt", on_click="ignore")'
    ) == [1]


def test_no_download_button_reruns_the_page():
    """A rerun after a click can replace the file the browser is still fetching (a cancelled download in the
    export browser test): every download button leaves the page as it is."""
    pages = [*sorted((ROOT / "ui").glob("*.py")), *sorted((ROOT / "pages").glob("*.py")), ROOT / "Home.py"]
    found = {
        str(path.relative_to(ROOT)): lines
        for path in pages
        if (lines := _download_buttons_that_rerun(path.read_text()))
    }
    assert found == {}
