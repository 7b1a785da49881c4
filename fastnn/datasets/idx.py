"""IDX, the file format of MNIST: reading (validated against the header) and writing.

An IDX file is a big-endian header, the magic number 0x0000TTDD (TT the type code, 0x08 for uint8; DD the
number of dimensions), then one uint32 per dimension, then the data in C order. MNIST images have magic
2051 = 0x00000803 and dims (N,28,28); labels 2049 = 0x00000801 and dims (N,). A name ending in `.gz` means
gzip-compressed, on reading and on writing.

Legend: N images, H rows, W columns.
"""
import gzip
import math
import stat
import zlib
from pathlib import Path

import numpy as np

from ..errors import CorruptFileError

__all__ = ["IMAGES_MAGIC", "LABELS_MAGIC", "read_idx", "write_idx"]

# IDX type code -> big-endian NumPy dtype (the codes the format defines)
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_IDX_CODES = {dtype.newbyteorder("="): code for code, dtype in _IDX_DTYPES.items()}
IMAGES_MAGIC = 0x00000803  # 2051: uint8, 3 dims (N,H,W)
LABELS_MAGIC = 0x00000801  # 2049: uint8, 1 dim (N,)

# Deflate cannot compress better than about 1032:1, so a gzip file of S bytes holds at most ~1032*S
# bytes: a header announcing more is corrupt, and is refused before anything is allocated.
_GZIP_MAX_RATIO = 1032


def _describe_magic(magic):
    code, ndim = (magic >> 8) & 0xFF, magic & 0xFF
    dtype = _IDX_DTYPES.get(code)
    kind = dtype.newbyteorder("=").name if dtype is not None else f"unknown type 0x{code:02x}"
    return f"{magic} = 0x{magic:08x} ({kind}, {ndim} dim{'s' if ndim != 1 else ''})"


def _read_fully(f, buf):
    """Fill the C-contiguous array `buf` from `f`; return the number of bytes read (short at EOF)."""
    view = memoryview(buf.reshape(-1).view(np.uint8))
    n = 0
    while n < len(view):
        got = f.readinto(view[n:])
        if not got:
            break
        n += got
    return n


def read_idx(path, magic=None):
    """Read an IDX file (gzipped if `path` ends with `.gz`) into a NumPy array in native byte order.

    Args:
        path: the file.
        magic: the magic number the file must have, e.g. 2051 for MNIST images (uint8, 3 dims) or 2049
            for labels (uint8, 1 dim); None accepts any valid IDX type code and number of dimensions.

    Returns:
        An array of shape `dims` from the header and dtype from its type code (uint8 for MNIST).

    Raises:
        FileNotFoundError: the file does not exist.
        fastnn.CorruptFileError (a ValueError): naming the file, what was expected and what was received,
            when the file is not IDX (bad magic, unknown type code, no dimensions, short header), does not
            have `magic`, holds fewer or more data bytes than its header announces, is not valid gzip, or
            is not a regular file. Nothing is allocated for a header the file's size cannot back.
    """
    path = Path(path)
    st = path.stat()  # FileNotFoundError, as is, when missing
    if not stat.S_ISREG(st.st_mode):
        raise CorruptFileError(f"read_idx: {path} is not a regular file (a folder, device or pipe); "
                               f"expected an IDX file")
    size = st.st_size
    gzipped = path.name.endswith(".gz")
    with (gzip.open if gzipped else open)(path, "rb") as f:
        try:
            return _read_idx_stream(f, path, size, gzipped, magic)
        except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
            if not gzipped:
                raise
            raise CorruptFileError(
                f"read_idx: {path} is not valid gzip data (expected a gzip-compressed IDX file "
                f"because the name ends with .gz). Received: {type(exc).__name__}: {exc}"
            ) from exc


def _read_idx_stream(f, path, size, gzipped, expected_magic):
    head = f.read(4)
    if len(head) < 4:
        raise CorruptFileError(f"read_idx: {path} is too short for an IDX header: expected at least 4 bytes, "
                         f"received {len(head)}")
    magic = int.from_bytes(head, "big")
    if head[:2] != b"\x00\x00":
        hint = ""
        if head[:2] == b"\x1f\x8b" and not gzipped:
            hint = "; it looks gzip-compressed, so give it a name ending in .gz"
        raise CorruptFileError(f"read_idx: {path} is not an IDX file: expected a magic number whose first two "
                         f"bytes are zero (2051 for images, 2049 for labels). Received: 0x{magic:08x}{hint}")
    if expected_magic is not None and magic != expected_magic:
        raise CorruptFileError(f"read_idx: {path} has the wrong magic number: expected "
                         f"{_describe_magic(expected_magic)}. Received: {_describe_magic(magic)}")
    code, ndim = head[2], head[3]
    if code not in _IDX_DTYPES:
        known = ", ".join(f"0x{c:02x} ({d.newbyteorder('=').name})" for c, d in _IDX_DTYPES.items())
        raise CorruptFileError(f"read_idx: {path} has an unknown IDX type code: expected one of {known}. "
                         f"Received: 0x{code:02x}")
    if ndim > 32:
        raise CorruptFileError(f"read_idx: {path} declares {ndim} dimensions: expected at most 32 (NumPy's "
                               f"portable limit). Received: magic 0x{magic:08x}")
    if ndim == 0:
        raise CorruptFileError(f"read_idx: {path} declares 0 dimensions: expected at least 1. "
                         f"Received: magic 0x{magic:08x}")
    header_len = 4 + 4 * ndim
    raw_dims = f.read(4 * ndim)
    if len(raw_dims) < 4 * ndim:
        raise CorruptFileError(f"read_idx: {path} has a truncated header: {ndim} dims need {header_len} bytes, "
                         f"received {4 + len(raw_dims)}")
    dims = tuple(int.from_bytes(raw_dims[i:i + 4], "big") for i in range(0, 4 * ndim, 4))
    dtype = _IDX_DTYPES[code]
    expected = math.prod(dims) * dtype.itemsize
    what = f"header (magic {magic}, dims {dims}) announces {expected} data bytes"

    # Refuse a header that cannot fit in the file before allocating for it.
    room = _GZIP_MAX_RATIO * size if gzipped else size - header_len
    if expected > room:
        found = f"a gzip file of {size} bytes holds at most ~{room}" if gzipped else f"{room} found"
        raise CorruptFileError(f"read_idx: {path} is truncated or corrupt: its {what}; {found}")

    try:   # an empty array whose other dimensions NumPy cannot index, such as (0, 2**32 - 1, 2**32 - 1)
        out = np.empty(dims, dtype=dtype)
    except ValueError as exc:
        raise CorruptFileError(f"read_idx: {path} is corrupt: its {what}, in a shape NumPy refuses ({exc})") from None
    got = _read_fully(f, out)
    if got < expected:
        raise CorruptFileError(f"read_idx: {path} is truncated: its {what}; received only {got}")
    if f.read(1):
        raise CorruptFileError(f"read_idx: {path} is over-long: its {what}; received more data after them")
    return out if dtype.isnative else out.astype(dtype.newbyteorder("="))


def write_idx(path, array):
    """Write `array` as an IDX file, gzip-compressed when `path` ends with `.gz`, raw otherwise.

    The inverse of `read_idx`. A uint8 array of shape (N,28,28) gets magic 2051 (MNIST images), one of
    shape (N,) magic 2049 (labels). Compressed output is reproducible (the gzip timestamp is 0).

    Args:
        path: the file to create or overwrite.
        array: an array of dtype uint8, int8, int16, int32, float32 or float64 with 1 to 255 dims, each
            below 2**32.

    Raises:
        ValueError: the dtype, number of dims or a dim is not representable in IDX.
    """
    array = np.asarray(array)
    code = _IDX_CODES.get(array.dtype.newbyteorder("="))
    if code is None:
        names = ", ".join(d.newbyteorder("=").name for d in _IDX_DTYPES.values())
        raise ValueError(f"write_idx(array=...) expects an array of dtype {names}. "
                         f"Received: dtype={array.dtype}")
    if not 1 <= array.ndim <= 255 or any(d >= 2**32 for d in array.shape):
        raise ValueError(f"write_idx(array=...) expects 1 to 255 dims, each below 2**32. "
                         f"Received: shape={array.shape}")
    header = bytes([0, 0, code, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    with open(path, "wb") as raw:
        # no file name and mtime=0 in the gzip header: the same array always gives the same bytes
        gzipped = str(path).endswith(".gz")
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) if gzipped else raw as f:
            f.write(header)
            f.write(np.ascontiguousarray(array, dtype=_IDX_DTYPES[code]).tobytes())

