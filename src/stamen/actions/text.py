"""Text actions: split-text, find-and-replace-text, concat-text and their `-browser` twins.

Separators, prefixes and suffixes understand the escapes `\\n` and `\\t`, since UI text boxes cannot
hold a literal newline.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field

from stamen.actions.registry import ActionParams, Slot, action
from stamen.errors import RunFailure
from stamen.execution.context import RunContext

BULLET = re.compile(r"^\s*(?:[-*+•‣◦▪]|\d+[.)])\s+")


def unescape(value: str) -> str:
    """`\\n` → newline, `\\t` → tab; everything else literal."""
    return value.replace("\\n", "\n").replace("\\t", "\t")


# ---------------------------------------------------------------- split-text


class SplitTextBrowserParams(ActionParams):
    split_mode: Literal["separator", "paragraph", "lines", "charCount", "bullets"] = Field(
        "lines", title="Split Mode", description="How to cut the text into parts."
    )
    separator: str = Field(
        ",", title="Separator", description="Used by the separator mode; \\n is a newline."
    )
    lines_per_part: int = Field(1, ge=1, le=10_000, title="Lines per Part")
    chars_per_part: int = Field(1000, ge=1, le=1_000_000, title="Characters per Part")
    max_parts: int = Field(10, ge=1, le=100, title="Max Parts", description="Parts beyond this are dropped.")
    skip_empty: bool = Field(True, title="Skip Empty Parts")
    trim_parts: bool = Field(True, title="Trim Whitespace")


class SplitTextParams(SplitTextBrowserParams):
    """Legacy id: the browser keys (a superset of the legacy ones), `bullets` included."""


def split_parts(text: str, params: SplitTextBrowserParams) -> list[str]:
    """The parts of `text` for the chosen mode, trimmed/filtered/limited as the params ask."""
    mode = params.split_mode
    if mode == "separator":
        separator = unescape(params.separator)
        if not separator:
            raise RunFailure("input_invalid", "params.separator must not be empty in separator mode")
        parts = text.split(separator)
    elif mode == "paragraph":
        parts = re.split(r"\n[ \t]*\n(?:[ \t]*\n)*", text)
    elif mode == "lines":
        lines = text.splitlines()
        size = params.lines_per_part
        parts = ["\n".join(lines[i : i + size]) for i in range(0, len(lines), size)]
    elif mode == "charCount":
        size = params.chars_per_part
        parts = [text[i : i + size] for i in range(0, len(text), size)]
    else:
        parts = bullet_items(text)
    if params.trim_parts:
        parts = [part.strip() for part in parts]
    if params.skip_empty:
        parts = [part for part in parts if part.strip()]
    return parts[: params.max_parts]


def bullet_items(text: str) -> list[str]:
    """List items without their markers; continuation lines join their item; text before the first
    bullet is dropped. Text with no bullets is one part."""
    items: list[list[str]] = []
    for line in text.splitlines():
        marker = BULLET.match(line)
        if marker:
            items.append([line[marker.end() :]])
        elif items:
            items[-1].append(line)
    if not items:
        return [text]
    return ["\n".join(lines).rstrip() for lines in items]


@action(
    "split-text-browser",
    name="Split Text",
    description="Splits a text into parts by separator, paragraph, lines, character count or bullet items.",
    inputs=[Slot("text", "text")],
    outputs=[Slot("text", "text", multiple=True)],
    params=SplitTextBrowserParams,
    language="javascript",
    twin_of="split-text",
)
@action(
    "split-text",
    name="Split Text",
    description="Splits a text into parts by separator, paragraph, lines or character count.",
    inputs=[Slot("text", "text")],
    outputs=[Slot("text", "text", multiple=True)],
    params=SplitTextParams,
)
def split_text(ctx: RunContext, params: SplitTextBrowserParams) -> None:
    parts = split_parts(ctx.input_text("text"), params)
    if not parts:
        raise RunFailure("input_invalid", "the text has no non-empty parts to output")
    for part in parts:
        ctx.save_output(part, "text")


# ---------------------------------------------------------------- find-and-replace-text


class FindAndReplaceTextBrowserParams(ActionParams):
    find: str = Field("", title="Find", description="Literal text to look for (not a regular expression).")
    replace: str = Field("", title="Replace With")
    case_sensitive: bool = Field(False, title="Case Sensitive")
    whole_word: bool = Field(False, title="Whole Word Only")
    replace_all: bool = Field(True, title="Replace All Occurrences")


class FindAndReplaceTextParams(FindAndReplaceTextBrowserParams):
    """Legacy id: same keys as the browser twin."""


def find_and_replace(text: str, params: FindAndReplaceTextBrowserParams) -> str:
    """`text` with `find` replaced literally; an empty `find` leaves the text unchanged."""
    if not params.find:
        return text
    pattern = re.escape(params.find)
    if params.whole_word:
        pattern = rf"(?<!\w){pattern}(?!\w)"
    flags = 0 if params.case_sensitive else re.IGNORECASE
    return re.sub(pattern, lambda _: params.replace, text, count=0 if params.replace_all else 1, flags=flags)


@action(
    "find-and-replace-text-browser",
    name="Find and Replace Text",
    description="Replaces occurrences of a text, optionally case-sensitive or whole words only.",
    inputs=[Slot("text", "text")],
    outputs=[Slot("text", "text")],
    params=FindAndReplaceTextBrowserParams,
    language="javascript",
    twin_of="find-and-replace-text",
)
@action(
    "find-and-replace-text",
    name="Find and Replace Text",
    description="Replaces occurrences of a text, optionally case-sensitive or whole words only.",
    inputs=[Slot("text", "text")],
    outputs=[Slot("text", "text")],
    params=FindAndReplaceTextParams,
)
def find_and_replace_text(ctx: RunContext, params: FindAndReplaceTextBrowserParams) -> None:
    ctx.save_output(find_and_replace(ctx.input_text("text"), params), "text")


# ---------------------------------------------------------------- concat-text


class ConcatTextBrowserParams(ActionParams):
    separator: str = Field("\\n\\n", title="Separator", description="Placed between parts; \\n is a newline.")
    prefix: str = Field("", title="Prefix")
    suffix: str = Field("", title="Suffix")
    add_headers: bool = Field(
        False, title="Add Input Name Headers", description="Put a '## <input name>' line above each part."
    )
    skip_empty: bool = Field(True, title="Skip Empty Parts")
    trim_parts: bool = Field(True, title="Trim Each Part")
    wrap_each_part: bool = Field(
        False,
        title="Wrap Each Part",
        description="Apply prefix and suffix to every part instead of the whole.",
    )


class ConcatTextParams(ConcatTextBrowserParams):
    """Legacy id: same keys as the browser twin."""


def concatenate(texts: list[tuple[str, str]], params: ConcatTextBrowserParams) -> str:
    """Join `(header, text)` pairs per the params."""
    prefix, suffix = unescape(params.prefix), unescape(params.suffix)
    pieces: list[str] = []
    for header, text in texts:
        if params.trim_parts:
            text = text.strip()
        if params.skip_empty and not text.strip():
            continue
        if params.wrap_each_part:
            text = f"{prefix}{text}{suffix}"
        pieces.append(f"## {header}\n{text}" if params.add_headers else text)
    joined = unescape(params.separator).join(pieces)
    return joined if params.wrap_each_part else f"{prefix}{joined}{suffix}"


@action(
    "concat-text-browser",
    name="Concatenate Text",
    description="Joins several texts with a separator, optional headers, prefix and suffix.",
    inputs=[Slot("texts", "text", multiple=True)],
    outputs=[Slot("text", "text")],
    params=ConcatTextBrowserParams,
    language="javascript",
    twin_of="concat-text",
)
@action(
    "concat-text",
    name="Concatenate Text",
    description="Joins several texts with a separator, optional headers, prefix and suffix.",
    inputs=[Slot("texts", "text", multiple=True)],
    outputs=[Slot("text", "text")],
    params=ConcatTextParams,
)
def concat_text(ctx: RunContext, params: ConcatTextBrowserParams) -> None:
    values = ctx.inputs.get("texts", [])
    texts = [
        (value.name if value.name and value.name != "texts" else f"Input {index}", value.text or "")
        for index, value in enumerate(values, start=1)
    ]
    ctx.save_output(concatenate(texts, params), "text")
