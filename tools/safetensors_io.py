"""Minimal safetensors reader/writer for trimserve's tools (numpy only; no PyPI packages).

Format (https://github.com/huggingface/safetensors): 8-byte little-endian header length N,
N bytes of JSON {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}},
then the raw little-endian tensor bytes; offsets are relative to the end of the header.

Tensors are handed around as float32 numpy arrays; `save` narrows them to the requested dtype
(BF16 by round-to-nearest-even on the bit pattern, as torch does).
"""
import json
import os
import struct

import numpy as np

_NUMPY_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32}


def _bf16_bits_to_f32(bits: np.ndarray) -> np.ndarray:
    return (bits.astype(np.uint32) << 16).view(np.float32)


def _f32_to_bf16_bits(x: np.ndarray) -> np.ndarray:
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    rounding = ((u >> 16) & 1) + 0x7FFF
    return ((u + rounding) >> 16).astype(np.uint16)


def read_header(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
    return header, 8 + n


def load(path):
    """Returns {name: np.ndarray} with float tensors widened to float32."""
    header, base = read_header(path)
    out = {}
    with open(path, "rb") as f:
        blob = f.read()
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        raw = blob[base + begin : base + end]
        shape = info["shape"]
        dtype = info["dtype"]
        if dtype == "BF16":
            arr = _bf16_bits_to_f32(np.frombuffer(raw, dtype="<u2"))
        elif dtype in _NUMPY_DTYPES:
            arr = np.frombuffer(raw, dtype=np.dtype(_NUMPY_DTYPES[dtype]).newbyteorder("<"))
            if arr.dtype.kind == "f":
                arr = arr.astype(np.float32)
        else:
            raise ValueError(f"{path}: {name}: unsupported dtype {dtype}")
        out[name] = arr.reshape(shape).copy()
    return out


def load_model_dir(model_dir):
    """All tensors of a HF model directory: model.safetensors or the shards of its index."""
    index = os.path.join(model_dir, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    tensors = {}
    for name in files:
        tensors.update(load(os.path.join(model_dir, name)))
    return tensors


def save(path, tensors, dtype="F32", metadata=None):
    """Writes {name: array} with every floating tensor stored as `dtype` (F32, F16 or BF16)."""
    header = {"__metadata__": dict(metadata or {"format": "pt"})}
    chunks = []
    offset = 0
    for name in sorted(tensors):
        arr = np.asarray(tensors[name])
        if arr.dtype.kind == "f":
            if dtype == "BF16":
                data = _f32_to_bf16_bits(arr).tobytes()
            elif dtype == "F16":
                data = arr.astype("<f2").tobytes()
            else:
                data = arr.astype("<f4").tobytes()
            tdtype = dtype
        elif arr.dtype == np.int64:
            data, tdtype = arr.astype("<i8").tobytes(), "I64"
        else:
            raise ValueError(f"{name}: unsupported numpy dtype {arr.dtype}")
        header[name] = {"dtype": tdtype, "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)  # keep tensor data 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for c in chunks:
            f.write(c)


def narrow(x, dtype):
    """The float32 values `x` takes after a round trip through `dtype` (what a reader sees)."""
    x = np.asarray(x, dtype=np.float32)
    if dtype == "BF16":
        return _bf16_bits_to_f32(_f32_to_bf16_bits(x)).reshape(x.shape)
    if dtype == "F16":
        return x.astype(np.float16).astype(np.float32)
    return x
