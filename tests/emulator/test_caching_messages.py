"""The prompt cache of single messages (``POST /v1/messages`` writes and reads, in a pool apart
from the batches'), and the markers the API refuses: a 400 there, an errored result in a batch."""

from __future__ import annotations

from typing import Any

import pytest

from tests.emulator.test_caching import DOC, FIVE, HAIKU, HOUR, PREFIX, SONNET, ask, reads, run
from tests.support.failures import failure


def send(emulator: Any, line: dict[str, Any]) -> Any:
    with emulator.client() as client:
        return client.messages.create(**line["params"]).usage


def test_a_single_message_writes_and_the_next_one_reads(emulator):
    first = send(emulator, ask(0))
    assert (first.cache_creation_input_tokens, first.cache_read_input_tokens) == (PREFIX, 0)
    assert first.cache_creation.ephemeral_1h_input_tokens == PREFIX
    second = send(emulator, ask(1))
    assert (second.cache_creation_input_tokens, second.cache_read_input_tokens) == (0, PREFIX)
    assert second.input_tokens == first.input_tokens and second.service_tier == "standard"
    assert send(emulator, ask(1, model=SONNET)).cache_read_input_tokens == 0  # per model
    plain = send(emulator, ask(2, marker=None))
    assert plain.cache_creation is None and plain.input_tokens == PREFIX + first.input_tokens


def test_a_five_minute_entry_of_single_messages_expires(emulator):
    send(emulator, ask(0, marker=FIVE))
    emulator.clock.advance(4 * 60)
    assert send(emulator, ask(1, marker=FIVE)).cache_read_input_tokens == PREFIX
    emulator.clock.advance(4 * 60)  # 8 minutes after the write, 4 after the read
    assert send(emulator, ask(2, marker=FIVE)).cache_read_input_tokens == PREFIX
    emulator.clock.advance(6 * 60)
    assert send(emulator, ask(3, marker=FIVE)).cache_read_input_tokens == 0


def test_batches_and_single_messages_do_not_read_each_others_entries(emulator):
    """anthropics/skills#1475: a prefix a Messages call wrote was read as 0 tokens by a batch."""
    send(emulator, ask(0))
    emulator.clock.advance(1)
    assert reads(run(emulator, [ask(i) for i in range(1, 4)])) == 0
    assert reads(run(emulator, [ask(i) for i in range(4, 8)])) >= 3  # batches read batches'
    assert send(emulator, ask(9, doc=DOC + "?")).cache_read_input_tokens == 0
    run(emulator, [ask(10, doc=DOC + "!")])
    assert send(emulator, ask(11, doc=DOC + "!")).cache_read_input_tokens == 0


def marked(count: int, *ttls: str) -> list[dict[str, Any]]:
    return [{"type": "text", "text": f"part {i}",
             "cache_control": {"type": "ephemeral", "ttl": ttls[i]} if ttls else FIVE}
            for i in range(count)]


ORDER = ("a ttl='1h' cache_control block must not come after a ttl='5m' cache_control block. "
         "Note that blocks are processed in the following order: `tools`, `system`, `messages`.")
THINKING = {"type": "thinking", "thinking": "Hmm.", "signature": "sig", "cache_control": FIVE}
REFUSED = [
    ({"system": marked(5)}, "A maximum of 4 blocks with cache_control may be provided. Found 5."),
    ({"system": marked(4), "cache_control": FIVE},
     "A maximum of 4 blocks with cache_control may be provided. Found 5."),
    ({"system": marked(3, "1h", "5m", "1h")}, f"system.2.cache_control.ttl: {ORDER}"),
    ({"system": marked(1), "cache_control": HOUR}, f"cache_control.ttl: {ORDER}"),
    ({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": [THINKING]},
                   {"role": "user", "content": "go on"}]},
     "messages.1.content.0.thinking.cache_control: Extra inputs are not permitted"),
    ({"messages": [{"role": "user", "content": [{"type": "text", "text": "", "cache_control": FIVE},
                                                {"type": "text", "text": "hi"}]}]},
     "messages.0.content.0.text: cache_control cannot be set for empty text blocks"),
    ({"messages": [{"role": "user", "content": [{"type": "text", "text": "hi", "cache_control": HOUR}]}],
      "cache_control": FIVE},
     "cache_control: the top-level cache_control (ttl 5m) goes on the last block that takes one, "
     "messages.0.content.0, which already has one with ttl 1h"),
    ({"system": [{"type": "text", "text": "x", "cache_control": {"type": "ephemeral", "ttl": "2h"}}]},
     "system.0.cache_control.ttl: Input should be '5m' or '1h'"),
]


@pytest.mark.parametrize(("params", "says"), REFUSED)
def test_what_the_api_refuses_of_markers_is_a_400(client, params, says):
    body = {"model": HAIKU, "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}], **params}
    refused = failure(lambda: client.messages.create(**body))
    assert refused.status_code == 400
    assert refused.body["error"] == {"type": "invalid_request_error", "message": says}


def test_in_a_batch_they_end_errored_and_the_rest_succeeds(emulator):
    lines = [{"custom_id": f"r{i}", "params": {"model": HAIKU, "max_tokens": 16,
                                               "messages": [{"role": "user", "content": "hi"}], **p}}
             for i, (p, _) in enumerate(REFUSED)]
    lines.append(ask(99, cache_control=FIVE))  # automatic caching beside a marker: 2 of 4
    with emulator.client() as client:
        batch = client.messages.batches.create(requests=lines)
        emulator.clock.advance(61)
        results = {r.custom_id: r.result for r in client.messages.batches.results(batch.id)}
    for i, (_, says) in enumerate(REFUSED):
        assert results[f"r{i}"].type == "errored"
        assert results[f"r{i}"].error.error.message == says
    assert results["q99"].type == "succeeded"
    assert results["q99"].message.usage.cache_creation_input_tokens > PREFIX  # up to the last block
