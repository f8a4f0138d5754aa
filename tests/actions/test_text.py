"""split-text, find-and-replace-text, concat-text: exact outputs per mode and flag, run through the registry."""

from __future__ import annotations

import pytest

from stamen.actions import get_action, validate_params
from stamen.errors import InputValidation, RunFailure
from stamen.execution.context import InputValue, RunContext


def run_text_action(make_context, action_id: str, inputs: dict[str, list[str]], **params) -> list[str]:
    spec = get_action(action_id)
    ctx: RunContext = make_context(inputs, {slot: "text" for slot in inputs})
    spec.run(ctx, validate_params(spec, params))
    assert all(output.media_type == "text" for output in ctx.outputs)
    return [output.text or "" for output in ctx.outputs]


# ---------------------------------------------------------------- split-text

POEM = "alpha, beta,, gamma\nline two\n\n\nsecond paragraph\nstill second\n\nthird"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (
            {"split_mode": "separator", "separator": ","},
            ["alpha", "beta", "gamma\nline two\n\n\nsecond paragraph\nstill second\n\nthird"],
        ),
        (
            {"split_mode": "separator", "separator": ",", "skip_empty": False, "trim_parts": False},
            ["alpha", " beta", "", " gamma\nline two\n\n\nsecond paragraph\nstill second\n\nthird"],
        ),
        (
            {"split_mode": "separator", "separator": "\\n"},
            ["alpha, beta,, gamma", "line two", "second paragraph", "still second", "third"],
        ),
        (
            {"split_mode": "paragraph"},
            ["alpha, beta,, gamma\nline two", "second paragraph\nstill second", "third"],
        ),
        (
            {"split_mode": "lines"},
            ["alpha, beta,, gamma", "line two", "second paragraph", "still second", "third"],
        ),
        (
            {"split_mode": "lines", "lines_per_part": 3},
            ["alpha, beta,, gamma\nline two", "second paragraph\nstill second", "third"],
        ),
        ({"split_mode": "lines", "max_parts": 2}, ["alpha, beta,, gamma", "line two"]),
    ],
)
def test_split_text_gives_exact_parts_per_mode(make_context, params, expected):
    assert run_text_action(make_context, "split-text", {"text": [POEM]}, **params) == expected


def test_split_text_char_count_cuts_fixed_size_chunks_without_trimming(make_context):
    parts = run_text_action(
        make_context, "split-text", {"text": ["abcdefghij"]}, split_mode="charCount", chars_per_part=4
    )
    assert parts == ["abcd", "efgh", "ij"]


def test_split_text_browser_bullets_gives_items_without_markers(make_context):
    text = "Ideas:\n- first idea\n  continued here\n* second\n• third\n1. fourth\n2) fifth\n"
    parts = run_text_action(make_context, "split-text-browser", {"text": [text]}, split_mode="bullets")
    assert parts == ["first idea\n  continued here", "second", "third", "fourth", "fifth"]


def test_split_text_legacy_id_accepts_browser_bullets_mode(make_context):
    assert run_text_action(make_context, "split-text", {"text": ["- a\n- b"]}, split_mode="bullets") == [
        "a",
        "b",
    ]


def test_split_text_with_only_blank_parts_fails_the_run(make_context):
    with pytest.raises(RunFailure) as failure:
        run_text_action(make_context, "split-text", {"text": ["\n\n  \n"]}, split_mode="lines")
    assert failure.value.code == "input_invalid"


def test_split_text_browser_rejects_an_unknown_mode():
    with pytest.raises(InputValidation) as error:
        validate_params(get_action("split-text-browser"), {"split_mode": "words"})
    assert error.value.fields[0].field == "params.split_mode"
    assert "bullets" in error.value.fields[0].message


# ---------------------------------------------------------------- find-and-replace-text

SENTENCE = "The cat scattered the Cat food; cat!"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"find": "cat", "replace": "dog"}, "The dog sdogtered the dog food; dog!"),
        ({"find": "cat", "replace": "dog", "case_sensitive": True}, "The dog sdogtered the Cat food; dog!"),
        ({"find": "cat", "replace": "dog", "whole_word": True}, "The dog scattered the dog food; dog!"),
        (
            {"find": "cat", "replace": "dog", "whole_word": True, "case_sensitive": True},
            "The dog scattered the Cat food; dog!",
        ),
        ({"find": "cat", "replace": "dog", "replace_all": False}, "The dog scattered the Cat food; cat!"),
        ({"find": "cat", "replace": r"\1 $&"}, r"The \1 $& s\1 $&tered the \1 $& food; \1 $&!"),
        ({"find": "", "replace": "x"}, SENTENCE),
        ({"find": "food;", "replace": "", "whole_word": True}, "The cat scattered the Cat  cat!"),
    ],
)
def test_find_and_replace_text_gives_exact_strings(make_context, params, expected):
    assert run_text_action(make_context, "find-and-replace-text", {"text": [SENTENCE]}, **params) == [
        expected
    ]


def test_find_and_replace_browser_twin_runs_the_same_implementation(make_context):
    params = {"find": "a.c", "replace": "X"}
    legacy = run_text_action(make_context, "find-and-replace-text", {"text": ["a.c abc"]}, **params)
    browser = run_text_action(make_context, "find-and-replace-text-browser", {"text": ["a.c abc"]}, **params)
    assert legacy == browser == ["X abc"]


# ---------------------------------------------------------------- concat-text


def test_concat_text_joins_trimmed_non_empty_parts_with_default_blank_line(make_context):
    joined = run_text_action(make_context, "concat-text", {"texts": [" one ", "", "two\n"]})
    assert joined == ["one\n\ntwo"]


def test_concat_text_prefix_and_suffix_wrap_the_whole_result(make_context):
    joined = run_text_action(
        make_context, "concat-text", {"texts": ["a", "b"]}, separator=" | ", prefix="<", suffix=">"
    )
    assert joined == ["<a | b>"]


def test_concat_text_wrap_each_part_applies_prefix_and_suffix_per_part(make_context):
    joined = run_text_action(
        make_context,
        "concat-text-browser",
        {"texts": ["a", "b"]},
        separator=",",
        prefix="[",
        suffix="]",
        wrap_each_part=True,
    )
    assert joined == ["[a],[b]"]


def test_concat_text_headers_name_each_input(make_context, tmp_path):
    ctx = RunContext(
        run_id="run_test",
        workdir=tmp_path,
        inputs={
            "texts": [InputValue("text", text="first", name="notes.txt"), InputValue("text", text="second")]
        },
    )
    spec = get_action("concat-text")
    spec.run(ctx, validate_params(spec, {"add_headers": True, "separator": "\\n---\\n"}))
    assert ctx.outputs[0].text == "## notes.txt\nfirst\n---\n## Input 2\nsecond"


def test_concat_text_keeps_empty_parts_and_whitespace_when_asked(make_context):
    joined = run_text_action(
        make_context,
        "concat-text",
        {"texts": [" a ", "", "b"]},
        separator="+",
        skip_empty=False,
        trim_parts=False,
    )
    assert joined == [" a ++b"]
