"""Benchmarks: ``python -m bench.<name>``."""

import platform
from pathlib import Path


def cpu_model() -> str:
    """The CPU the figures come from (quoted with them)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"
