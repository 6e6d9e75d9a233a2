"""`qa serve` under a per-thread CPU profiler (cProfile on each thread's own CPU clock), for ask_profile.py.

    python bench/_profiled_serve.py SNAPSHOT_PREFIX [qa serve arguments...]

Every thread (the event loop, the pool threads running retrieval and answering, a batching thread) gets its
own profiler timed by `time.thread_time`, so a stage's figure is CPU that its thread spent, not time spent
waiting for the GIL or a core. SIGUSR1 writes a snapshot of all threads' profiles (and the process's CPU
time) to SNAPSHOT_PREFIX.N, numbered from 1: the benchmark takes one after warming up and one after the
load, and reports the difference, so model loading and warm-up are left out.
"""

from __future__ import annotations

import cProfile
import marshal
import os
import signal
import sys
import threading
import time
from types import FrameType

_profiles: list[cProfile.Profile] = []
_lock = threading.Lock()
_snapshots = 0


def _start_thread_profile(frame: object, event: str, arg: object) -> None:
    """The first profile hook of every new thread: replaces itself with a profiler on that thread's clock."""
    sys.setprofile(None)
    profile = cProfile.Profile(time.thread_time_ns, 1e-9)
    with _lock:
        _profiles.append(profile)
    profile.enable()


def _snapshot(prefix: str) -> None:
    global _snapshots
    _snapshots += 1
    merged: dict[tuple[str, int, str], list[float]] = {}
    with _lock:
        profiles = list(_profiles)
    for profile in profiles:
        profile.snapshot_stats()  # reads the collected entries without stopping the profiler
        for func, (cc, nc, tt, ct, _callers) in profile.stats.items():  # type: ignore[attr-defined]
            entry = merged.setdefault(func, [0, 0, 0.0, 0.0])
            entry[0] += cc
            entry[1] += nc
            entry[2] += tt
            entry[3] += ct
    times = os.times()
    with open(f"{prefix}.{_snapshots}", "wb") as fh:
        marshal.dump({"cpu_s": times.user + times.system, "threads": len(profiles), "stats": merged}, fh)


def main() -> int:
    prefix = sys.argv[1]
    sys.argv = ["qa", *sys.argv[2:]]
    from qa.cli import main as qa_main

    def on_signal(signum: int, frame: FrameType | None) -> None:
        _snapshot(prefix)

    signal.signal(signal.SIGUSR1, on_signal)
    threading.setprofile(_start_thread_profile)
    main_profile = cProfile.Profile(time.thread_time_ns, 1e-9)
    _profiles.append(main_profile)
    main_profile.enable()
    return qa_main()


if __name__ == "__main__":
    sys.exit(main())
