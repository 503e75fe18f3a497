"""safetensors files with numpy: aexp's checkpoint and artifact format.

A file is an 8-byte little-endian header length, a JSON header naming each
tensor's dtype, shape and byte range (plus "__metadata__", strings only),
then the tensors' little-endian bytes. PyTorch reads it with
safetensors.torch.load_file, or with read() and torch.from_numpy.
"""

import json
import struct

import numpy as np

_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4",
           "I16": "<i2", "I8": "i1", "U8": "u1", "BOOL": "?"}
_NAMES = {np.dtype(v): k for k, v in _DTYPES.items()}


def dumps(tensors, metadata=None):
    """The safetensors bytes of tensors (name -> numpy array, in order)."""
    header, blobs, off = {}, [], 0
    for name, a in tensors.items():
        a = np.ascontiguousarray(a)
        dt = a.dtype.newbyteorder("<") if a.dtype.byteorder == ">" else a.dtype
        if dt not in _NAMES:
            raise TypeError(f"tensor {name!r}: dtype {a.dtype} has no safetensors name")
        b = a.astype(dt, copy=False).tobytes()
        header[name] = {"dtype": _NAMES[dt], "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)  # the data starts 8-byte aligned
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def loads(data):
    """(tensors, metadata) from safetensors bytes; tensors are numpy arrays
    in the file's order."""
    if len(data) < 8:
        raise ValueError("not safetensors: shorter than 8 bytes")
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8:
        raise ValueError(f"not safetensors: header length {n} for {len(data)} bytes")
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {}) or {}
    body = memoryview(data)[8 + n:]
    out = {}
    for name, t in header.items():
        b, e = t["data_offsets"]
        if t["dtype"] not in _DTYPES or not 0 <= b <= e <= len(body):
            raise ValueError(f"tensor {name!r}: bad entry {t}")
        out[name] = np.frombuffer(body[b:e], dtype=_DTYPES[t["dtype"]]).reshape(t["shape"]).copy()
    return out, meta
