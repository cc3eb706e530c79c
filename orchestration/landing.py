"""What is in the landing folder, as a fingerprint the sensor compares between ticks."""

from __future__ import annotations

import hashlib
from pathlib import Path


def landing_listing(landing_dir: Path) -> list[tuple[str, int, int]]:
    """(relative path, size, mtime in ns) of every file below the landing folder, sorted; hidden ones ignored."""
    if not landing_dir.is_dir():
        return []
    entries = []
    for path in landing_dir.rglob("*"):
        relative = path.relative_to(landing_dir)
        if any(part.startswith(".") for part in relative.parts) or not path.is_file():
            continue
        stat = path.stat()
        entries.append((relative.as_posix(), stat.st_size, stat.st_mtime_ns))
    return sorted(entries)


def landing_fingerprint(landing_dir: Path) -> str:
    """A short hash that changes when a file is added, removed or rewritten."""
    digest = hashlib.sha256()
    for name, size, mtime in landing_listing(landing_dir):
        digest.update(f"{name}\0{size}\0{mtime}\n".encode())
    return digest.hexdigest()[:16]
