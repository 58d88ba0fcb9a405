"""Streamlit runs every script run, fragment reruns included, in a fresh thread; oneDNN's
convolutions size their OpenMP team by that thread's own setting. app.py must leave fresh
threads with a team of one, or each run pays to build and tear down a team (5-50 ms per
slider move on 2 cores, for a 1 ms decode)."""
from __future__ import annotations

import subprocess
import sys

from .helpers import REPO

CHILD = """
import ctypes, sys, threading, time
from streamlit.testing.v1 import AppTest
assert "torch" not in sys.modules, "torch loaded before app.py could configure OpenMP"
at = AppTest.from_file("app.py", default_timeout=120).run()
while not at.sidebar.selectbox:  # torch loads in the background on a fresh process (ui.warmup); then a rerun
    time.sleep(0.25)
    at.run()
assert not at.exception, at.exception
gomp = next(line.split()[-1] for line in open("/proc/self/maps") if "libgomp" in line)
omp = ctypes.CDLL(gomp)
seen = []
thread = threading.Thread(target=lambda: seen.append(omp.omp_get_max_threads()))
thread.start()
thread.join()
print(seen[0])
"""


def test_a_fresh_script_thread_runs_openmp_with_one_thread() -> None:
    done = subprocess.run([sys.executable, "-c", CHILD], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-1] == "1"
