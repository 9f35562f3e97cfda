"""The stand-in model's structured answers: a ``tool_use`` block, JSON text, a thinking block.

Which shape a reply takes is a deterministic rule on the request, so a test (or a user trying a
pipeline) can ask for each one:

1. **tool_use.** With ``tools`` (tools that have an ``input_schema``): ``tool_choice``
   ``{"type": "tool", "name": N}`` answers with one ``tool_use`` block for N; ``{"type": "any"}``
   for the first tool. These forced choices give no text before the block, as the API does
   ("the models will not emit a natural language response or explanation before tool_use
   content blocks", https://docs.claude.com/en/docs/agents-and-tools/tool-use/implement-tool-use
   #forcing-tool-use). With ``auto`` (or no ``tool_choice``), the first tool whose name appears
   in the last user message is used, after one sentence of text; none named: a text reply.
   ``{"type": "none"}``: never. ``stop_reason`` is ``tool_use``.
2. **JSON text.** ``output_config.format`` ``{"type": "json_schema", "schema": S}`` (structured
   outputs; ``anthropic.types.OutputConfigParam``): the whole text is one JSON document built
   from S. Otherwise a last user message that contains ``JSON`` (upper case) gets a sentence and
   a fenced ```` ```json ```` block holding an object that describes the message.
3. **thinking.** ``thinking`` of type ``enabled`` or ``adaptive``: a ``thinking`` block first.

Values built from a schema: every property of an object; a string is the start of the last user
message (an ``enum``'s first value), an integer its length in characters, a number that length
/ 4, a boolean whether its crc32 is odd, an array one item, ``anyOf``/``oneOf`` their first
choice. A tool's input follows its ``input_schema`` the same way.

The shape is decided when the batch is created and kept in the reply seed, so the results of a
batch never change.
"""

from __future__ import annotations

from typing import Any

import orjson

_DEPTH = 8  # nested schema levels followed; deeper ones get a plain string
PLAIN = "stand-in"


def plan(params: dict[str, Any], text: str, chars: int, crc: int, snippet: str) -> dict[str, Any] | None:
    """The structured part of a reply to ``params`` (None: a plain text reply).

    ``text`` is the last user message; ``chars``, ``crc`` and ``snippet`` what the plain reply
    says of it."""
    spec: dict[str, Any] = {}
    facts = (chars, crc, snippet)
    tool = _tool(params, text)
    if tool is not None:
        name, schema, forced = tool
        spec["tool"] = name
        spec["input"] = _value(schema, facts, 0) if isinstance(schema, dict) else {}
        if not isinstance(spec["input"], dict):
            spec["input"] = {"value": spec["input"]}
        spec["forced"] = forced
    else:
        output = params.get("output_config")
        fmt = output.get("format") if isinstance(output, dict) else None
        if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
            spec["json"] = _value(fmt.get("schema"), facts, 0)
            spec["fenced"] = False
        elif "JSON" in text:
            spec["json"] = {
                "emulator": "batchctl stand-in model",
                "chars": chars,
                "crc32": f"{crc:08x}",
                "began": snippet,
                "detail": {"chars": chars, "words": len(text.split())},
            }
            spec["fenced"] = True
    thinking = params.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive"):
        spec["thinking"] = True
    return spec or None


def thinking_conflict(params: dict[str, Any]) -> str | None:
    """The problem with thinking and a forced tool choice together, as the API refuses it:
    "Tool use with extended thinking only supports tool_choice: {"type": "auto"} (the default)
    or {"type": "none"}" (https://docs.claude.com/en/docs/build-with-claude/extended-thinking
    #extended-thinking-with-tool-use). The wording of the message is the emulator's."""
    thinking, choice = params.get("thinking"), params.get("tool_choice")
    if (
        isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive")
        and isinstance(choice, dict) and choice.get("type") in ("any", "tool")
    ):
        return ("tool_choice: thinking may not be enabled when tool_choice forces tool use; "
                "use tool_choice auto or none")
    return None


def _tool(params: dict[str, Any], text: str) -> tuple[str, Any, bool] | None:
    tools = params.get("tools")
    if not isinstance(tools, list):
        return None
    named = [
        t for t in tools
        if isinstance(t, dict) and isinstance(t.get("name"), str) and "input_schema" in t
    ]
    if not named:
        return None
    choice = params.get("tool_choice")
    kind = choice.get("type") if isinstance(choice, dict) else "auto"
    if kind == "tool":
        name = choice.get("name")  # type: ignore[union-attr]
        for t in named:
            if t["name"] == name:
                return name, t.get("input_schema"), True
        return None
    if kind == "any":
        return named[0]["name"], named[0].get("input_schema"), True
    if kind == "auto":
        for t in named:
            if t["name"] in text:
                return t["name"], t.get("input_schema"), False
    return None


def _value(schema: Any, facts: tuple[int, int, str], depth: int) -> Any:
    chars, crc, snippet = facts
    if not isinstance(schema, dict) or depth > _DEPTH:
        return PLAIN
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return enum[0]
    if "const" in schema:
        return schema["const"]
    for key in ("anyOf", "oneOf"):
        choices = schema.get(key)
        if isinstance(choices, list) and choices:
            return _value(choices[0], facts, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None and isinstance(schema.get("properties"), dict):
        kind = "object"
    if kind == "object":
        props = schema.get("properties")
        if not isinstance(props, dict):
            return {}
        return {str(k): _value(v, facts, depth + 1) for k, v in props.items()}
    if kind == "array":
        return [_value(schema.get("items"), facts, depth + 1)]
    if kind == "integer":
        return chars
    if kind == "number":
        return chars / 4
    if kind == "boolean":
        return bool(crc & 1)
    if kind == "null":
        return None
    return snippet if kind == "string" else PLAIN


def blocks(
    spec: dict[str, Any], tool_id: str, crc: int, plain: str
) -> tuple[list[dict[str, Any]], bool]:
    """The content blocks of a structured reply (``plain``: the text reply, used when the spec
    asks for neither a tool nor JSON), and whether it ends in a tool call."""
    content: list[dict[str, Any]] = []
    if spec.get("thinking"):
        content.append({
            "type": "thinking",
            "thinking": "The batchctl emulator's stand-in model does not think; this block "
                        "stands in for extended thinking.",
            "signature": f"emulator-{crc:08x}",
        })
    if "tool" in spec:
        if not spec["forced"]:
            content.append({"type": "text", "text": f"I will use the {spec['tool']} tool."})
        content.append({"type": "tool_use", "id": tool_id, "name": spec["tool"],
                        "input": spec["input"]})
        return content, True
    if "json" in spec:
        doc = orjson.dumps(spec["json"]).decode()
        text = f"Here is the JSON you asked for:\n```json\n{doc}\n```" if spec["fenced"] else doc
        content.append({"type": "text", "text": text})
    else:
        content.append({"type": "text", "text": plain})
    return content, False


def size(block: dict[str, Any]) -> int:
    """Characters a block counts for in ``output_tokens``."""
    if block["type"] == "tool_use":
        return len(orjson.dumps(block["input"]))
    return len(block.get("text") or block.get("thinking") or "")


def cut(content: list[dict[str, Any]], budget: int) -> list[dict[str, Any]]:
    """The blocks that fit in ``budget`` characters: a text or thinking block is cut short, a
    tool_use block that does not fit whole is left out (the docs call such a call incomplete
    and say to retry with a larger max_tokens: implement-tool-use#handling-stop-reasons)."""
    kept: list[dict[str, Any]] = []
    for block in content:
        n = size(block)
        if n <= budget:
            kept.append(block)
            budget -= n
            continue
        if block["type"] == "text" and budget > 0:
            kept.append({**block, "text": block["text"][:budget]})
        elif block["type"] == "thinking" and budget > 0:
            kept.append({**block, "thinking": block["thinking"][:budget]})
        break
    return kept
