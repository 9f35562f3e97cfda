"""A request checked against its model, before anything is sent: what the catalogue says of the
model (the Models API's ModelInfo, cached, fetched or packaged: batchctl.core.catalog.models),
and the per-model facts the Models API does not publish (core/requests/ruletable.py).

The API refuses these per request at the end of the batch (``invalid_request_error``, or
``not_found_error`` for a model that does not exist or has retired), up to a day later. Rule ids
are those of the table; each refusal names the catalogue it was read from.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from batchctl.core.catalog.models import Catalogue, line_of, supported
from batchctl.core.flags import KEYS, Flags
from batchctl.core.requests.ruletable import refuses_inference_geo, refuses_prefill
from batchctl.core.requests.violation import Violation

#: ``thinking.type`` values (types/thinking_config_param.py) and ``output_config.effort`` levels
#: (types/output_config_param.py).
THINKING_TYPES = ("adaptive", "between_tools", "disabled", "enabled")
EFFORT_LEVELS = ("low", "medium", "high", "xhigh", "max")


def _day(value: Any) -> str:
    return value[:10] if isinstance(value, str) else "an unknown date"


class ModelCheck:
    """One model's checks, worked out once per model and file: ``first`` holds what is said of
    the model itself (unknown, retired, deprecated, no batch support), ``limit`` its ceiling."""

    def __init__(self, model: str, catalogue: Catalogue, betas: frozenset[str], *,
                 allow_unknown: bool, flags: Flags = KEYS) -> None:
        self.flags = flags
        self.model = model
        self.catalogue = catalogue
        self.source = catalogue.describe()
        self.first: list[Violation] = []
        self.limit: int | None = None
        self.caps: Mapping[str, Any] | None = None
        self.raisers: dict[str, int] = {}
        info = catalogue.find(model)
        self.id = str(info["id"]) if info else model
        # Worked out once: check() runs for every request.
        self.no_prefill = refuses_prefill(self.id)
        self.no_geo = refuses_inference_geo(self.id)
        self.images = self.pdfs = self.structured = True
        if info is None:
            self._unknown(allow_unknown)
            return
        if self._lifecycle(info):
            return
        caps = info.get("capabilities")
        self.caps = caps if isinstance(caps, Mapping) else None
        self.images = supported(self.caps, "image_input")
        self.pdfs = supported(self.caps, "pdf_input")
        self.structured = supported(self.caps, "structured_outputs")
        if not supported(self.caps, "batch"):
            self.first.append(self._says("model-batch", "model", f"{model} does not support the "
                                         "Message Batches API (capabilities.batch)"))
            return
        self.limit = catalogue.limit(info, betas)
        self.raisers = {b: v for b, v in catalogue.raisers(info).items() if b not in betas}

    @property
    def refused(self) -> bool:
        """The model itself is refused: nothing more to check."""
        return any(not v.warning for v in self.first)

    def _says(self, rule: str, field: str, message: str, **kw: Any) -> Violation:
        return Violation(rule, field, message, source=self.source, **kw)

    def _unknown(self, allow: bool) -> None:
        close = self.catalogue.near_miss(self.model)
        if not allow:
            guess = f" (did you mean {_show(close)}?)" if close else ""
            self.first.append(self._says("model-known", "model",
                                         f"unknown model {_show(self.model)}{guess}"))
        else:
            self.first.append(self._says(
                "model-known", "model", f"{_show(self.model)} is not in {self.source}: sent "
                f"unchecked ({self.flags['allow_unknown_model']}); the API answers not_found_error "
                "for a model that does not exist", warning=True))

    def _lifecycle(self, info: Mapping[str, Any]) -> bool:
        """Said of a retired (True: nothing more to check) or deprecated model."""
        stage = info.get("lifecycle")
        if stage == "retired":
            instead = self.catalogue.successor(info)
            use = (f"use {instead}, an active {line_of(info) or 'model'} model (batchctl models "
                   "lists the active models)") if instead else ""
            self.first.append(self._says(
                "model-retired", "model", f"{self.model} was retired on "
                f"{_day(info.get('retires_at'))}: requests naming it fail", fix=use))
            return True
        if stage == "deprecated":
            when = _day(info.get("retires_at"))
            instead = self.catalogue.successor(info)
            self.first.append(self._says(
                "model-deprecated", "model", f"{self.model} is deprecated and retires on {when}, "
                "after which requests naming it fail" + (f"; {instead} is active" if instead else ""),
                warning=True))
        return False

    # -- per request ----------------------------------------------------------------------------
    def check(self, params: Mapping[str, Any], out: list[Violation]) -> None:
        """What ``params`` asks of the model that it does not take (the model found)."""
        if self.caps is not None:
            if "thinking" in params:
                self._thinking(params["thinking"], out)
            config = params.get("output_config")
            if type(config) is dict:
                self._output_config(config, out)
            if not self.structured and type(params.get("tools")) is list:
                self._strict_tools(params["tools"], out)
            if not (self.images and self.pdfs):
                self._media(params["messages"], out)
        if self.no_geo and params.get("inference_geo") is not None:
            out.append(Violation("inference-geo", "inference_geo",
                                 f"inference_geo is not supported for {self.model}"))
        messages = params["messages"]
        last = messages[-1] if messages else None
        if self.no_prefill and type(last) is dict and last.get("role") == "assistant":
            out.append(Violation("prefill", f"messages.{len(messages) - 1}", f"{self.model} does "
                                 "not support prefilling the assistant turn: the conversation "
                                 "must end with a user message"))

    def _thinking(self, thinking: Any, out: list[Violation]) -> None:
        # The API's words for enabled on Opus 5 (Automattic/studio#4363).
        kind = thinking.get("type") if isinstance(thinking, Mapping) else None
        if kind not in THINKING_TYPES or supported(self.caps, "thinking", "types", kind):
            return
        said = _entry(self.caps, "thinking", "types")
        taken = [t for t in THINKING_TYPES if t in said and supported(said, t)]
        message = f'"thinking.type.{kind}" is not supported for this model'
        if kind == "enabled" and "adaptive" in taken:
            message += ('. Use "thinking.type.adaptive" and "output_config.effort" to control '
                        "thinking behavior")
        out.append(self._says("thinking-type", "thinking.type",
                              f"{message} ({self.model} takes: {', '.join(taken) or 'none'})"))

    def _output_config(self, config: Mapping[str, Any], out: list[Violation]) -> None:
        effort = config.get("effort")
        if isinstance(effort, str) and effort in EFFORT_LEVELS and not self._level(effort):
            taken = [e for e in EFFORT_LEVELS if self._level(e)]
            says = (f'"{effort}" is not supported for {self.model}'
                    + (f" (it takes: {', '.join(taken)})" if taken
                       else ": it does not support the effort parameter"))
            out.append(self._says("effort-level", "output_config.effort", says))
        if not self.structured and config.get("format") is not None:
            out.append(self._says("structured-outputs", "output_config.format",
                                  f"structured outputs are not supported for {self.model}"))

    def _level(self, level: str) -> bool:
        if not supported(self.caps, "effort"):
            return False
        effort = self.caps.get("effort") if self.caps is not None else None
        if isinstance(effort, Mapping) and level == "xhigh" and level not in effort:
            return False  # EffortCapability.xhigh is optional: left out, not taken
        return supported(effort, level)

    def _strict_tools(self, tools: list, out: list[Violation]) -> None:
        for index, tool in enumerate(tools):
            if type(tool) is dict and tool.get("strict") is True:
                out.append(self._says("structured-outputs", f"tools.{index}.strict",
                                      "strict tool schemas (structured outputs) are not "
                                      f"supported for {self.model}"))

    def _media(self, messages: list, out: list[Violation]) -> None:
        images, pdfs = self.images, self.pdfs
        for m, message in enumerate(messages):
            content = message.get("content") if type(message) is dict else None
            for b, block in enumerate(content if type(content) is list else ()):
                inner = block.get("content") if type(block) is dict else None
                nested = [(f".content.{k}", x) for k, x in enumerate(inner)] \
                    if type(inner) is list and block.get("type") == "tool_result" else []
                for where, item in [("", block), *nested]:
                    kind = item.get("type") if type(item) is dict else None
                    field = f"messages.{m}.content.{b}{where}"
                    if kind == "image" and not images:
                        out.append(self._says("media-input", field,
                                              f"{self.model} does not support images"))
                    elif kind == "document" and not pdfs and _is_pdf(item.get("source")):
                        out.append(self._says("media-input", field,
                                              f"{self.model} does not support PDFs"))


def _entry(caps: Any, *path: str) -> Mapping[str, Any]:
    """``caps[path...]``, or {} where it is not an object."""
    for key in path:
        caps = caps.get(key) if isinstance(caps, Mapping) else None
    return caps if isinstance(caps, Mapping) else {}


def _is_pdf(source: Any) -> bool:
    """A base64 ``application/pdf`` or URL source (types/base64_pdf_source_param.py,
    url_pdf_source_param.py); text and content sources are not PDFs."""
    if type(source) is not dict:
        return False
    kind = source.get("type")
    return kind == "url" or (kind == "base64" and source.get("media_type") == "application/pdf")


def _show(value: Any) -> str:
    """``value`` as JSON, cut to 60 characters."""
    try:
        text = orjson.dumps(value).decode()
    except TypeError:
        text = type(value).__name__
    return text if len(text) <= 60 else text[:57] + "..."
