"""Writing outputs so that a reader never sees half a file."""
import os
import pathlib
import tempfile

__all__ = ["write_atomic"]

# A temporary file is created private (0600); the written file gets the mode any new file
# would have under the process's umask.
_UMASK = os.umask(0)
os.umask(_UMASK)
_FILE_MODE = 0o666 & ~_UMASK


def write_atomic(path, content):
    """Write ``content`` (str or bytes) to ``path`` through a rename.

    An unchanged file is left alone, keeping its modification time so that incremental
    builds (Verilator, make) do not redo work.
    """
    path = pathlib.Path(path)
    data = content.encode() if isinstance(content, str) else content
    if path.exists() and path.read_bytes() == data:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, _FILE_MODE)
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        os.replace(temp, path)
    except BaseException:
        os.unlink(temp)
        raise
    return path
