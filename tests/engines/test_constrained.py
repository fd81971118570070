"""Decoding under a JSON Schema on tiny random-weight models: whatever the weights say, the answer is JSON
valid under the schema, every time (a property test over generated templates), and it closes within the
schema's token bound."""

from __future__ import annotations

import json

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from core.engines.constrained import SchemaError, compile_schema, schema_text
from core.engines.types import ChatMessage, GenerationRequest, Role, SamplingParams
from core.extraction.templates import SCALAR_TYPES, Bounds, Field, Template, load_template, token_bound
from core.registry import create_engine
from core.settings import Settings

SMALL = Bounds(text=6, short=5, rows=2)


@pytest.fixture(scope="module")
def engines(tiny_models, tmp_path_factory):
    built = {}
    for family in ("smolvlm", "qwen3_vl"):
        settings = Settings(allow_download=False, hf_home=tmp_path_factory.mktemp("hf"), device="cpu")
        built[family] = create_engine(str(tiny_models[family]), settings)
        built[family].load()
    yield built
    for engine in built.values():
        engine.unload()


def _ask(schema: dict | None, max_new_tokens: int, sample: bool = False) -> GenerationRequest:
    message = ChatMessage(Role.USER, "Extract the fields as JSON.", (Image.new("RGB", (200, 160), "white"),))
    sampling = SamplingParams(max_new_tokens=max_new_tokens, do_sample=sample, temperature=1.0, top_p=1.0)
    return GenerationRequest((message,), sampling, 1, json_schema=schema_text(schema) if schema else None)


def _answer(engine, request) -> str:
    stream = engine.stream(request)
    return "".join(stream)


names = st.from_regex(r"[a-z][a-z_]{0,7}", fullmatch=True)
scalars = st.builds(lambda name, kind: Field(name, kind), names, st.sampled_from(SCALAR_TYPES))
rows = st.builds(
    lambda name, columns: Field(name, "rows", columns=tuple({c.name: c for c in columns}.values())),
    names,
    st.lists(scalars, min_size=1, max_size=3),
)
templates = st.lists(st.one_of(scalars, rows), min_size=1, max_size=4).map(
    lambda fields: Template("generated", {}, tuple({f.name: f for f in fields}.values()))
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(template=templates, sample=st.booleans())
def test_any_template_gives_valid_json_from_a_random_model(engines, template, sample):
    schema = template.json_schema(SMALL)
    text = _answer(engines["smolvlm"], _ask(schema, token_bound(schema), sample))
    jsonschema.validate(json.loads(text), schema)


@pytest.mark.parametrize("family", ["smolvlm", "qwen3_vl"])
def test_the_russian_invoice_closes_within_its_bound_on_each_family(engines, family):
    schema = load_template("invoice-ru").json_schema(SMALL)
    stream = engines[family].stream(_ask(schema, token_bound(schema)))
    answer = json.loads("".join(stream))
    jsonschema.validate(answer, schema)
    assert stream.stats.new_tokens < token_bound(schema)  # it ended on its own, not at the limit
    assert set(answer) == {field.name for field in load_template("invoice-ru").fields}


def test_without_the_schema_the_same_model_writes_no_json(engines):
    """The control: the constraint, not luck, makes the answers above valid."""
    text = _answer(engines["smolvlm"], _ask(None, 40))
    with pytest.raises(ValueError):
        json.loads(text)


def test_a_schema_that_cannot_be_compiled_is_refused_before_any_decoding():
    with pytest.raises(SchemaError):
        compile_schema(json.dumps({"type": "object", "properties": {"a": {"$ref": "#/nowhere"}}}))
