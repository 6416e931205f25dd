#!/usr/bin/env python3
"""Merges a released TrimKV checkpoint into one model directory that trimserve loads.

A released TrimKV checkpoint holds only the retention-gate weights (`trimkv_weights.pth`, a
torch state dict) and a config.json naming the base model and the TrimKV settings. This tool
combines it with the base model directory (Hugging Face Qwen3: config.json, *.safetensors,
tokenizer files):

    convert_trimkv.py --base Qwen3-4B/ --trimkv TrimKV-Qwen3-4B-Math/ --out merged/

The output has config.json = base config + memory_size, buffer_size, retention_gate,
retention_gate_intermediate_size, retention_gate_shared_projection, floor_budget_ratio;
safetensors with every base tensor copied byte for byte plus the gate tensors stored in the
base's dtype (sharded past --max-shard-size); and the tokenizer/generation files of the base.

Gate tensor names accepted (after stripping `module.`, `_orig_mod.`, `base_model.model.`,
`base_model.` and adding a missing `model.`), P = model.layers.N.self_attn.retention_gate:
  P.linear1.weight, P.linear1.bias, P.linear2.weight, P.bias          (rg, rg2)
  P.gate_proj.weight, P.up_proj.weight, P.down_proj.weight, P.bias    (rg3)
  model.retention_gate.{linear2,down_proj}.weight, model.retention_gate.bias (shared projection)
Anything else is refused by name. Shapes are checked against the base config.

Exit status: 0 on success, 2 for bad input (message on stderr), 1 for an unexpected failure.
"""
import argparse
import json
import os
import re
import shutil
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402

TRIMKV_KEYS = ("memory_size", "buffer_size", "retention_gate", "retention_gate_intermediate_size",
               "retention_gate_shared_projection", "floor_budget_ratio")
# Files of the base directory that travel with the weights (whatever of them exists).
COPIED_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json",
                "merges.txt", "added_tokens.json", "generation_config.json", "chat_template.jinja",
                "chat_template.json")
_PREFIXES = ("module.", "_orig_mod.", "base_model.model.", "base_model.")
_LAYER_RE = re.compile(r"^model\.layers\.(\d+)\.self_attn\.retention_gate\."
                       r"(linear1\.weight|linear1\.bias|linear2\.weight|gate_proj\.weight"
                       r"|up_proj\.weight|down_proj\.weight|bias)$")
_SHARED_RE = re.compile(r"^model\.retention_gate\.(linear2\.weight|down_proj\.weight|bias)$")
_DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1,
                "U8": 1, "U16": 2, "U32": 4, "U64": 8, "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1}


class ConvertError(Exception):
    """Bad input: reported as one line, exit status 2."""


def read_json(path, what):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise ConvertError(f"{what}: {path} does not exist") from None
    except (OSError, ValueError) as e:
        raise ConvertError(f"{what}: cannot read {path}: {e}") from None


def base_dims(config, path):
    archs = config.get("architectures") or []
    if archs != ["Qwen3ForCausalLM"] and not (not archs and config.get("model_type") == "qwen3"):
        raise ConvertError(f"{path}: architectures {archs}: trimserve supports only Qwen3ForCausalLM")
    try:
        C, L, H = int(config["hidden_size"]), int(config["num_hidden_layers"]), int(config["num_attention_heads"])
        Hkv = int(config.get("num_key_value_heads") or H)
        D = int(config.get("head_dim") or C // H)
    except (KeyError, TypeError, ValueError) as e:
        raise ConvertError(f"{path}: missing or bad architecture field: {e}") from None
    return {"C": C, "L": L, "Hkv": Hkv, "D": D}


def trimkv_settings(args, dims):
    """TrimKV keys from the checkpoint's config.json, then command-line overrides."""
    settings = {}
    config_path = args.config
    if config_path is None and os.path.isdir(args.trimkv):
        candidate = os.path.join(args.trimkv, "config.json")
        config_path = candidate if os.path.exists(candidate) else None
    if config_path:
        tk = read_json(config_path, "TrimKV config")
        # The checkpoint's config repeats the architecture: a mismatch means the wrong base.
        for key, dim in (("hidden_size", "C"), ("num_hidden_layers", "L"), ("num_key_value_heads", "Hkv")):
            if key in tk and tk[key] is not None and tk[key] != dims[dim]:
                raise ConvertError(f"{config_path}: {key} {tk[key]} does not match the base model's {dims[dim]}")
        settings.update({k: tk[k] for k in TRIMKV_KEYS if tk.get(k) is not None})
    overrides = {"memory_size": args.memory_size, "buffer_size": args.buffer_size,
                 "retention_gate": args.retention_gate,
                 "retention_gate_intermediate_size": args.retention_gate_intermediate_size,
                 "retention_gate_shared_projection": args.shared_projection,
                 "floor_budget_ratio": args.floor_budget_ratio}
    settings.update({k: v for k, v in overrides.items() if v is not None})
    return settings


def load_gate_state(path):
    import torch  # only this step needs torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise ConvertError(f"{path} does not exist") from None
    except Exception as e:  # torch raises many types for a bad file
        raise ConvertError(f"{path}: cannot load as a torch state dict: {e}") from None
    for wrapper in ("state_dict", "model"):
        if isinstance(state, dict) and set(state) == {wrapper}:
            state = state[wrapper]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ConvertError(f"{path}: expected a dict of tensor name -> tensor")
    out, unknown = {}, []
    for raw_name, tensor in state.items():
        name = raw_name
        stripped = True
        while stripped:
            stripped = False
            for p in _PREFIXES:
                if name.startswith(p):
                    name, stripped = name[len(p):], True
        if name.startswith("model.model."):
            name = name[len("model."):]
        if name.startswith(("layers.", "retention_gate.")):
            name = "model." + name
        if not (_LAYER_RE.match(name) or _SHARED_RE.match(name)):
            unknown.append(raw_name)
            continue
        if name in out:
            raise ConvertError(f"{path}: two tensors map to {name}")
        out[name] = tensor.detach().to(torch.float32).numpy()
    if unknown:
        shown = ", ".join(sorted(unknown)[:10]) + (f" (and {len(unknown) - 10} more)" if len(unknown) > 10 else "")
        raise ConvertError(f"{path}: not retention-gate weights: {shown}")
    if not out:
        raise ConvertError(f"{path}: no retention-gate tensors")
    return out


def resolve_gate(gates, settings, dims, pth):
    """Completes settings from the tensors and checks every expected gate tensor's shape."""
    C, L, Hkv, D = dims["C"], dims["L"], dims["Hkv"], dims["D"]
    kinds = {m.group(2).split(".")[0] for m in map(_LAYER_RE.match, gates) if m}
    shared = any(_SHARED_RE.match(n) for n in gates)
    if "retention_gate" not in settings:
        first = gates.get("model.layers.0.self_attn.retention_gate.linear1.weight")
        if "gate_proj" in kinds:
            settings["retention_gate"] = "rg3"
        elif first is not None and first.ndim == 2 and first.shape[1] == 2 * D * Hkv and first.shape[1] != C:
            settings["retention_gate"] = "rg2"
        else:
            settings["retention_gate"] = "rg"
    kind = settings["retention_gate"]
    if kind not in ("rg", "rg2", "rg3"):
        raise ConvertError(f"retention_gate: expected rg, rg2 or rg3, got {kind!r}")
    foreign = kinds & ({"linear1", "linear2"} if kind == "rg3" else {"gate_proj", "up_proj", "down_proj"})
    if foreign:
        raise ConvertError(f"{pth}: retention_gate is {kind} but the weights hold {', '.join(sorted(foreign))} tensors")
    if settings.get("retention_gate_shared_projection", shared) != shared:
        raise ConvertError(f"{pth}: retention_gate_shared_projection is "
                           f"{settings['retention_gate_shared_projection']} but the weights "
                           f"{'have' if shared else 'lack'} model.retention_gate.* tensors")
    settings["retention_gate_shared_projection"] = shared
    first_name = "model.layers.0.self_attn.retention_gate." + ("gate_proj.weight" if kind == "rg3" else "linear1.weight")
    if "retention_gate_intermediate_size" not in settings:
        if first_name not in gates:
            raise ConvertError(f"{pth}: missing gate tensor {first_name}")
        settings["retention_gate_intermediate_size"] = int(gates[first_name].shape[0])
    settings.setdefault("memory_size", 1024)   # TrimKVQwen3Config defaults
    settings.setdefault("buffer_size", 128)
    settings.setdefault("floor_budget_ratio", 0.0)
    for key in ("memory_size", "retention_gate_intermediate_size"):
        if not isinstance(settings[key], int) or isinstance(settings[key], bool) or settings[key] <= 0:
            raise ConvertError(f"{key}: expected a positive integer, got {settings[key]!r}")
    if not isinstance(settings["buffer_size"], int) or settings["buffer_size"] < 0:
        raise ConvertError(f"buffer_size: expected a non-negative integer, got {settings['buffer_size']!r}")
    if not isinstance(settings["floor_budget_ratio"], (int, float)) or not 0 <= settings["floor_budget_ratio"] < 1:
        raise ConvertError(f"floor_budget_ratio: expected a number in [0, 1), got {settings['floor_budget_ratio']!r}")

    I = settings["retention_gate_intermediate_size"]
    cin = C if kind == "rg" else 2 * D * Hkv
    w2 = "down_proj.weight" if kind == "rg3" else "linear2.weight"
    expected = {}
    for l in range(L):
        p = f"model.layers.{l}.self_attn.retention_gate."
        if kind == "rg3":
            expected.update({p + "gate_proj.weight": (I, cin), p + "up_proj.weight": (I, cin)})
        else:
            expected.update({p + "linear1.weight": (I, cin), p + "linear1.bias": (I,)})
        if not shared:
            expected.update({p + w2: (Hkv, I), p + "bias": (Hkv,)})
    if shared:
        expected.update({"model.retention_gate." + w2: (Hkv, I), "model.retention_gate.bias": (Hkv,)})
    for name in sorted(gates):
        if name not in expected:
            raise ConvertError(f"{pth}: {name} is not expected for a {kind} gate"
                               f"{' with shared projection' if shared else ''} on a {L}-layer model")
        if tuple(gates[name].shape) != expected[name]:
            raise ConvertError(f"{pth}: {name}: shape {list(gates[name].shape)}, expected "
                               f"{list(expected[name])} (C={C}, D={D}, Hkv={Hkv}, I={I}, gate={kind})")
    missing = sorted(set(expected) - set(gates))
    if missing:
        raise ConvertError(f"{pth}: missing gate tensor {missing[0]}"
                           + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
    return settings


def base_tensors(base_dir):
    """{name: (dtype, shape, path, absolute_begin, nbytes)} of the base checkpoint."""
    index = os.path.join(base_dir, "model.safetensors.index.json")
    single = os.path.join(base_dir, "model.safetensors")
    if os.path.exists(single):
        files = ["model.safetensors"]
    elif os.path.exists(index):
        files = sorted(set(read_json(index, "base index")["weight_map"].values()))
    else:
        raise ConvertError(f"{base_dir}: no model.safetensors or model.safetensors.index.json")
    out = {}
    for f in files:
        path = os.path.join(base_dir, f)
        try:
            header, data_start = safetensors_io.read_header(path)
        except (OSError, ValueError, struct.error) as e:
            raise ConvertError(f"{path}: not a readable safetensors file: {e}") from None
        size = os.path.getsize(path)
        for name, info in header.items():
            if name == "__metadata__":
                continue
            begin, end = info["data_offsets"]
            if data_start + end > size:
                raise ConvertError(f"{path}: file truncated at tensor {name}")
            if name in out:
                raise ConvertError(f"{base_dir}: tensor {name} appears twice")
            out[name] = (info["dtype"], list(info["shape"]), path, data_start + begin, end - begin)
    gate_like = sorted(n for n in out if "retention_gate" in n)
    if gate_like:
        raise ConvertError(f"{base_dir}: the base model already has retention-gate tensors ({gate_like[0]})")
    return out


def encode(arr, dtype):
    if dtype == "BF16":
        # Round to nearest even on the bit pattern, as torch's .to(torch.bfloat16) does.
        u = np.ascontiguousarray(arr, dtype=np.float32).view(np.uint32).astype(np.uint64)
        return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype("<u2").tobytes()
    if dtype == "F16":
        return arr.astype("<f2").tobytes()
    if dtype == "F32":
        return arr.astype("<f4").tobytes()
    raise ConvertError(f"base model dtype {dtype} cannot hold gate weights (expected F32, F16 or BF16)")


def write_safetensors(path, entries):
    """entries: [(name, dtype, shape, nbytes, source)], source = bytes or (path, begin)."""
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, dtype, shape, nbytes, _ in entries:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as out:
        out.write(struct.pack("<Q", len(text)))
        out.write(text)
        for _, _, _, nbytes, source in entries:
            if isinstance(source, bytes):
                out.write(source)
                continue
            src_path, begin = source
            with open(src_path, "rb") as src:
                src.seek(begin)
                left = nbytes
                while left:
                    chunk = src.read(min(left, 64 << 20))
                    if not chunk:
                        raise ConvertError(f"{src_path}: file ended early")
                    out.write(chunk)
                    left -= len(chunk)


def parse_size(text):
    m = re.fullmatch(r"(\d+)\s*([KMG]?B?)", text.strip().upper())
    if not m:
        raise ConvertError(f"--max-shard-size: cannot parse {text!r} (e.g. 5GB, 500MB, 1048576)")
    unit = {"": 1, "B": 1, "K": 1 << 10, "KB": 1 << 10, "M": 1 << 20, "MB": 1 << 20, "G": 1 << 30, "GB": 1 << 30}
    return int(m.group(1)) * unit[m.group(2)]


def convert(args):
    out_dir = os.path.abspath(args.out)
    for src in (args.base, args.trimkv):
        src = os.path.abspath(src)
        if out_dir == src or src.startswith(out_dir + os.sep):
            raise ConvertError(f"--out {args.out} would overwrite the input {src}")
    if os.path.exists(out_dir) and (not os.path.isdir(out_dir) or os.listdir(out_dir)) and not args.force:
        raise ConvertError(f"output directory {args.out} is not empty (use --force to replace it)")
    max_shard = parse_size(args.max_shard_size)

    base_config_path = os.path.join(args.base, "config.json")
    base_config = read_json(base_config_path, "base model config")
    dims = base_dims(base_config, base_config_path)
    settings = trimkv_settings(args, dims)
    pth = os.path.join(args.trimkv, "trimkv_weights.pth") if os.path.isdir(args.trimkv) else args.trimkv
    gates = load_gate_state(pth)
    settings = resolve_gate(gates, settings, dims, pth)
    base = base_tensors(args.base)
    if "model.embed_tokens.weight" not in base:
        raise ConvertError(f"{args.base}: no model.embed_tokens.weight (is this a Qwen3 checkpoint?)")
    dtype = base["model.embed_tokens.weight"][0]

    entries = [(n, d, s, nb, (p, b)) for n, (d, s, p, b, nb) in base.items()]
    for name, arr in gates.items():
        data = encode(arr, dtype)
        entries.append((name, dtype, list(arr.shape), len(data), data))
    entries.sort(key=lambda e: e[0])
    shards, size = [[]], 0
    for e in entries:
        if shards[-1] and size + e[3] > max_shard:
            shards.append([])
            size = 0
        shards[-1].append(e)
        size += e[3]

    # Write beside the target, then swap, so a failure never leaves half a model at --out.
    parent = os.path.dirname(out_dir)
    os.makedirs(parent, exist_ok=True)
    tmp = os.path.join(parent, f".{os.path.basename(out_dir)}.convert-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    try:
        if len(shards) == 1:
            write_safetensors(os.path.join(tmp, "model.safetensors"), shards[0])
        else:
            weight_map = {}
            for i, shard in enumerate(shards):
                name = f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors"
                write_safetensors(os.path.join(tmp, name), shard)
                weight_map.update({e[0]: name for e in shard})
            with open(os.path.join(tmp, "model.safetensors.index.json"), "w") as f:
                json.dump({"metadata": {"total_size": sum(e[3] for e in entries)},
                           "weight_map": weight_map}, f, indent=2)
        config = dict(base_config)
        config.update({k: settings[k] for k in TRIMKV_KEYS})
        with open(os.path.join(tmp, "config.json"), "w", encoding="utf-8") as f:
            json.dump(config, f, indent=2, ensure_ascii=False)
            f.write("\n")
        copied = [f for f in COPIED_FILES if os.path.isfile(os.path.join(args.base, f))]
        for f in copied:
            shutil.copyfile(os.path.join(args.base, f), os.path.join(tmp, f))
        if "tokenizer.json" not in copied:
            print(f"convert_trimkv: warning: {args.base} has no tokenizer.json", file=sys.stderr)
        if os.path.isdir(out_dir):
            shutil.rmtree(out_dir)
        elif os.path.exists(out_dir):
            os.remove(out_dir)
        os.rename(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return settings, len(shards)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--base", required=True, help="base Qwen3 model directory (safetensors)")
    ap.add_argument("--trimkv", required=True,
                    help="TrimKV checkpoint directory (trimkv_weights.pth + config.json) or the .pth file")
    ap.add_argument("--out", required=True, help="output model directory")
    ap.add_argument("--config", help="TrimKV config.json (default: the one beside the .pth)")
    ap.add_argument("--memory-size", type=int)
    ap.add_argument("--buffer-size", type=int)
    ap.add_argument("--retention-gate", choices=("rg", "rg2", "rg3"))
    ap.add_argument("--retention-gate-intermediate-size", type=int)
    ap.add_argument("--floor-budget-ratio", type=float)
    ap.add_argument("--shared-projection", action=argparse.BooleanOptionalAction, default=None,
                    help="one final gate projection for all layers (DBTrimKV)")
    ap.add_argument("--max-shard-size", default="5GB", help="largest output file (default 5GB)")
    ap.add_argument("--force", action="store_true", help="replace a non-empty --out")
    args = ap.parse_args(argv)
    try:
        settings, num_shards = convert(args)
    except ConvertError as e:
        print(f"convert_trimkv: error: {e}", file=sys.stderr)
        return 2
    print(f"convert_trimkv: wrote {args.out} ({num_shards} safetensors file{'s' if num_shards > 1 else ''}; "
          + ", ".join(f"{k}={settings[k]}" for k in TRIMKV_KEYS) + ")")
    return 0


if __name__ == "__main__":
    sys.exit(main())
