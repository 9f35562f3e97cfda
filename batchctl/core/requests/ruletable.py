"""The table of rules a request in a batch must follow, per anthropic-version (the data; the
checking code is core/requests/rules.py).

Each rule has an id, the first API version it applies to, a one-line summary (listed by
``submit --dry-run``), the hint that fixes it, and its source.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from batchctl.core.flags import Flags

OLD_API_VERSION = "2023-06-01"
API_VERSION_2026 = "2026-10-21"
#: What the SDK (2.x) sends: batchctl.core.api.sdk_private.sdk_api_version (a test checks).
DEFAULT_API_VERSION = API_VERSION_2026
OUTPUT_300K_BETA = "output-300k-2026-03-24"
_VERSION = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class Rule:
    id: str
    summary: str
    hint: str
    source: str
    since: str = OLD_API_VERSION  # the first anthropic-version it applies to
    warns: bool = False  # only ever a warning: nothing is refused


# A hint names an option by its key in braces ({api_version}, {allow_unknown_model}, {betas},
# {lift_betas}): ``worded`` puts in the caller's name for it (the CLI: --api-version...).
OPTIONS = ("api_version", "allow_unknown_model", "betas", "lift_betas")
_NEW_ONLY = "or use {api_version} " + OLD_API_VERSION

TABLE: tuple[Rule, ...] = (
    # source: issue #12 / migration guide for 2026-10-21
    Rule("sampling-removed", "temperature, top_p and top_k are rejected, even at default values",
         f"drop the key, {_NEW_ONLY}", "issue #12 / migration guide for 2026-10-21",
         since=API_VERSION_2026),
    # source: Messages API reference, POST /v1/messages (temperature, top_p: 0.0 to 1.0;
    # top_k: >= 0); issue #15
    Rule("sampling-range", "temperature and top_p are numbers from 0 to 1, top_k an integer >= 0",
         "use a value in range", "Messages API reference (create a message); issue #15"),
    # source: issue #12 (batch-processing guide: max_tokens 0 is rejected in batches)
    Rule("max-tokens-min", "max_tokens is at least 1", "set max_tokens to 1 or more",
         "issue #12 / batch-processing guide"),
    # source: issue #12; models overview (the dated table in core/catalog/models.json)
    Rule("max-tokens-limit", "max_tokens is at most the model's output limit (the "
         f"{OUTPUT_300K_BETA} beta raises it for some models, in batches only)",
         "lower max_tokens", "issue #12; models overview (core/catalog/models.json)"),
    # source: issue #15; models overview
    Rule("model-known", "the model is in the dated model table: a near-miss of a known id is an "
         "error, another unknown id a warning", "fix the model id, or add {allow_unknown_model} if "
         "it is newer than the model table", "issue #15; models overview (core/catalog/models.json)"),
    # source: batch-processing guide ("streaming is not supported"); BATCHES_API.md; issue #12
    Rule("stream", "stream: true is rejected in batches", "drop stream",
         "issue #12 / batch-processing guide"),
    # source: issue #12 / batch-processing guide (fast mode is not offered in batches)
    Rule("speed", "speed is rejected in batches", "drop speed", "issue #12 / batch-processing guide"),
    # source: anthropic-sdk-python#1118 (betas); arc-agi-benchmarking PR #89 (extra_body,
    # extra_headers): SDK call arguments written into params are "Extra inputs"
    Rule("create-call-keys", "betas, extra_body and extra_headers belong to the create call, not "
         "to a request: rejected as extra inputs", "drop the key",
         "anthropic-sdk-python#1118; arc-agi-benchmarking PR #89; issue #12"),
    # source: Messages API reference (messages[].role, messages[].content); issue #15
    Rule("message", "each message is an object with role user or assistant and content a string "
         "or a list of blocks", "use role user or assistant (a system prompt goes in params.system)",
         "Messages API reference (create a message); issue #15"),
    # source: SDK types/content_block_param.py (ContentBlockParam, the blocks a message may hold);
    # issue #15
    Rule("block-type", "each content block's type is one the API knows: a near-miss of a known "
         "type is an error, another unknown type a warning", "fix the block type",
         "anthropic SDK types/content_block_param.py; issue #15"),
    # source: issue #12 / migration guide for 2026-10-21
    Rule("assistant-document", "a document block directly in an assistant message is rejected",
         f"move the document to a user message, {_NEW_ONLY}",
         "issue #12 / migration guide for 2026-10-21", since=API_VERSION_2026),
    # source: issue #12 / migration guide for 2026-10-21
    Rule("user-citations", "a non-empty citations array on a user text block (also inside "
         "search_result) is rejected", f"drop the citations, {_NEW_ONLY}",
         "issue #12 / migration guide for 2026-10-21", since=API_VERSION_2026),
    # source: prompt-caching docs ("up to 4 cache breakpoints"; a top-level cache_control uses
    # one slot); the API's words: Wei-Shaw/sub2api#176, tghamm/Anthropic.SDK#50; issue #20
    Rule("cache-markers-max", "at most 4 cache_control markers in a request, a top-level "
         "cache_control counting as one", "keep at most 4 markers: those at the end of the "
         "longest shared prefixes", "prompt-caching docs; Wei-Shaw/sub2api#176; issue #20"),
    # source: prompt-caching docs ("Mixing different TTLs": longer TTLs before shorter ones);
    # the API's words: cnighswonger/claude-code-cache-fix#44, headroomlabs-ai/headroom#2939
    Rule("cache-ttl-order", "a 1-hour cache_control marker may not come after a 5-minute one, in "
         "the order tools, system, messages (a top-level marker is on the last block)",
         'put the "ttl": "1h" markers before the 5-minute ones, or give them all one TTL',
         "prompt-caching docs; cnighswonger/claude-code-cache-fix#44; issue #20"),
    # source: prompt-caching docs ("Thinking blocks cannot be cached directly"; empty text
    # blocks cannot be cached); the API's words: Wei-Shaw/sub2api#225 (thinking),
    # anthropics/claude-code#54013 (empty text)
    Rule("cache-marker-block", "no cache_control on a thinking or redacted_thinking block, nor "
         "on an empty text block", "move the marker to the block before it, or drop it",
         "prompt-caching docs; Wei-Shaw/sub2api#225; anthropics/claude-code#54013; issue #20"),
    # source: prompt-caching docs (minimum cacheable length: a shorter prefix is not cached, with
    # no error); the dated table core/caching/minimums.json; issue #20
    Rule("cache-prefix-min", "a cache_control marker whose prefix is under the model's minimum "
         "cacheable length caches nothing (a warning)", "mark a longer prefix, or drop the marker",
         "prompt-caching docs; core/caching/minimums.json; issue #20", warns=True),
)
RULES = {rule.id: rule for rule in TABLE}

#: The block types a message may hold (anthropic SDK types/content_block_param.py, and the beta
#: ones of types/beta/beta_content_block_param.py).
BLOCK_TYPES = frozenset((
    "text", "image", "document", "search_result", "thinking", "redacted_thinking", "tool_use",
    "tool_result", "server_tool_use", "web_search_tool_result", "web_fetch_tool_result",
    "code_execution_tool_result", "bash_code_execution_tool_result",
    "text_editor_code_execution_tool_result", "tool_search_tool_result", "container_upload",
    "mcp_tool_use", "mcp_tool_result",
))
#: The fix for each SDK call argument written into params (rule create-call-keys).
CREATE_CALL_HINTS = {
    "betas": "move it to {betas} NAME, or add {lift_betas} to send it in the anthropic-beta header",
    "extra_body": "merge its keys into params",
    "extra_headers": "drop it: headers go on the create call ({betas} for anthropic-beta)",
}


def check_api_version(value: str, option: str = "api_version") -> str:
    """``value`` if it looks like an anthropic-version (YYYY-MM-DD), else ValueError naming
    ``option`` (how the caller names the option that gave it)."""
    if not _VERSION.fullmatch(value or ""):
        raise ValueError(f"{option} {value!r}: expected a date such as {OLD_API_VERSION} "
                         f"or {API_VERSION_2026}")
    return value


_OPTION = re.compile(r"\{(" + "|".join(OPTIONS) + r")\}")


def worded(hint: str, flags: Flags) -> str:
    """A hint with each option it names (``{api_version}``...) as ``flags`` names it."""
    return _OPTION.sub(lambda m: flags[m.group(1)], hint)


def active_rules(api_version: str) -> list[Rule]:
    """The rules that apply under ``api_version``, in table order."""
    return [rule for rule in TABLE if rule.since <= api_version]
