"""Small files the search processes of one index folder share (``current``, rebuild progress)."""
import os
import tempfile


def write_atomically(path: str, text: str) -> None:
    """Replace ``path`` with ``text`` so that a reader sees the old file or the new one, never
    half of one (a temporary file in the same folder, flushed, then renamed over it)."""
    fd, temporary = tempfile.mkstemp(dir=os.path.dirname(path), prefix=f".{os.path.basename(path)}-")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
