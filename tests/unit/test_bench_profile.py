"""The stage clocks of bench/ask_profile.py name functions that exist, so a rename fails here, not in a bench run."""

from __future__ import annotations

import importlib.util
import inspect
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="module")
def profiled_serve() -> ModuleType:
    spec = importlib.util.spec_from_file_location("_profiled_serve", BENCH / "_profiled_serve.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.pop("_profiled_serve", None)
    spec.loader.exec_module(module)
    return module


def test_every_stage_target_is_a_plain_function_of_the_code(profiled_serve: ModuleType) -> None:
    targets = [(m, p) for ts in profiled_serve.STAGES.values() for m, p in ts]
    assert targets
    for module_name, path in targets:
        _owner, _name, raw = profiled_serve.resolve(module_name, path)
        fn = raw.__func__ if isinstance(raw, (staticmethod, classmethod)) else raw
        assert callable(fn), f"{module_name}:{path} is not a function"
        # a coroutine's thread CPU would include whatever ran on the loop while it waited
        assert not inspect.iscoroutinefunction(fn), f"{module_name}:{path} is a coroutine"


def test_a_clock_adds_the_callers_cpu_and_counts_calls(profiled_serve: ModuleType) -> None:
    key = next(iter(profiled_serve._totals))
    before = list(profiled_serve._totals[key])

    def busy(n: int) -> int:
        deadline = time.thread_time() + 0.02
        while time.thread_time() < deadline:
            n += 1
        return n

    assert profiled_serve._clocked(key, busy)(0) > 0
    spent, calls = (a - b for a, b in zip(profiled_serve._totals[key], before, strict=True))
    assert calls == 1
    assert spent >= 20_000_000  # ns: the 20 ms of CPU the function burned


def test_a_coroutine_cannot_be_clocked(profiled_serve: ModuleType) -> None:
    async def waits() -> None:
        return None

    with pytest.raises(TypeError, match="coroutine"):
        profiled_serve._clocked("any", waits)
