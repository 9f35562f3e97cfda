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
# Sources a user can open (not this project's issue numbers): the doc pages, the SDK's files.
_MIGRATION = "https://platform.claude.com/docs/en/api/migration-2026-10-21"
_BATCHES = "https://platform.claude.com/docs/en/build-with-claude/batch-processing"
_MESSAGES = "https://platform.claude.com/docs/en/api/messages/create"
_CACHING = "https://platform.claude.com/docs/en/build-with-claude/prompt-caching"
_MODELS_API = "https://platform.claude.com/docs/en/api/models/list"
_DEPRECATIONS = "https://platform.claude.com/docs/en/about-claude/model-deprecations"
_SDK_TYPES = "https://github.com/anthropics/anthropic-sdk-python/blob/main/src/anthropic/types/"

TABLE: tuple[Rule, ...] = (
    # source: issue #12 / migration guide for 2026-10-21
    Rule("sampling-removed", "temperature, top_p and top_k are rejected, even at default values",
         f"drop the key, {_NEW_ONLY}", _MIGRATION,
         since=API_VERSION_2026),
    # source: Messages API reference, POST /v1/messages (temperature, top_p: 0.0 to 1.0;
    # top_k: >= 0); issue #15
    Rule("sampling-range", "temperature and top_p are numbers from 0 to 1, top_k an integer >= 0",
         "use a value in range", _MESSAGES),
    # source: issue #12 (batch-processing guide: max_tokens 0 is rejected in batches)
    Rule("max-tokens-min", "max_tokens is at least 1", "set max_tokens to 1 or more",
         _BATCHES),
    # source: the Models API (ModelInfo.max_tokens: "Maximum value for the max_tokens parameter
    # when using this model"; types/model_info.py; BATCHES_API.md 12.3); issue #12
    Rule("max-tokens-limit", "max_tokens is at most the model's max_tokens (the "
         f"{OUTPUT_300K_BETA} beta raises it for some models, in batches only)",
         "lower max_tokens", f"{_MODELS_API}; {_SDK_TYPES}model_info.py"),
    # source: issue #15; the Models API lists every model the key can use, retired ones too
    Rule("model-known", "the model is in the catalogue: an unknown id is refused (a near-miss "
         "with \"did you mean\")", "fix the model id, or add {allow_unknown_model} if it is "
         "newer than the catalogue", _MODELS_API),
    # source: ModelInfo.lifecycle "retired": "inference requests naming it fail"
    # (types/model_info.py); "Requests to retired models will fail" (model-deprecations page)
    Rule("model-retired", "a retired model is refused", "use an active model (batchctl models "
         "lists them)", f"{_SDK_TYPES}model_info.py; {_DEPRECATIONS}"),
    # source: ModelInfo.lifecycle "deprecated" and retires_at (types/model_info.py)
    Rule("model-deprecated", "a deprecated model is sent, with a warning giving its retires_at",
         "move to an active model before it retires", f"{_SDK_TYPES}model_info.py",
         warns=True),
    # source: ModelCapabilities.batch, "Whether the model supports the Batch API"
    Rule("model-batch", "the model supports the Message Batches API", "use a model that does "
         "(batchctl models shows BATCH)", f"{_SDK_TYPES}model_capabilities.py"),
    # source: ThinkingTypes: "False exactly when a request that sends it gets a 400 from this
    # model" (types/thinking_types.py); Automattic/studio#4363
    Rule("thinking-type", "thinking.type is one the model takes", "use a thinking type the "
         "model takes (batchctl models shows THINKING)", f"{_SDK_TYPES}thinking_types.py"),
    # source: EffortCapability (types/effort_capability.py); anthropics/claude-code#30010
    Rule("effort-level", "output_config.effort is a level the model takes", "use a level the "
         "model takes, or drop output_config.effort", f"{_SDK_TYPES}effort_capability.py"),
    # source: ModelCapabilities.image_input and pdf_input; boto/boto3#4581
    Rule("media-input", "image blocks need a model with image input, PDF documents one with "
         "PDF input", "drop the block, or use a model that takes it",
         f"{_SDK_TYPES}model_capabilities.py"),
    # source: ModelCapabilities.structured_outputs ("structured output / JSON mode / strict tool
    # schemas", types/model_capabilities.py); output_config.format and Tool.strict (SDK 2.17
    # types/output_config_param.py, tool_param.py)
    Rule("structured-outputs", "output_config.format and strict tools need a model with "
         "structured outputs", "drop output_config.format / strict, or use a model that has them",
         f"{_SDK_TYPES}model_capabilities.py"),
    # source: BATCHES_API.md 12.4: a conversation ending in an assistant turn is refused on
    # 4.6+ models (migration guide, quoted in agno-agi/agno#7015, livekit/agents#4907). Not in
    # the Models API: kept here.
    Rule("prefill", "a conversation may not end in an assistant turn (prefill) on Claude 4.6 "
         "and later models", "end with a user turn (say in the system prompt how to begin)",
         "https://github.com/agno-agi/agno/issues/7015; "
         "https://github.com/livekit/agents/issues/4907"),
    # source: BATCHES_API.md 12.4: inference_geo only on Opus 4.6 and later (platform
    # data-residency page). Not in the Models API: kept here.
    Rule("inference-geo", "inference_geo is refused on models older than Claude 4.6",
         "drop inference_geo, or use Opus 4.6 or later",
         "https://platform.claude.com/docs/en/manage-claude/data-residency"),
    # source: batch-processing guide ("streaming is not supported"); BATCHES_API.md; issue #12
    Rule("stream", "stream: true is rejected in batches", "drop stream", _BATCHES),
    # source: issue #12 / batch-processing guide (fast mode is not offered in batches)
    Rule("speed", "speed is rejected in batches", "drop speed", _BATCHES),
    # source: anthropic-sdk-python#1118 (betas); arc-agi-benchmarking PR #89 (extra_body,
    # extra_headers): SDK call arguments written into params are "Extra inputs"
    Rule("create-call-keys", "betas, extra_body and extra_headers belong to the create call, not "
         "to a request: rejected as extra inputs", "drop the key",
         "https://github.com/anthropics/anthropic-sdk-python/issues/1118; "
         "https://github.com/arcprize/arc-agi-benchmarking/pull/89"),
    # source: Messages API reference (messages[].role, messages[].content); issue #15
    Rule("message", "each message is an object with role user or assistant and content a string "
         "or a list of blocks", "use role user or assistant (a system prompt goes in params.system)",
         _MESSAGES),
    # source: SDK types/content_block_param.py (ContentBlockParam, the blocks a message may hold);
    # issue #15
    Rule("block-type", "each content block's type is one the API knows: a near-miss of a known "
         "type is an error, another unknown type a warning", "fix the block type",
         f"{_SDK_TYPES}content_block_param.py"),
    # source: issue #12 / migration guide for 2026-10-21
    Rule("assistant-document", "a document block directly in an assistant message is rejected",
         f"move the document to a user message, {_NEW_ONLY}", _MIGRATION,
         since=API_VERSION_2026),
    # source: issue #12 / migration guide for 2026-10-21
    Rule("user-citations", "a non-empty citations array on a user text block (also inside "
         "search_result) is rejected", f"drop the citations, {_NEW_ONLY}", _MIGRATION,
         since=API_VERSION_2026),
    # source: prompt-caching docs ("up to 4 cache breakpoints"; a top-level cache_control uses
    # one slot); the API's words: Wei-Shaw/sub2api#176, tghamm/Anthropic.SDK#50; issue #20
    Rule("cache-markers-max", "at most 4 cache_control markers in a request, a top-level "
         "cache_control counting as one", "keep at most 4 markers: those at the end of the "
         "longest shared prefixes", f"{_CACHING}; https://github.com/Wei-Shaw/sub2api/issues/176"),
    # source: prompt-caching docs ("Mixing different TTLs": longer TTLs before shorter ones);
    # the API's words: cnighswonger/claude-code-cache-fix#44, headroomlabs-ai/headroom#2939
    Rule("cache-ttl-order", "a 1-hour cache_control marker may not come after a 5-minute one, in "
         "the order tools, system, messages (a top-level marker is on the last block)",
         'put the "ttl": "1h" markers before the 5-minute ones, or give them all one TTL',
         f"{_CACHING}; "
         "https://github.com/cnighswonger/claude-code-cache-fix/issues/44"),
    # source: prompt-caching docs ("Thinking blocks cannot be cached directly"; empty text
    # blocks cannot be cached); the API's words: Wei-Shaw/sub2api#225 (thinking),
    # anthropics/claude-code#54013 (empty text)
    Rule("cache-marker-block", "no cache_control on a thinking or redacted_thinking block, nor "
         "on an empty text block", "move the marker to the block before it, or drop it",
         f"{_CACHING}; https://github.com/Wei-Shaw/sub2api/issues/225; "
         "https://github.com/anthropics/claude-code/issues/54013"),
    # source: prompt-caching docs (minimum cacheable length: a shorter prefix is not cached, with
    # no error); the dated table core/caching/minimums.json; issue #20
    Rule("cache-prefix-min", "a cache_control marker whose prefix is under the model's minimum "
         "cacheable length caches nothing (a warning)", "mark a longer prefix, or drop the marker",
         f"{_CACHING}; batchctl/core/caching/minimums.json", warns=True),
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


_GENERATION = re.compile(r"claude-(?:[a-z]+-)?(\d+)(?:-(\d{1,2}))?(?:-|$)")


def generation(model_id: str) -> tuple[int, int] | None:
    """(major, minor) of a Claude model id (``claude-opus-4-6`` -> (4, 6), ``claude-sonnet-5``
    -> (5, 0), ``claude-3-5-haiku-20241022`` -> (3, 5)); the Mythos and Fable lines came after
    4.6 (``claude-mythos-preview`` -> (5, 0)); None for an id of another form."""
    if model_id.startswith(("claude-mythos-", "claude-fable-")) and not _GENERATION.match(model_id):
        return (5, 0)
    found = _GENERATION.match(model_id)
    if found is None:
        return None
    minor = found.group(2)
    return int(found.group(1)), int(minor) if minor and len(minor) <= 2 else 0


def refuses_prefill(model_id: str) -> bool:
    """Rule prefill: Claude 4.6 and later refuse a final assistant turn."""
    found = generation(model_id)
    return found is not None and found >= (4, 6)


def refuses_inference_geo(model_id: str) -> bool:
    """Rule inference-geo: refused on models before 4.6 (the page names Opus 4.6 and later;
    later models of the other lines are not refused, as no source says they are)."""
    found = generation(model_id)
    return found is not None and found < (4, 6)
