"""What a request may ask of its model: the emulator's reading of the Models API's account of each
model (BATCHES_API.md 12.3, 12.4; anthropic 2.17.0 ``types/model_info.py``,
``types/model_capabilities.py`` and the ``*_capability.py`` files beside it).

A model the catalogue does not have, or a retired one, is answered as the API answers a model
that does not exist: ``not_found_error`` "model: ID" (a retired model: spring-projects/spring-ai
#2387, "model: claude-2.1"; an unknown one: continuedev/continue#11925; "Requests to retired models
will fail", model-deprecations page). Then, each read from the model's ModelInfo: batch support,
``max_tokens`` (raised in batches by the betas of the catalogue's ``batch_output_betas``), the
``thinking.type``, the ``output_config.effort`` level, structured outputs, image and PDF input.
A capability the ModelInfo leaves out (or a model the emulator answers with ``any_model``) is not
checked.
"""

from __future__ import annotations

from typing import Any

from batchctl.emulator.catalog import Catalog

#: The ``thinking.type`` values (types/thinking_config_param.py; types/thinking_types.py).
THINKING_TYPES = ("adaptive", "between_tools", "disabled", "enabled")


class NotFound(str):
    """A problem the API answers with not_found_error rather than invalid_request_error."""


def _supported(capabilities: dict[str, Any], *path: str) -> bool:
    """``capabilities[path...].supported``; True where the ModelInfo does not say (not checked).

    "Read each key on its own" (types/thinking_types.py): a missing key is no refusal."""
    entry: Any = capabilities
    for key in path:
        if not isinstance(entry, dict):
            return True
        entry = entry.get(key)
    if not isinstance(entry, dict):
        return True
    return entry.get("supported") is not False


class ModelProfile:
    """One model's answers for the checks, computed once per model and create call."""

    def __init__(self, model: str, info: dict[str, Any] | None, catalog: Catalog,
                 betas: frozenset[str], *, any_model: bool, batch: bool) -> None:
        self.model = model
        self.problem: str | None = None
        self.limit: int | None = None
        self.caps: dict[str, Any] = {}
        if info is None:
            if not any_model:
                self.problem = NotFound(f"model: {model}")
            return
        if info["lifecycle"] == "retired":
            self.problem = NotFound(f"model: {model}")
            return
        self.caps = info.get("capabilities") or {}
        if batch and not _supported(self.caps, "batch"):
            # capabilities.batch: "Whether the model supports the Batch API" (the wording of
            # the refusal is the emulator's).
            self.problem = f"model: {model} does not support the Message Batches API"
            return
        limit = info.get("max_tokens")
        raised = catalog.max_tokens_with(info["id"], betas) if batch else None
        self.limit = max(limit, raised) if limit is not None and raised is not None else limit

    def max_tokens(self, max_tokens: int) -> str | None:
        """The API's wording: "max_tokens: 200000 > 128000, which is the maximum allowed number of
        output tokens for claude-opus-4-6" (issue #12; ModelInfo.max_tokens, "Maximum value for
        the max_tokens parameter when using this model")."""
        if self.limit is None or max_tokens <= self.limit:
            return None
        return (f"max_tokens: {max_tokens} > {self.limit}, which is the maximum allowed number of "
                f"output tokens for {self.model}")

    def thinking(self, thinking: Any) -> str | None:
        """``thinking.type`` the model does not take (capabilities.thinking.types: "False exactly
        when a request that sends it gets a 400 from this model"). The API's words for
        ``enabled`` on Opus 5: '"thinking.type.enabled" is not supported for this model. Use
        "thinking.type.adaptive" and "output_config.effort" to control thinking behavior.'
        (Automattic/studio#4363); the other types are worded the same way."""
        kind = thinking.get("type") if isinstance(thinking, dict) else None
        if kind not in THINKING_TYPES or _supported(self.caps, "thinking", "types", kind):
            return None
        message = f'"thinking.type.{kind}" is not supported for this model.'
        if kind == "enabled" and _supported(self.caps, "thinking", "types", "adaptive"):
            message += (' Use "thinking.type.adaptive" and "output_config.effort" to control '
                        "thinking behavior.")
        return message

    def output_config(self, config: Any) -> str | None:
        """``output_config.effort`` (types/output_config_param.py: low, medium, high, xhigh, max)
        and ``output_config.format`` (structured outputs). A model without effort: "This model
        does not support the effort parameter." (anthropics/claude-code#30010); a level it lacks
        (capabilities.effort.LEVEL) and structured outputs where unsupported
        (capabilities.structured_outputs) in the emulator's words."""
        if not isinstance(config, dict):
            return None
        effort = config.get("effort")
        if isinstance(effort, str):
            if not _supported(self.caps, "effort"):
                return "This model does not support the effort parameter."
            if effort in ("low", "medium", "high", "xhigh", "max") and not self._level(effort):
                return f'output_config.effort: "{effort}" is not supported for this model.'
        if config.get("format") is not None and not _supported(self.caps, "structured_outputs"):
            return "output_config.format: structured outputs are not supported for this model."
        return None

    def _level(self, level: str) -> bool:
        effort = self.caps.get("effort")
        if not isinstance(effort, dict) or level not in effort:
            return level != "xhigh"  # EffortCapability.xhigh is optional: absent, not taken
        return _supported(effort, level)

    def tools(self, tools: Any) -> str | None:
        """A tool with ``strict: true`` (types/tool_param.py) is a structured output:
        capabilities.structured_outputs covers "structured output / JSON mode / strict tool
        schemas" (types/model_capabilities.py). The wording is the emulator's."""
        if not isinstance(tools, list) or _supported(self.caps, "structured_outputs"):
            return None
        for index, tool in enumerate(tools):
            if isinstance(tool, dict) and tool.get("strict") is True:
                return (f"tools.{index}.strict: strict tool schemas (structured outputs) are not "
                        "supported for this model.")
        return None

    def block(self, block: dict[str, Any], where: str) -> str | None:
        """An image block without ``image_input``, a PDF document without ``pdf_input``
        ("claude-3-5-haiku-20241022 does not support PDFs.", boto/boto3#4581; the image wording
        is the emulator's). A document is a PDF when its source is base64 ``application/pdf`` or
        a URL (types/base64_pdf_source_param.py, url_pdf_source_param.py); text and content
        sources are not."""
        kind = block.get("type")
        if kind == "image" and not _supported(self.caps, "image_input"):
            return f"{where}: {self.model} does not support images."
        if kind == "document" and _is_pdf(block.get("source")) and not _supported(
                self.caps, "pdf_input"):
            return f"{where}: {self.model} does not support PDFs."
        return None


def _is_pdf(source: Any) -> bool:
    if not isinstance(source, dict):
        return False
    kind = source.get("type")
    return kind == "url" or (kind == "base64" and source.get("media_type") == "application/pdf")


def profile_for(cache: dict[str, ModelProfile], model: str, catalog: Catalog, betas: frozenset[str],
                *, any_model: bool, batch: bool) -> ModelProfile:
    """``model``'s profile, from ``cache`` (one per create call) when already made."""
    found = cache.get(model)
    if found is None:
        found = cache[model] = ModelProfile(model, catalog.find(model), catalog, betas,
                                            any_model=any_model, batch=batch)
    return found
