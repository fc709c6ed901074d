"""Uploaded files copied to disk in chunks, under a name that is safe and unique, with a size limit."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from clientwise.core.errors import DomainError


def save_upload(upload, folder: Path, *, max_bytes: int, too_large: DomainError, prefix: str = "",
                default_name: str = "upload.csv") -> tuple[Path, str]:
    """Copy `upload` (a Django UploadedFile or any object with read()) into `folder` as
    `<prefix><12 hex>-<safe name>`; returns (path, the uploaded file's own name). Past `max_bytes` the partial
    file is removed and `too_large` is raised."""
    name = Path(getattr(upload, "name", "") or default_name).name
    safe = re.sub(r"[^\w.\-]+", "_", name)[-120:]
    path = folder / f"{prefix}{uuid.uuid4().hex[:12]}-{safe}"
    path.parent.mkdir(parents=True, exist_ok=True)
    size = 0
    with open(path, "wb") as out:
        chunks = upload.chunks() if hasattr(upload, "chunks") else iter(lambda: upload.read(1 << 20), b"")
        for chunk in chunks:
            size += len(chunk)
            if size > max_bytes:
                out.close()
                path.unlink(missing_ok=True)
                raise too_large
            out.write(chunk)
    return path, name
