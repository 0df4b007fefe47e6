"""Property-based fuzzing (hypothesis) of what a pull request may hand bnlint: mutated
configs of real models, corrupted .keras and .h5 bytes, mangled scripts. Each returns
findings or one clean error line in bounded time; the same strategies run for longer in
tests/fuzz_harness.py."""

from __future__ import annotations

import pytest
from fuzzing import (
    H5_SEEDS,
    KERAS_SEEDS,
    SCRIPT_SEEDS,
    check,
    config_of,
    flipped_bytes,
    keras_with_config,
    mutated_config,
    mutated_script,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# Deterministic in CI: the same cases every run (the harness explores at random).
CI = settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))


@pytest.mark.parametrize("seed", [KERAS_SEEDS[0], KERAS_SEEDS[-1]], ids=lambda p: f"{p.parent.name}-{p.name}")
def test_mutated_configs(tmp_path, seed):
    @CI
    @given(mutated_config(config_of(seed)))
    def run(config):
        check(keras_with_config(seed, config, tmp_path / "case.keras"))

    run()


@pytest.mark.parametrize("seed", [KERAS_SEEDS[0], H5_SEEDS[0], H5_SEEDS[-1]], ids=lambda p: f"{p.parent.name}-{p.name}")
def test_corrupted_model_bytes(tmp_path, seed):
    @CI
    @given(flipped_bytes(seed.read_bytes()))
    def run(data):
        target = tmp_path / f"case{seed.suffix}"
        target.write_bytes(data)
        check(target)

    run()


@CI
@given(st.sampled_from(SCRIPT_SEEDS).flatmap(lambda seed: mutated_script(seed.read_text())))
def test_mangled_scripts(tmp_path_factory, text):
    target = tmp_path_factory.mktemp("fuzz") / "case.py"
    target.write_text(text)
    check(target)
