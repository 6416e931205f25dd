#!/usr/bin/env python3
"""Tests of the corpus tokenizer (tools/train_tokenizer.py, tools/bpe_tokenizer.py) and of the
recall dialogue generator (tools/recall_dialogues.py), in seconds and without the npm package.

Trains a 300-id vocabulary on a small inline text plus generated dialogues rendered in ChatML and
checks: tokenizer.json / tokenizer_config.json have Qwen3's layout as tools/tiny_tokenizer.py
writes it; the fast trainer learns exactly tiny_tokenizer.train_bpe's merges; `trimserve
tokenize` (TRIMSERVE_BIN) encodes held-out text id for id like the Python encoder (with and
without special tokens), decodes it back, and renders a dialogue with the chat template like
jinja2. Dialogues: deterministic, 6-20 exchanges, training and held-out answer values disjoint,
every answer stated in one early exchange only and never in the question.
"""
import collections
import json
import os
import subprocess
import sys
import tempfile
import unicodedata
import unittest

SRC = os.environ.get("TRIMSERVE_SRC") or os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
BIN = os.environ.get("TRIMSERVE_BIN", os.path.join(SRC, "build", "trimserve"))
sys.path.insert(0, os.path.join(SRC, "tools"))
import bpe_tokenizer as bt  # noqa: E402
import make_corpus  # noqa: E402
import recall_dialogues as rd  # noqa: E402
import recall_facts  # noqa: E402
import tiny_tokenizer  # noqa: E402
import train_tokenizer  # noqa: E402

VOCAB = 300
TRAIN_TEXT = """\
The keeper of the harbour light kept a careful log. Every evening she wrote the wind, the
weather and the boats that came home before dark, and every morning she read it back.
We the people of the valley have resolved to build a bridge over the river, to repair the
old mill and to open a school in every village before the winter of 1851.
"""
# Held out: never seen in training; punctuation, digits, accents, CJK, emoji, odd whitespace.
HELDOUT_TEXTS = [
    "Congress shall meet on the first Monday of December, 1923; the Treasury reports $4,417,000.",
    "Ça va? Straße, naïve café — 東京タワー 🙂 x²  \t\n\n  end",
    "<|im_start|>user\nWhat's my locker code?<|im_end|>\n<think>\n\n</think>\n\n4417<|im_end|>",
    "It's  two   spaces\r\nand U+0085 \u0085 and U+2028 \u2028 line\u00a0breaks",
]


def run_bin(args, lines):
    out = subprocess.run([BIN, *args], input="".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines),
                         capture_output=True, text=True, check=True).stdout
    return [json.loads(x) for x in out.split("\n")[:-1]]  # not splitlines(): U+2028 is text


class TrainTokenizerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        passages = rd.builtin_passages()
        cls.train_dialogues = rd.generate(12, 7, "train", passages)
        cls.heldout_dialogues = rd.generate(3, 7, "heldout", passages)
        texts = [TRAIN_TEXT] + [bt.render_chat(rd.dialogue_messages(d)) for d in cls.train_dialogues]
        cls.tok, cls.info = train_tokenizer.train(texts, VOCAB, log=lambda *a: None)
        cls.tmp = tempfile.TemporaryDirectory()
        cls.dir = cls.tmp.name
        cls.tok.write(cls.dir, 2048)
        with open(os.path.join(cls.dir, "tokenizer.json"), encoding="utf-8") as f:
            cls.tj = json.load(f)
        with open(os.path.join(cls.dir, "tokenizer_config.json"), encoding="utf-8") as f:
            cls.tc = json.load(f)
        cls.heldout = HELDOUT_TEXTS + [bt.render_chat(rd.dialogue_messages(d)) for d in cls.heldout_dialogues]

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_layout_is_qwen3s(self):
        tj = self.tj
        self.assertEqual(tj["normalizer"], {"type": "NFC"})
        pre = tj["pre_tokenizer"]
        self.assertEqual(pre["type"], "Sequence")
        self.assertEqual([p["type"] for p in pre["pretokenizers"]], ["Split", "ByteLevel"])
        self.assertEqual(pre["pretokenizers"][0]["pattern"], {"Regex": tiny_tokenizer.SPLIT_PATTERN})
        self.assertEqual(pre["pretokenizers"][0]["behavior"], "Isolated")
        self.assertEqual(tj["decoder"]["type"], "ByteLevel")
        model = tj["model"]
        self.assertEqual(model["type"], "BPE")
        nbpe = VOCAB - len(tiny_tokenizer.ADDED_TOKENS)
        self.assertEqual(len(model["vocab"]), nbpe)
        self.assertEqual(sorted(model["vocab"].values()), list(range(nbpe)))
        self.assertEqual(len(model["merges"]), nbpe - 256)
        for a, b in model["merges"]:
            self.assertIn(a, model["vocab"])
            self.assertIn(b, model["vocab"])
            self.assertIn(a + b, model["vocab"])
        self.assertEqual([(t["id"], t["content"], t["special"]) for t in tj["added_tokens"]],
                         [(nbpe + i, c, s) for i, (c, s) in enumerate(tiny_tokenizer.ADDED_TOKENS)])
        self.assertEqual(self.tok.size, VOCAB)
        self.assertEqual(self.tc["chat_template"], tiny_tokenizer.CHAT_TEMPLATE)
        self.assertEqual(self.tc["eos_token"], "<|im_end|>")
        self.assertEqual(self.tc["model_max_length"], 2048)
        # The same file tiny_tokenizer writes for these merges.
        self.assertEqual(tj, tiny_tokenizer.TinyTokenizer(self.tok.merges).tokenizer_json())
        # Special tokens are never learned as BPE pieces.
        self.assertFalse(any("<|" in t or "|>" in t for t in model["vocab"]))

    def test_training_is_deterministic(self):
        texts = [TRAIN_TEXT] + [bt.render_chat(rd.dialogue_messages(d)) for d in self.train_dialogues]
        again, _ = train_tokenizer.train(texts, VOCAB, log=lambda *a: None)
        self.assertEqual(again.merges, self.tok.merges)

    def test_fast_trainer_matches_tiny_tokenizer(self):
        text = tiny_tokenizer.SAMPLE_TEXT + tiny_tokenizer.synthetic_text(300)
        wf = bt.to_byte_level_freq(collections.Counter(tiny_tokenizer._TRAIN_SPLIT.findall(text)))
        self.assertEqual(bt.learn_merges(wf, num_merges=400), tiny_tokenizer.train_bpe(text, 400))

    def test_python_round_trip(self):
        for t in self.heldout:
            ids = self.tok.encode(t)
            self.assertEqual(self.tok.decode(ids), unicodedata.normalize("NFC", t))
            self.assertEqual(bt.BpeTokenizer.load(self.dir).encode(t), ids)

    @unittest.skipUnless(os.path.exists(BIN), "trimserve binary not built")
    def test_cpp_agrees_id_for_id(self):
        for args, special in (([], True), (["--no-special"], False)):
            cc = run_bin(["tokenize", "--model", self.dir, *args], self.heldout)
            py = [self.tok.encode(t, parse_special=special) for t in self.heldout]
            for t, a, b in zip(self.heldout, py, cc):
                self.assertEqual(a, b, f"{args}: {t[:60]!r}")
        py = [self.tok.encode(t) for t in self.heldout]
        dec = run_bin(["tokenize", "--model", self.dir, "--decode"], py)
        self.assertEqual(dec, [unicodedata.normalize("NFC", t) for t in self.heldout])
        problems = train_tokenizer.check_against_binary(
            self.tok, self.dir, BIN, self.heldout,
            rd.dialogue_messages(self.heldout_dialogues[0], with_answer=False))
        self.assertEqual(problems, [])


class RecallDialoguesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        passages = rd.builtin_passages()
        cls.train = rd.generate(300, 3, "train", passages)
        cls.heldout = rd.generate(120, 3, "heldout", passages)

    def test_deterministic(self):
        self.assertEqual(rd.generate(20, 3, "heldout", rd.builtin_passages()), self.heldout[:20])
        self.assertNotEqual(rd.generate(5, 4, "heldout", rd.builtin_passages()), self.heldout[:5])

    def test_format(self):
        for d in self.train + self.heldout:
            self.assertEqual(sorted(d), ["answer", "id", "question", "turns"])
            self.assertTrue(rd.MIN_EXCHANGES <= len(d["turns"]) + 1 <= rd.MAX_EXCHANGES, d["id"])
            for t in d["turns"]:
                self.assertEqual(sorted(t), ["assistant", "user"])
                self.assertTrue(t["user"] and t["assistant"])
        self.assertEqual(self.heldout[17]["id"], "d17")

    def test_value_pools_disjoint(self):
        for name in recall_facts._LIST_POOLS:
            tr, he = set(recall_facts.pool(name, "train")), set(recall_facts.pool(name, "heldout"))
            self.assertTrue(tr and he, name)
            self.assertFalse(tr & he, name)
        train_answers = {d["answer"] for d in self.train}
        held_answers = {d["answer"] for d in self.heldout}
        self.assertFalse(train_answers & held_answers)
        # List answers share no item either.
        def items(answers):
            lists = [a for a in answers if "," in a or " and " in a]
            return {x for a in lists for x in a.replace(" and ", ", ").split(", ")}
        self.assertFalse(items(train_answers) & items(held_answers))

    def test_answer_stated_early_once_and_not_in_question(self):
        categories = set()
        for d in self.heldout + self.train:
            a = d["answer"]
            self.assertFalse(rd.mentions(d["question"], a), d["id"])
            where = [i for i, t in enumerate(d["turns"])
                     if rd.mentions(t["user"], a) or rd.mentions(t["assistant"], a)]
            self.assertEqual(len(where), 1, f"{d['id']}: answer {a!r} in exchanges {where}")
            self.assertTrue(rd.mentions(d["turns"][where[0]]["user"], a), d["id"])
            self.assertLessEqual(where[0], 8, d["id"])  # stated among the first exchanges
            self.assertEqual(rd.dialogue_messages(d)[-1], {"role": "assistant", "content": a})
            categories.add(next(s[1] for s in recall_facts.FACT_SPECS if d["question"] in s[5]))
        self.assertEqual(categories, set(recall_facts.FACT_CATEGORIES))

    def test_distances_vary(self):
        # Characters from the statement to the question, as a proxy for tokens (~4.3 chars each).
        far = 0
        for d in self.heldout:
            text = bt.render_chat(rd.dialogue_messages(d, with_answer=False))
            q = text.rfind("<|im_start|>user\n")
            far += (q - text.rfind(d["answer"], 0, q)) / rd.CHARS_PER_TOKEN >= 500
        self.assertGreater(far, len(self.heldout) // 3)

    def test_sentence_runs(self):
        runs = rd.sentence_runs("Mr. Speaker, thank you all. We met in Washington today and talked "
                                "at length. The U.S. economy grew. Our farms are strong and our "
                                "factories are busy. Our schools need help from every one of us this year.")
        self.assertEqual(runs, [["Our farms are strong and our factories are busy.",
                                 "Our schools need help from every one of us this year."]])
        self.assertEqual(make_corpus.clean_text("a\u0002b \n  c\u0065\u0301"), "ab c\u00e9")


if __name__ == "__main__":
    unittest.main()
