"""One line of a request file checked: its custom_id, its form (native ``params`` or OpenAI-style
``method``/``url``/``body``) and the ``params`` every request needs, each problem worded for a
``FILE:LINE: message`` report; and a valid line turned into the API's request object.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

_CUSTOM_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "null" if value is None else "a number"
    )


def _custom_id_found(custom_id: str) -> str:
    """What is wrong with a custom_id, as found: its length when that is out of range, and its
    first character outside the set."""
    found = []
    if not 1 <= len(custom_id) <= 64:
        found.append(f"it is {len(custom_id)} characters long")
    bad = next((c for c in custom_id if not _CUSTOM_ID.fullmatch(c)), None)
    if bad is not None:
        where = custom_id.index(bad) + 1
        found.append(f"{'it ' if not found else ''}has {orjson.dumps(bad).decode()} at character {where}")
    return ": " + ", and ".join(found)


def _short(value: Any) -> str:
    """``value`` as JSON, cut to 72 characters: one line, whatever it holds."""
    try:
        text = orjson.dumps(value).decode()
    except TypeError:  # nested deeper than orjson writes (254 levels)
        return _kind(value) + " nested too deeply to show"
    return text if len(text) <= 72 else text[:69] + "..."


def check_request(obj: Any) -> tuple[str | None, dict | None, bool, list[str]]:
    """Check one parsed line: ``(custom_id, params, openai_style, problems)``.

    custom_id is None when it is unusable; params is None when there is none to use.
    """
    if type(obj) is dict and "params" in obj:  # the fast path: a valid native line
        custom_id, params = obj.get("custom_id"), obj["params"]
        if type(custom_id) is str and type(params) is dict and _CUSTOM_ID.fullmatch(custom_id):
            model, messages, max_tokens = (
                params.get("model"), params.get("messages"), params.get("max_tokens")
            )
            if (
                type(model) is str and model and type(messages) is list and messages
                and type(max_tokens) is int
                and not ("method" in obj or "url" in obj or "body" in obj)
            ):
                return custom_id, params, False, []
    if not isinstance(obj, dict):
        return None, None, False, [f"expected a JSON object, got {_kind(obj)}"]
    problems: list[str] = []
    custom_id = obj.get("custom_id")
    if "custom_id" not in obj:
        problems.append("custom_id is missing")
    elif not isinstance(custom_id, str):
        problems.append(f"custom_id must be a string, got {_kind(custom_id)}")
        custom_id = None
    elif not _CUSTOM_ID.fullmatch(custom_id):
        problems.append(f"custom_id {_short(custom_id)} must be 1 to 64 characters from "
                        f"a-z A-Z 0-9 _ -{_custom_id_found(custom_id)}")
        custom_id = None
    openai = "method" in obj or "url" in obj or "body" in obj
    name = "params"
    if openai and "params" in obj:
        problems.append("mixes the native form (params) with the OpenAI form (method, url, body)")
        return custom_id, None, openai, problems
    if openai:
        name = "body"
        if obj.get("method") != "POST":
            problems.append(f'method must be "POST", got {_short(obj.get("method"))}')
        if obj.get("url") != "/v1/messages":
            problems.append(f'url must be "/v1/messages", got {_short(obj.get("url"))}')
    params = obj.get(name)
    if name not in obj:
        problems.append(f"{name} is missing")
        return custom_id, None, openai, problems
    if not isinstance(params, dict):
        problems.append(f"{name} must be an object, got {_kind(params)}")
        return custom_id, None, openai, problems
    problems.extend(_check_params(params, name))
    return custom_id, params, openai, problems


def _check_params(params: dict, name: str) -> list[str]:
    problems = []
    model = params.get("model")
    if "model" not in params:
        problems.append(f"{name}.model is missing")
    elif not isinstance(model, str) or not model:
        problems.append(f"{name}.model must be a non-empty string, got {_short(model)}")
    messages = params.get("messages")
    if "messages" not in params:
        problems.append(f"{name}.messages is missing")
    elif not isinstance(messages, list):
        problems.append(f"{name}.messages must be a list, got {_kind(messages)}")
    elif not messages:
        problems.append(f"{name}.messages is empty")
    max_tokens = params.get("max_tokens")
    if "max_tokens" not in params:
        problems.append(f"{name}.max_tokens is missing")
    elif not isinstance(max_tokens, int) or isinstance(max_tokens, bool):
        problems.append(f"{name}.max_tokens must be an integer, got {_short(max_tokens)}")
    return problems  # the rest is batchctl.core.requests.rules, applied by scan_file


def is_verbatim(obj: dict) -> bool:
    """A native line with nothing else: its bytes can go into the body unchanged."""
    return len(obj) == 2 and "custom_id" in obj and "params" in obj


def to_request(obj: dict) -> dict:
    """The API's request object for a valid line, in either form; a ``betas`` key in params
    (accepted only with --lift-betas, which sends it in the anthropic-beta header) is left out."""
    params = obj["params"] if "params" in obj else obj["body"]
    if "betas" in params:
        params = {k: v for k, v in params.items() if k != "betas"}
    return {"custom_id": obj["custom_id"], "params": params}


def line_problem(raw: bytes, line: bytes, exc: orjson.JSONDecodeError) -> str:
    """What is wrong with ``line`` (``raw`` stripped), columns counted in ``raw``."""
    lead = len(raw) - len(raw.lstrip())
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as bad:
        return f"bytes that are not UTF-8 at column {lead + bad.start + 1}"
    message = exc.msg
    if message.startswith("unexpected content after document"):
        return f"trailing characters after the JSON object at column {lead + exc.colno}"
    return f"invalid JSON: {message} at column {lead + exc.colno}"
