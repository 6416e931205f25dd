#!/usr/bin/env python3
"""Tests of tools/convert_trimkv.py on split checkpoints from make_tiny_trimkv_checkpoint.py.

Converting the split form of a tiny shape must give back make_tiny_model.py's directory for
that shape: same tensors (base bytes copied, gates narrowed to the base dtype), same config
keys, same tokenizer files; and the C++ loader (weights_test "[.convert]") must load it to the
same values. Bad inputs must fail with exit status 2 and a message naming the problem.
"""
import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np
import torch

SRC = os.environ.get("TRIMSERVE_SRC") or os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
BUILD = os.environ.get("TRIMSERVE_BUILD", os.path.join(SRC, "build"))
MODELS = os.environ.get("TRIMSERVE_TINY_MODELS", os.path.join(BUILD, "tiny-models"))
sys.path.insert(0, os.path.join(SRC, "tools"))
import convert_trimkv  # noqa: E402
import make_tiny_model as tiny  # noqa: E402
import make_tiny_trimkv_checkpoint as split  # noqa: E402
import safetensors_io  # noqa: E402

WEIGHTS_TEST = os.path.join(BUILD, "tests", "weights_test")


def load_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def convert(*argv):
    """Runs the converter in-process (torch loads once): (exit status, stderr text)."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = convert_trimkv.main([str(a) for a in argv])
    return code, err.getvalue()


def raw_tensors(model_dir):
    """{name: (dtype, shape, bytes)} straight from the files."""
    index = os.path.join(model_dir, "model.safetensors.index.json")
    files = (sorted(set(load_json(index)["weight_map"].values())) if os.path.exists(index)
             else ["model.safetensors"])
    out = {}
    for f in files:
        path = os.path.join(model_dir, f)
        header, start = safetensors_io.read_header(path)
        with open(path, "rb") as fh:
            blob = fh.read()
        for name, info in header.items():
            if name != "__metadata__":
                b, e = info["data_offsets"]
                out[name] = (info["dtype"], info["shape"], blob[start + b:start + e])
    return out


class ConvertTrimKV(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.tmp = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()

    def make_split(self, shape, **kw):
        out = os.path.join(self.tmp, "split-" + shape)
        return split.write_checkpoint(tiny.SHAPES_BY_NAME[shape], out, **kw)

    def assert_same_model(self, converted, shape):
        expect_dir = os.path.join(MODELS, shape)
        got, want = raw_tensors(converted), raw_tensors(expect_dir)
        self.assertEqual(sorted(got), sorted(want))
        for name in want:
            self.assertEqual(got[name], want[name], name)  # dtype, shape and exact bytes
        self.assertEqual(load_json(os.path.join(converted, "config.json")),
                         load_json(os.path.join(expect_dir, "config.json")))
        for f in ("tokenizer.json", "tokenizer_config.json", "generation_config.json"):
            with open(os.path.join(converted, f), "rb") as a, open(os.path.join(expect_dir, f), "rb") as b:
                self.assertEqual(a.read(), b.read(), f)
        self.check_cpp_loader(converted, expect_dir)

    def check_cpp_loader(self, converted, expect_dir):
        if not os.path.exists(WEIGHTS_TEST):
            print(f"note: {WEIGHTS_TEST} not built; skipping the C++ load check", file=sys.stderr)
            return
        env = dict(os.environ, TRIMSERVE_CONVERTED_MODEL=converted, TRIMSERVE_CONVERTED_EXPECT=expect_dir)
        r = subprocess.run([WEIGHTS_TEST, "[.convert]"], env=env, capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout[-3000:] + r.stderr[-2000:])

    def test_round_trips(self):
        cases = [
            # shape, split options, extra converter flags
            ("gqa2-untied-rg", {}, []),
            ("gqa2-bf16-sharded", {"name_style": "base_model", "gate_dtype": "bfloat16"}, []),
            ("gqa2-rg3-shared", {"name_style": "bare"}, []),
            ("gqa2-f16", {"gate_dtype": "float16"}, []),
            ("gqa2-rg2", {"config_keys": "minimal"}, []),  # gate kind, I, sharing inferred
            ("gqa4-noqknorm-shared", {"config_keys": "minimal"}, ["--floor-budget-ratio", "0.0"]),
        ]
        for shape, opts, flags in cases:
            with self.subTest(shape=shape, **opts):
                base, trimkv = self.make_split(shape, **opts)
                out = os.path.join(self.tmp, "out-" + shape)
                code, err = convert("--base", base, "--trimkv", trimkv, "--out", out, *flags)
                self.assertEqual(code, 0, err)
                self.assert_same_model(out, shape)

    def test_flags_override_and_pth_path(self):
        base, trimkv = self.make_split("gqa2-untied-rg")
        out = os.path.join(self.tmp, "out")
        code, err = convert("--base", base, "--trimkv", os.path.join(trimkv, "trimkv_weights.pth"),
                            "--out", out, "--config", os.path.join(trimkv, "config.json"),
                            "--memory-size", "64", "--buffer-size", "16", "--floor-budget-ratio", "0.5")
        self.assertEqual(code, 0, err)
        config = load_json(os.path.join(out, "config.json"))
        self.assertEqual((config["memory_size"], config["buffer_size"], config["floor_budget_ratio"]),
                         (64, 16, 0.5))
        self.assertEqual(config["architectures"], ["Qwen3ForCausalLM"])

    def test_sharded_output(self):
        base, trimkv = self.make_split("gqa2-untied-rg")
        out = os.path.join(self.tmp, "out")
        code, err = convert("--base", base, "--trimkv", trimkv, "--out", out, "--max-shard-size", "200KB")
        self.assertEqual(code, 0, err)
        index = load_json(os.path.join(out, "model.safetensors.index.json"))
        files = sorted(set(index["weight_map"].values()))
        self.assertGreater(len(files), 2)
        self.assertEqual(files[-1], f"model-{len(files):05d}-of-{len(files):05d}.safetensors")
        for f in files:
            self.assertLessEqual(os.path.getsize(os.path.join(out, f)), 200 * 1024 + 4096)
        got = safetensors_io.load_model_dir(out)
        want = safetensors_io.load_model_dir(os.path.join(MODELS, "gqa2-untied-rg"))
        self.assertEqual(sorted(got), sorted(want))
        for name in want:
            np.testing.assert_array_equal(got[name], want[name])
        self.check_cpp_loader(out, os.path.join(MODELS, "gqa2-untied-rg"))

    def test_refuses_to_overwrite(self):
        base, trimkv = self.make_split("gqa2-f16")
        out = os.path.join(self.tmp, "out")
        os.makedirs(out)
        with open(os.path.join(out, "keep.txt"), "w") as f:
            f.write("x")
        code, err = convert("--base", base, "--trimkv", trimkv, "--out", out)
        self.assertEqual(code, 2)
        self.assertIn("is not empty (use --force to replace it)", err)
        self.assertTrue(os.path.exists(os.path.join(out, "keep.txt")))
        code, err = convert("--base", base, "--trimkv", trimkv, "--out", out, "--force")
        self.assertEqual(code, 0, err)
        self.assertFalse(os.path.exists(os.path.join(out, "keep.txt")))
        code, err = convert("--base", base, "--trimkv", trimkv, "--out", base, "--force")
        self.assertEqual(code, 2)
        self.assertIn("would overwrite the input", err)

    def edit_pth(self, trimkv, edit):
        path = os.path.join(trimkv, "trimkv_weights.pth")
        state = torch.load(path, weights_only=True)
        edit(state)
        torch.save(state, path)

    def expect_error(self, base, trimkv, *needles, flags=()):
        out = os.path.join(self.tmp, "bad-out")
        code, err = convert("--base", base, "--trimkv", trimkv, "--out", out, *flags)
        self.assertEqual(code, 2, err)
        for n in needles:
            self.assertIn(n, err)
        self.assertFalse(os.path.exists(out), "a failed conversion must not leave output")

    def test_shape_mismatch(self):
        base, trimkv = self.make_split("gqa2-untied-rg")
        name = "model.layers.1.self_attn.retention_gate.linear2.weight"
        self.edit_pth(trimkv, lambda s: s.__setitem__(name, torch.zeros(3, 32)))
        self.expect_error(base, trimkv, f"{name}: shape [3, 32], expected [2, 32]")

    def test_intermediate_size_mismatch(self):
        base, trimkv = self.make_split("gqa2-untied-rg")
        self.expect_error(base, trimkv, "retention_gate.linear1.bias: shape [32], expected [48]",
                          flags=("--retention-gate-intermediate-size", "48"))

    def test_unknown_tensor_name(self):
        base, trimkv = self.make_split("gqa2-untied-rg")
        self.edit_pth(trimkv, lambda s: s.__setitem__("model.layers.0.self_attn.q_proj.lora_A", torch.zeros(2)))
        self.expect_error(base, trimkv, "not retention-gate weights: model.layers.0.self_attn.q_proj.lora_A")

    def test_missing_layer(self):
        base, trimkv = self.make_split("gqa2-untied-rg")
        self.edit_pth(trimkv, lambda s: s.pop("model.layers.2.self_attn.retention_gate.bias"))
        self.expect_error(base, trimkv, "missing gate tensor model.layers.2.self_attn.retention_gate.bias")

    def test_layer_beyond_base(self):
        base, trimkv = self.make_split("gqa2-untied-rg")
        self.edit_pth(trimkv, lambda s: s.__setitem__(
            "model.layers.3.self_attn.retention_gate.bias", torch.zeros(2)))
        self.expect_error(base, trimkv, "model.layers.3.self_attn.retention_gate.bias is not expected",
                          "3-layer model")

    def test_gate_kind_disagrees_with_weights(self):
        base, trimkv = self.make_split("gqa2-rg3-shared")
        self.expect_error(base, trimkv, "retention_gate is rg but the weights hold", flags=("--retention-gate", "rg"))
        self.expect_error(base, trimkv, "retention_gate_shared_projection is False",
                          flags=("--no-shared-projection",))

    def test_wrong_base(self):
        base, trimkv = self.make_split("gqa2-untied-rg")
        other_base, _ = self.make_split("gqa2-f16")
        self.expect_error(other_base, trimkv, "num_hidden_layers 3 does not match the base model's 2")
        config = load_json(os.path.join(base, "config.json"))
        config["architectures"] = ["LlamaForCausalLM"]
        tiny.write_json(os.path.join(base, "config.json"), config)
        self.expect_error(base, trimkv, "trimserve supports only Qwen3ForCausalLM")

    def test_bad_pth(self):
        base, trimkv = self.make_split("gqa2-untied-rg")
        with open(os.path.join(trimkv, "trimkv_weights.pth"), "wb") as f:
            f.write(b"not a torch file")
        self.expect_error(base, trimkv, "cannot load as a torch state dict")

    def test_command_line_exit_status(self):
        base, trimkv = self.make_split("gqa2-untied-rg")
        self.edit_pth(trimkv, lambda s: s.__setitem__("bogus.weight", torch.zeros(1)))
        r = subprocess.run([sys.executable, os.path.join(SRC, "tools", "convert_trimkv.py"), "--base", base,
                            "--trimkv", trimkv, "--out", os.path.join(self.tmp, "cli-out")],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)
        self.assertIn("convert_trimkv: error:", r.stderr)
        self.assertIn("bogus.weight", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
