"""One catalogue per language (gettext .po), both complete, and no untranslated text in pages."""

from __future__ import annotations

import ast
import re

import pytest

from core.i18n import LANGUAGES, catalogue, problems
from tests.conftest import ROOT

STRINGS = set(catalogue("en")) | set(catalogue("ru"))

UI_FILES = [ROOT / "Home.py", *sorted((ROOT / "pages").glob("*.py")), *sorted((ROOT / "ui").glob("*.py"))]
# Streamlit calls whose first argument is text a person reads.
_TEXT_CALLS = {
    "title",
    "header",
    "subheader",
    "write",
    "markdown",
    "caption",
    "info",
    "warning",
    "error",
    "success",
    "button",
    "toggle",
    "checkbox",
    "slider",
    "select_slider",
    "selectbox",
    "radio",
    "text_input",
    "text_area",
    "chat_input",
    "file_uploader",
    "expander",
    "toast",
    "page_link",
    "download_button",
    "progress",
    "spinner",
}


def test_both_catalogues_have_every_key_with_the_same_placeholders():
    assert set(LANGUAGES) == {"ru", "en"}
    assert len(STRINGS) > 250  # the catalogues were read, not found empty
    assert problems({language: catalogue(language) for language in LANGUAGES}) == []


@pytest.mark.parametrize(
    ("ru", "en", "expected"),
    [
        # a key only one language has
        ({"a.b": "текст"}, {}, ["a.b: no en text"]),
        # an empty translation counts as missing
        ({"a.b": " "}, {"a.b": "text"}, ["a.b: no ru text"]),
        # a placeholder renamed in one language
        (
            {"a.b": "{count} шт."},
            {"a.b": "{number} pcs"},
            ["a.b: placeholders differ {'en': {'number'}, 'ru': {'count'}}"],
        ),
        ({"a.b": "{count} шт."}, {"a.b": "{count} pcs"}, []),
    ],
)
def test_the_catalogue_check_finds_each_kind_of_mistake(ru, en, expected):
    assert problems({"ru": ru, "en": en}) == expected


def test_a_po_file_a_translator_edits_is_what_the_app_reads(tmp_path, monkeypatch):
    from core import i18n

    folder = tmp_path / "ru" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "messages.po").write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\nmsgid "chat.stop"\nmsgstr "Хватит"\n',
        encoding="utf-8",
    )
    monkeypatch.setattr(i18n, "LOCALES_DIR", tmp_path)
    i18n.catalogue.cache_clear()
    try:
        assert i18n.text("chat.stop", "ru") == "Хватит"
    finally:
        i18n.catalogue.cache_clear()


def _keys_used() -> set[str]:
    found: set[str] = set()
    pattern = re.compile(r"""\bt\(\s*["']([a-z_]+\.[a-z_]+)["']""")
    for path in UI_FILES:
        found.update(pattern.findall(path.read_text(encoding="utf-8")))
    return found


def test_every_key_used_in_the_ui_exists():
    missing = sorted(_keys_used() - set(STRINGS))
    assert not missing, f"keys used but not in the strings table: {missing}"


def _literal_text_arguments(path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    offenders = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        receiver = node.func.value
        if isinstance(receiver, ast.Name) and receiver.id in ("log", "logging"):
            continue  # log lines are for operators, in English
        if node.func.attr not in _TEXT_CALLS or not node.args:
            continue
        first = node.args[0]
        if (
            isinstance(first, ast.Constant)
            and isinstance(first.value, str)
            and re.search(r"[A-Za-zА-Яа-я]", first.value)
        ):
            if node.func.attr == "page_link" and first.value.endswith(".py"):
                continue  # a page path, not text
            offenders.append(f"{path.name}:{node.lineno}: {first.value!r}")
        if isinstance(first, ast.JoinedStr):
            literal = "".join(part.value for part in first.values if isinstance(part, ast.Constant))
            if re.search(r"[A-Za-zА-Яа-я]{3,}", literal):
                offenders.append(f"{path.name}:{node.lineno}: f-string with literal words")
    return offenders


@pytest.mark.parametrize("path", UI_FILES, ids=lambda p: p.name)
def test_no_untranslated_literals(path):
    assert _literal_text_arguments(path) == []


def test_core_never_imports_streamlit():
    for path in (ROOT / "core").rglob("*.py"):
        assert "import streamlit" not in path.read_text(encoding="utf-8"), path


def test_pages_never_touch_torch_or_transformers():
    for path in [ROOT / "Home.py", *(ROOT / "pages").glob("*.py")]:
        text = path.read_text(encoding="utf-8")
        assert "torch" not in text and "transformers" not in text, path


# -- keys chosen at run time ---------------------------------------------------------------------

_KEY = re.compile(r"^[a-z][a-z_]*\.[a-z_]+$")
CORE_AND_UI = [*sorted((ROOT / "core").rglob("*.py")), *UI_FILES]


def _key_arguments(node: ast.AST) -> list[ast.AST]:
    """The parts of one statement or call that carry a message key, by how the code hands keys to the UI."""
    if isinstance(node, ast.Call):
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
        found: list[ast.AST] = []
        if name in ("InvalidInput", "DeviceChoice"):
            found += node.args
        if name in ("report", "on_progress") and len(node.args) > 1:
            found.append(node.args[1])
        found += [keyword.value for keyword in node.keywords if keyword.arg in ("empty_key", "note_key", "key_for")]
        return found
    if isinstance(node, ast.ClassDef):  # ``key = "..."`` in an error class's body
        assignments = [statement for statement in node.body if isinstance(statement, ast.Assign)]
        return [a.value for a in assignments if any(isinstance(t, ast.Name) and t.id == "key" for t in a.targets)]
    if isinstance(node, ast.Assign | ast.AugAssign) and "step" in ast.unparse(node).split("=")[0]:
        return [node.value]
    return []


def _dynamic_keys() -> dict[str, str]:
    """Message keys that core code hands to the UI: input errors, engine errors, device notes, load steps."""
    found: dict[str, str] = {}
    for path in CORE_AND_UI:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            for argument in _key_arguments(node):
                for value in ast.walk(argument):  # also both branches of ``"a" if x else "b"``
                    if isinstance(value, ast.Constant) and isinstance(value.value, str) and _KEY.match(value.value):
                        found[value.value] = f"{path.relative_to(ROOT)}:{value.lineno}"
    return found


def test_the_scan_finds_keys_of_every_kind():
    """So the next test cannot pass by finding nothing."""
    keys = _dynamic_keys()
    for expected in (
        "region.float",
        "text.too_long",
        "engine.out_of_memory",
        "device.cuda_missing",
        "load.quantize",
        "load.waiting_memory",
        "chat.empty_question",
        "detect.too_many",
    ):
        assert expected in keys, expected


def test_every_dynamic_key_exists():
    missing = {key: where for key, where in _dynamic_keys().items() if key not in STRINGS}
    assert not missing, f"keys raised or reported in code but not in the strings table: {missing}"


def test_every_key_built_from_an_enumeration_exists():
    from core.engines.types import Capability
    from core.families.base import LANGUAGE_HINTS

    built = [f"ability.{capability.value}" for capability in Capability]
    built += [f"ocr.lang_{hint}" for hint in LANGUAGE_HINTS]
    assert [key for key in built if key not in STRINGS] == []
