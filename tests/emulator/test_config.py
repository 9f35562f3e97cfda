"""EmulatorConfig: defaults, checks, and the BATCHCTL_EMULATOR_* variables."""

from __future__ import annotations

import pytest

from batchctl.emulator import EmulatorConfig


def test_defaults_match_the_api():
    config = EmulatorConfig()
    assert (config.processing_seconds, config.cancel_seconds) == (3.0, 1.0)
    assert config.expiry_seconds == 24 * 3600 and config.archive_seconds == 29 * 24 * 3600
    assert config.max_body_bytes == 256 * 1024 * 1024
    assert config.faults_apply("create") and config.seed == 0


def test_from_env_reads_every_variable():
    env = {
        "BATCHCTL_EMULATOR_PROCESSING_SECONDS": "0",
        "BATCHCTL_EMULATOR_CANCEL_SECONDS": "2.5",
        "BATCHCTL_EMULATOR_EXPIRY_SECONDS": "60",
        "BATCHCTL_EMULATOR_ARCHIVE_SECONDS": "120",
        "BATCHCTL_EMULATOR_ERROR_RATE": "0.1",
        "BATCHCTL_EMULATOR_EXPIRE_RATE": "0.2",
        "BATCHCTL_EMULATOR_FAULT_RATE": "0.3",
        "BATCHCTL_EMULATOR_LOST_REPLY_RATE": "0.4",
        "BATCHCTL_EMULATOR_DROP_RATE": "0.5",
        "BATCHCTL_EMULATOR_CACHE_HIT_RATE": "0.6",
        "BATCHCTL_EMULATOR_SEED": "42",
        "BATCHCTL_EMULATOR_FAULT_ENDPOINTS": "create, results",
        "BATCHCTL_EMULATOR_PUBLIC_BASE_URL": "http://example.test/",
        "BATCHCTL_EMULATOR_RECORD_REQUESTS": "1",
        "UNRELATED": "x",
    }
    config = EmulatorConfig.from_env(env)
    assert config == EmulatorConfig(
        processing_seconds=0,
        cancel_seconds=2.5,
        expiry_seconds=60,
        archive_seconds=120,
        error_rate=0.1,
        expire_rate=0.2,
        fault_rate=0.3,
        lost_reply_rate=0.4,
        drop_rate=0.5,
        cache_hit_rate=0.6,
        seed=42,
        fault_endpoints=frozenset({"create", "results"}),
        public_base_url="http://example.test",
        record_requests=True,
    )
    assert not config.faults_apply("list")
    assert EmulatorConfig.from_env({}) == EmulatorConfig()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ERROR_RATE", "lots"),
        ("ERROR_RATE", "1.5"),
        ("FAULT_RATE", "-0.1"),
        ("CACHE_HIT_RATE", "1.01"),
        ("PROCESSING_SECONDS", "nan"),
        ("CANCEL_SECONDS", "-1"),
        ("SEED", "1.5"),
        ("FAULT_ENDPOINTS", "create,upload"),
        ("RECORD_REQUESTS", "maybe"),
    ],
)
def test_a_bad_variable_is_named_in_the_error(name, value):
    with pytest.raises(ValueError, match=f"BATCHCTL_EMULATOR_{name}"):
        EmulatorConfig.from_env({f"BATCHCTL_EMULATOR_{name}": value})


def test_overrides_win_over_the_environment():
    env = {"BATCHCTL_EMULATOR_SEED": "1", "BATCHCTL_EMULATOR_ERROR_RATE": "0.5"}
    config = EmulatorConfig.from_env(env, seed=9, error_rate=None)
    assert (config.seed, config.error_rate) == (9, 0.5)
    with pytest.raises(ValueError, match="drop_rate"):
        EmulatorConfig.from_env({}, drop_rate=2.0)


def test_rates_that_cannot_both_hold_are_refused():
    with pytest.raises(ValueError, match="error_rate \\+ expire_rate"):
        EmulatorConfig(error_rate=0.7, expire_rate=0.5)
