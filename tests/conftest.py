"""Shared test setup: compiled detector databases go to a per-session cache directory (the tests build
many small rule sets; they must not churn the user's ~/.cache/shadowgate, and every test still runs
the real cache code)."""

import atexit
import os
import shutil
import tempfile

if "SHADOWGATE_CACHE" not in os.environ:
    _CACHE = tempfile.mkdtemp(prefix="shadowgate-test-cache-")
    os.environ["SHADOWGATE_CACHE"] = _CACHE
    atexit.register(shutil.rmtree, _CACHE, True)
