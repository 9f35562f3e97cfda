"""The emulator's prompt cache in batches (emulator.cachesim), through the real SDK over HTTP on
a fake clock: who reads a marked prefix and who writes it, what usage says, and that the results
follow from timestamps and the seed alone."""

from __future__ import annotations

import hashlib
from typing import Any

from tests.support.caching import EPH, HAIKU, HOUR, SONNET
from tests.support.files import request

# HAIKU: minimum cacheable length 4,096; SONNET: 1,024 (catalog.json cache_minimums)
DOC = "The shared document says one more thing here. " * 470  # 21,620 chars
PREFIX = 5405  # its tokens (characters / 4, rounded up)
FIVE = EPH  # the default 5-minute marker


def ask(i: int, *, marker: dict | None = HOUR, doc: str = DOC, model: str = HAIKU,
        **params: Any) -> dict[str, Any]:
    """Question ``i`` about ``doc``, which is a system block with ``marker`` on it."""
    block: dict[str, Any] = {"type": "text", "text": doc}
    if marker is not None:
        block["cache_control"] = marker
    return request(f"q{i}", f"Question {i}: what does it say?", model=model, max_tokens=64,
                   system=[block], **params)


def run(emulator: Any, requests: list[dict[str, Any]], wait: float = 61) -> dict[str, Any]:
    """One batch of ``requests``, ended (the fake clock moved on), its usage by custom_id."""
    with emulator.client() as client:
        batch = client.messages.batches.create(requests=requests)
        emulator.clock.advance(wait)
        return {r.custom_id: r.result.message.usage for r in client.messages.batches.results(batch.id)}


def reads(usage: dict[str, Any]) -> int:
    return sum(1 for u in usage.values() if u.cache_read_input_tokens)


def count(emulator: Any, params: dict[str, Any]) -> int:
    with emulator.client() as client:
        keep = ("model", "system", "messages", "tools")
        return client.messages.count_tokens(**{k: v for k, v in params.items() if k in keep}).input_tokens


def test_a_warm_up_batch_is_read_by_the_batch_after_it(emulator):
    [warm] = run(emulator, [ask(0)]).values()
    prefix = PREFIX
    assert (warm.cache_creation_input_tokens, warm.cache_read_input_tokens) == (prefix, 0)
    assert warm.cache_creation.ephemeral_1h_input_tokens == prefix
    assert warm.cache_creation.ephemeral_5m_input_tokens == 0
    rest = run(emulator, [ask(i) for i in range(1, 61)])
    assert reads(rest) >= 0.9 * 60  # the docs' warm-up: "at least 90%" (default 98% best effort)
    hit = next(u for u in rest.values() if u.cache_read_input_tokens)
    assert (hit.cache_read_input_tokens, hit.cache_creation_input_tokens) == (prefix, 0)
    params = ask(7)["params"]
    total = count(emulator, params)
    assert hit.input_tokens == total - prefix > 0  # only what follows the marker
    for u in rest.values():
        assert u.input_tokens + u.cache_read_input_tokens + u.cache_creation_input_tokens == total


def test_one_batch_without_a_warm_up_mostly_writes(make_emulator):
    usage = run(make_emulator(), [ask(i) for i in range(60)])
    written = sum(1 for u in usage.values() if u.cache_creation_input_tokens)
    assert written + reads(usage) == 60
    assert 0 < reads(usage) < written  # processed together: most miss each other's writes
    again = run(make_emulator(), [ask(i) for i in range(60)])  # same seed, same calls
    assert {k: u.model_dump() for k, u in again.items()} == {k: u.model_dump() for k, u in usage.items()}
    other = run(make_emulator(seed=7), [ask(i) for i in range(60)])
    assert {k: u.cache_read_input_tokens for k, u in other.items()} != \
        {k: u.cache_read_input_tokens for k, u in usage.items()}


def test_a_batch_processed_at_once_writes_in_every_request(make_emulator):
    emulator = make_emulator(processing_seconds=0)
    usage = run(emulator, [ask(i) for i in range(10)], wait=0)
    assert reads(usage) == 0 and all(u.cache_creation_input_tokens for u in usage.values())
    assert reads(run(emulator, [ask(i) for i in range(10, 20)], wait=0)) >= 9  # that one ended


def test_the_hit_rate_option_sets_the_best_effort_rate(make_emulator):
    for rate, expected in ((0.0, 0), (1.0, 30)):
        emulator = make_emulator(cache_hit_rate=rate)
        run(emulator, [ask(0)])
        assert reads(run(emulator, [ask(i) for i in range(1, 31)])) == expected


def test_an_entry_lives_for_its_ttl_from_its_last_use(emulator):
    run(emulator, [ask(0, marker=FIVE), ask(100, marker=HOUR, doc=DOC + "!")])
    emulator.clock.advance(2 * 60)  # each batch takes 61 s: requests 2 to 4 minutes apart
    usage = run(emulator, [ask(1, marker=FIVE), ask(101, marker=HOUR, doc=DOC + "!")])
    assert reads(usage) == 2  # within 5 minutes: both read
    emulator.clock.advance(2 * 60)  # over 5 minutes after q0, under 5 minutes after q1
    assert reads(run(emulator, [ask(2, marker=FIVE)])) == 1  # q1's read refreshed the entry
    emulator.clock.advance(10 * 60)
    usage = run(emulator, [ask(3, marker=FIVE), ask(102, marker=HOUR, doc=DOC + "!")])
    assert usage["q3"].cache_read_input_tokens == 0  # 5 minutes gone by: written again
    assert usage["q3"].cache_creation.ephemeral_5m_input_tokens > 0
    assert usage["q102"].cache_read_input_tokens > 0  # the hour has not


def test_two_markers_split_the_writes_by_ttl(emulator):
    tool = {"name": "lookup", "description": "Looks a passage up. " * 300,
            "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}},
            "cache_control": HOUR}
    params = ask(0, marker=FIVE, model=SONNET, tools=[tool])["params"]
    [first] = run(emulator, [ask(0, marker=FIVE, model=SONNET, tools=[tool])]).values()
    split = first.cache_creation
    hour, five = split.ephemeral_1h_input_tokens, split.ephemeral_5m_input_tokens
    assert hour >= 1024 and abs(five - len(DOC) / 4) <= 1  # the tools, then the system after them
    assert first.cache_creation_input_tokens == hour + five
    assert first.input_tokens + hour + five == count(emulator, params)
    [second] = run(emulator, [ask(1, marker=FIVE, model=SONNET, tools=[tool])]).values()
    assert (second.cache_read_input_tokens, second.cache_creation_input_tokens) == (hour + five, 0)


def test_under_the_minimum_nothing_is_cached(emulator):
    short = "A short shared text. " * 600  # 12,600 chars: 3,150 tokens
    usage = run(emulator, [ask(i, doc=short) for i in range(3)]
                + [ask(i, doc=short, model=SONNET) for i in range(3, 5)]
                + [ask(i, doc=short, model="claude-sonnet-5-5") for i in range(5, 7)])
    for i in (0, 1, 2, 5, 6):  # Haiku 4.5: 4,096; Sonnet 5.5 is not listed: the largest, 4,096
        u = usage[f"q{i}"]
        assert (u.cache_creation_input_tokens, u.cache_read_input_tokens) == (0, 0)
        assert u.cache_creation.ephemeral_1h_input_tokens == 0
        assert u.input_tokens == count(emulator, ask(i, doc=short)["params"])
    assert usage["q3"].cache_creation_input_tokens == 3150  # Sonnet 4.6: 1,024
    assert usage["q5"].input_tokens == usage["q0"].input_tokens


def test_caches_are_per_model_and_the_message_part_per_settings(emulator):
    run(emulator, [ask(0)])
    assert reads(run(emulator, [ask(1, model=SONNET)])) == 0  # another model: its own cache
    thinking = {"type": "enabled", "budget_tokens": 1024}

    def in_messages(i: int, **params: Any) -> dict[str, Any]:
        line = request(f"m{i}", "", model=SONNET, max_tokens=2000, **params)
        line["params"]["messages"] = [{"role": "user", "content": [
            {"type": "text", "text": DOC, "cache_control": HOUR},
            {"type": "text", "text": f"Question {i}"}]}]
        return line

    run(emulator, [in_messages(0), ask(2, model=SONNET)])
    usage = run(emulator, [in_messages(1), in_messages(2, thinking=thinking),
                           ask(3, model=SONNET, thinking=thinking)])
    assert usage["m1"].cache_read_input_tokens > 0
    assert usage["m2"].cache_read_input_tokens == 0  # thinking splits the message part...
    assert usage["q3"].cache_read_input_tokens > 0  # ...not the system before it


def test_the_lookback_reaches_20_blocks_before_a_marker(emulator):
    run(emulator, [ask(0)])

    def parts(i: int, blocks: int) -> dict[str, Any]:
        line = ask(i, marker=None)
        content = [{"type": "text", "text": f"part {k}"} for k in range(blocks)]
        content[-1]["cache_control"] = HOUR
        line["params"]["messages"] = [{"role": "user", "content": content}]
        return line

    usage = run(emulator, [parts(1, 20), parts(2, 21)])  # markers 20 and 21 blocks after the system
    prefix = PREFIX
    assert usage["q1"].cache_read_input_tokens == prefix
    assert usage["q1"].cache_creation_input_tokens > 0  # and it writes at its own marker
    assert usage["q2"].cache_read_input_tokens == 0
    assert usage["q2"].cache_creation_input_tokens > prefix


def test_automatic_caching_marks_the_last_block(emulator):
    line = ask(0, marker=None, cache_control=FIVE)
    [first] = run(emulator, [line]).values()
    assert first.input_tokens == 0 and first.cache_creation_input_tokens == count(emulator, line["params"])
    [again] = run(emulator, [{**line, "custom_id": "again"}]).values()
    assert again.cache_read_input_tokens == first.cache_creation_input_tokens


def test_a_canceled_request_writes_nothing(emulator):
    with emulator.client() as client:
        canceled = client.messages.batches.create(requests=[ask(0)])
        client.messages.batches.cancel(canceled.id)  # before its request was processed
        emulator.clock.advance(61)
        assert [r.result.type for r in client.messages.batches.results(canceled.id)] == ["canceled"]
    assert reads(run(emulator, [ask(i) for i in range(1, 4)])) == 0


def test_an_injected_error_writes_nothing(make_emulator, tmp_path):
    failing = make_emulator(error_rate=1.0, data_dir=tmp_path / "shared")
    with failing.client() as client:
        batch = client.messages.batches.create(requests=[ask(i) for i in range(3)])
        failing.clock.advance(61)
        assert {r.result.type for r in client.messages.batches.results(batch.id)} == {"errored"}
    assert reads(run(make_emulator(data_dir=tmp_path / "shared"), [ask(i) for i in range(3, 6)])) == 0


def test_a_refusal_still_went_through_the_cache(make_emulator, tmp_path):
    stopping = make_emulator(stop_rate=1.0, data_dir=tmp_path / "shared")
    [warm] = run(stopping, [ask(0)]).values()  # stop_reason refusal or a full context window
    assert warm.cache_creation_input_tokens == PREFIX
    assert reads(run(make_emulator(data_dir=tmp_path / "shared"), [ask(i) for i in range(1, 4)])) >= 2


def test_results_are_the_same_on_every_read_and_after_a_delete(emulator):
    with emulator.client() as client:
        warm = client.messages.batches.create(requests=[ask(0)])
        emulator.clock.advance(61)
        batch = client.messages.batches.create(requests=[ask(i) for i in range(1, 11)])
        emulator.clock.advance(61)
        client.messages.batches.delete(warm.id)  # deleting a batch does not empty the cache
    with emulator.http() as http:
        bodies = [http.get(f"/v1/messages/batches/{batch.id}/results").content for _ in range(2)]
    assert bodies[0] == bodies[1]
    assert bodies[0].count(b'"cache_read_input_tokens":0') <= 1  # 98% best effort: 9 or 10 read
    assert f'"cache_read_input_tokens":{PREFIX}'.encode() in bodies[0]


def ids_at(*windows: tuple[float, float], seed: int = 0) -> list[str]:
    """A custom_id for each window of the processing window: one whose request is processed
    there (the emulator's point u of outcomes.static_plan: BLAKE2b of the seed and the id)."""
    found = []
    for low, high in windows:
        for n in range(100_000):
            digest = hashlib.blake2b(f"{seed}:w{n}".encode(), digest_size=16).digest()
            if low <= int.from_bytes(digest[:7], "big") / float(1 << 56) < high:
                found.append(f"w{n}")
                break
    return found


def test_in_one_batch_a_write_is_read_once_its_response_began_and_a_read_refreshes(make_emulator):
    """processing_seconds 420: a response begins 2/3 of it (280 s) after its request."""
    emulator = make_emulator(processing_seconds=420, cache_hit_rate=1.0)
    early, before, after, late = ids_at((0, 0.01), (0.4, 0.6), (0.68, 0.7), (0.95, 1))
    usage = run(emulator, [{**ask(0, marker=FIVE), "custom_id": cid}
                           for cid in (early, before, after, late)], wait=421)
    assert usage[early].cache_creation_input_tokens == PREFIX  # the first: it writes
    assert usage[before].cache_creation_input_tokens == PREFIX  # processed together with it
    assert usage[after].cache_read_input_tokens == PREFIX  # its response had begun
    # over 5 minutes after the first write, under 5 after the read that refreshed it:
    assert usage[late].cache_read_input_tokens == PREFIX
