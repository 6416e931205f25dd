"""Byte-level BPE at corpus scale: an exact pre-tokenizer, a fast trainer and an encoder that
agree id for id with trimserve's C++ tokenizer on the files tools/tiny_tokenizer.py writes.

tiny_tokenizer owns the file layout (TinyTokenizer.tokenizer_json / tokenizer_config_json, the
added tokens, the ChatML template); this module extends it:

- `pre_tokenize(text)`: the Qwen3 Split regex (tiny_tokenizer.SPLIT_PATTERN) evaluated exactly
  as the daemon does (PCRE2 with Unicode properties). Python's `re` has no \\p{L} / \\p{N}, so
  the classes are spelled out from `unicodedata` (L* letters, N* numbers; `\\s` = Z* + \\t\\n\\v
  \\f\\r + U+0085, Oniguruma's White_Space, which is what engine/pretokenizer.cpp matches).
- `learn_merges(word_freq, ...)`: the same merge rule as tiny_tokenizer.train_bpe (most frequent
  adjacent pair, ties to the smallest pair; counts over a word-frequency table), but with a heap
  and incremental pair counts, so ~6k merges over a 100 MB corpus take minutes, not hours.
- `BpeTokenizer`: a TinyTokenizer that also encodes (added tokens, NFC, pre-tokenize, byte map,
  BPE by merge rank) and decodes; `BpeTokenizer.load(dir)` reads a written tokenizer.json.
- `render_chat(messages, ...)`: the ChatML template rendered by jinja2 as transformers does.
"""
import bisect
import collections
import heapq
import json
import os
import re
import sys
import unicodedata

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tiny_tokenizer  # noqa: E402
from tiny_tokenizer import ADDED_TOKENS, CHAT_TEMPLATE, TinyTokenizer, bytes_to_unicode  # noqa: E402,F401


def _class_bodies():
    """`re` character-class bodies (no brackets) for \\p{L}, \\p{N} and \\s, from one pass over
    every code point."""
    ranges = {"L": [], "N": [], "Z": []}
    open_at = {}
    prev_cat = None
    for cp in range(0x110000 + 1):
        cat = unicodedata.category(chr(cp))[0] if cp < 0x110000 and not 0xD800 <= cp <= 0xDFFF else None
        if cat != prev_cat:
            if prev_cat in ranges:
                ranges[prev_cat].append((open_at[prev_cat], cp - 1))
            if cat in ranges:
                open_at[cat] = cp
            prev_cat = cat
    esc = lambda cp: "\\U%08x" % cp  # noqa: E731
    return {k: "".join(esc(a) if a == b else esc(a) + "-" + esc(b) for a, b in v)
            for k, v in ranges.items()}


def _build_split_regex():
    c = _class_bodies()
    L, N = c["L"], c["N"]
    S = "\\t\\n\\x0b\\x0c\\r\\x85" + c["Z"]
    # tiny_tokenizer.SPLIT_PATTERN, term by term:
    #   (?i:'s|'t|'re|'ve|'m|'ll|'d) | [^\r\n\p{L}\p{N}]?\p{L}+ | \p{N} | ?[^\s\p{L}\p{N}]+[\r\n]*
    #   | \s*[\r\n]+ | \s+(?!\S) | \s+
    pattern = (f"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n{L}{N}]?[{L}]+|[{N}]"
               f"| ?[^{S}{L}{N}]+[\\r\\n]*|[{S}]*[\\r\\n]+|[{S}]+(?![^{S}])|[{S}]+")
    return re.compile(pattern)


_SPLIT = None


def pre_tokenize(text):
    """The pieces the Split step cuts `text` (already NFC-normalized) into, as the daemon does."""
    global _SPLIT
    if _SPLIT is None:
        _SPLIT = _build_split_regex()
    return _SPLIT.findall(text)


_BYTE_MAP = [ch for _, ch in sorted(bytes_to_unicode())]          # byte value -> character
_BYTE_UNMAP = {ch: b for b, ch in bytes_to_unicode()}             # character -> byte value


def byte_level(piece):
    """A piece's UTF-8 bytes as GPT-2's printable byte characters."""
    return "".join(_BYTE_MAP[b] for b in piece.encode("utf-8"))


def split_added(text, added_contents):
    """Splits `text` around occurrences of the given added-token strings (leftmost, then
    longest). Returns [(is_added, text), ...] in order; empty plain pieces are dropped."""
    if not added_contents:
        return [(False, text)] if text else []
    alt = re.compile("|".join(re.escape(a) for a in sorted(added_contents, key=lambda s: (-len(s), s))))
    out, pos = [], 0
    for m in alt.finditer(text):
        if m.start() > pos:
            out.append((False, text[pos:m.start()]))
        out.append((True, m.group(0)))
        pos = m.end()
    if pos < len(text):
        out.append((False, text[pos:]))
    return out


def word_frequencies(texts, counter=None):
    """Word-frequency table for training: each text is split around the added tokens (never
    learned as BPE), NFC-normalized and pre-tokenized; keys are byte-level strings."""
    raw = collections.Counter() if counter is None else counter
    specials = [c for c, _ in ADDED_TOKENS]
    for text in texts:
        for is_added, piece in split_added(text, specials):
            if not is_added:
                raw.update(pre_tokenize(unicodedata.normalize("NFC", piece)))
    return raw


def to_byte_level_freq(raw):
    out = collections.Counter()
    for w, f in raw.items():
        out[byte_level(w)] += f
    return out


def learn_merges(word_freq, num_merges=None, bpe_vocab_size=None, progress=None):
    """Merges learned on {byte-level word: frequency}: repeatedly the most frequent adjacent
    pair (counted with overlaps, as tiny_tokenizer.train_bpe does), ties to the smallest
    (left, right). Stops after `num_merges` merges or once the vocabulary (256 bytes + distinct
    merged tokens) reaches `bpe_vocab_size`, or when no pair is left. A pair that re-forms after
    it was merged (possible when a token is recreated by another split) is merged again in the
    words but not listed twice. `progress(num_merges_so_far)` is called every 500 merges."""
    keys = sorted(word_freq)
    words = [list(w) for w in keys]
    freqs = [word_freq[w] for w in keys]
    pair_count = collections.defaultdict(int)
    pair_words = collections.defaultdict(set)
    for i, w in enumerate(words):
        f = freqs[i]
        for a, b in zip(w, w[1:]):
            pair_count[(a, b)] += f
            pair_words[(a, b)].add(i)
    heap = [(-c, a, b) for (a, b), c in pair_count.items()]
    heapq.heapify(heap)
    vocab = set(_BYTE_MAP)
    merges, merged_pairs = [], set()

    def done():
        if num_merges is not None and len(merges) >= num_merges:
            return True
        return bpe_vocab_size is not None and len(vocab) >= bpe_vocab_size

    while heap and not done():
        negc, a, b = heapq.heappop(heap)
        if pair_count.get((a, b), 0) != -negc or negc == 0:
            continue  # stale heap entry
        if (a, b) not in merged_pairs:
            merged_pairs.add((a, b))
            merges.append((a, b))
            vocab.add(a + b)
            if progress and len(merges) % 500 == 0:
                progress(len(merges))
        new = a + b
        changed = set()
        for i in pair_words.pop((a, b), ()):
            w, f = words[i], freqs[i]
            out, j, n, hit = [], 0, len(w), False
            while j < n:
                if j + 1 < n and w[j] == a and w[j + 1] == b:
                    out.append(new)
                    j += 2
                    hit = True
                else:
                    out.append(w[j])
                    j += 1
            if not hit:
                continue
            for x, y in zip(w, w[1:]):
                pair_count[(x, y)] -= f
                changed.add((x, y))
            for x, y in zip(out, out[1:]):
                pair_count[(x, y)] += f
                pair_words[(x, y)].add(i)
                changed.add((x, y))
            words[i] = out
        for p in changed:
            c = pair_count[p]
            if c > 0:
                heapq.heappush(heap, (-c, p[0], p[1]))
            else:
                del pair_count[p]
        pair_count.pop((a, b), None)
    return merges


class BpeTokenizer(TinyTokenizer):
    """A TinyTokenizer (same files) that also encodes and decodes like the daemon."""

    def __init__(self, merges):
        super().__init__(merges)
        self.ranks = {}
        for r, (a, b) in enumerate(self.merges):
            self.ranks.setdefault((a, b), r)
        self.id_to_token = {i: t for t, i in self.vocab.items()}
        for i, content, _ in self.added:
            self.id_to_token[i] = content
        self.added_ids = {i for i, _, _ in self.added}
        self._all_added = [c for _, c, _ in self.added]
        self._nonspecial_added = [c for _, c, s in self.added if not s]
        self._cache = {}

    @classmethod
    def load(cls, path):
        """From a tokenizer.json (or a directory holding one) written by this module or by
        tiny_tokenizer. The added tokens must be tiny_tokenizer.ADDED_TOKENS."""
        if os.path.isdir(path):
            path = os.path.join(path, "tokenizer.json")
        with open(path, encoding="utf-8") as f:
            j = json.load(f)
        tok = cls([tuple(m) for m in j["model"]["merges"]])
        if tok.vocab != j["model"]["vocab"]:
            raise ValueError(f"{path}: vocab is not the one its merges imply")
        if [(a["id"], a["content"], a["special"]) for a in j["added_tokens"]] != tok.added:
            raise ValueError(f"{path}: added tokens differ from tiny_tokenizer.ADDED_TOKENS")
        return tok

    def _bpe(self, word):
        ids = self._cache.get(word)
        if ids is not None:
            return ids
        parts = list(word)
        ranks = self.ranks
        while len(parts) > 1:
            best, best_rank = -1, None
            for i in range(len(parts) - 1):
                r = ranks.get((parts[i], parts[i + 1]))
                if r is not None and (best_rank is None or r < best_rank):
                    best, best_rank = i, r
            if best < 0:
                break
            a, b = parts[best], parts[best + 1]
            out, i, n = [], 0, len(parts)
            while i < n:
                if i + 1 < n and parts[i] == a and parts[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(parts[i])
                    i += 1
            parts = out
        ids = [self.vocab[p] for p in parts]
        if len(self._cache) < 1_000_000:
            self._cache[word] = ids
        return ids

    def encode(self, text, parse_special=True, offsets=False):
        """Token ids of `text` (as `trimserve tokenize`; parse_special=False is --no-special:
        special added tokens are plain text, non-special ones still match). With
        offsets=True returns (ids, starts): starts[k] is the character offset in the
        NFC-normalized text of the piece token k belongs to."""
        ids, starts = [], []
        base = 0
        added = self._all_added if parse_special else self._nonspecial_added
        for is_added, piece in split_added(text, added):
            if is_added:
                ids.append(self.ids[piece])
                starts.append(base)
                base += len(piece)
                continue
            piece = unicodedata.normalize("NFC", piece)
            if offsets:
                pos = base
                for w in pre_tokenize(piece):
                    wid = self._bpe(byte_level(w))
                    ids.extend(wid)
                    starts.extend([pos] * len(wid))
                    pos += len(w)
            else:
                for w in pre_tokenize(piece):
                    ids.extend(self._bpe(byte_level(w)))
            base += len(piece)
        return (ids, starts) if offsets else ids

    def decode(self, ids, skip_special=False):
        out, buf = [], bytearray()
        special = {i for i, _, s in self.added if s}
        for i in ids:
            if i in self.added_ids:
                if buf:
                    out.append(buf.decode("utf-8", errors="replace"))
                    buf = bytearray()
                if not (skip_special and i in special):
                    out.append(self.id_to_token[i])
            else:
                buf.extend(_BYTE_UNMAP[c] for c in self.id_to_token[i])
        if buf:
            out.append(buf.decode("utf-8", errors="replace"))
        return "".join(out)

    def write(self, out_dir, model_max_length):
        """tokenizer.json + tokenizer_config.json (ChatML template) into out_dir."""
        os.makedirs(out_dir, exist_ok=True)
        config = self.tokenizer_config_json(CHAT_TEMPLATE, model_max_length)
        for name, obj in (("tokenizer.json", self.tokenizer_json()), ("tokenizer_config.json", config)):
            tmp = os.path.join(out_dir, name + ".tmp")
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(obj, f, ensure_ascii=False, indent=2)
                f.write("\n")
            os.replace(tmp, os.path.join(out_dir, name))


def token_index_at(starts, char_offset):
    """Index of the first token whose piece starts at or after `char_offset`."""
    return bisect.bisect_left(starts, char_offset)


_TEMPLATE = None


def render_chat(messages, add_generation_prompt=False, enable_thinking=None):
    """The chat template (tiny_tokenizer.CHAT_TEMPLATE) rendered as transformers renders it."""
    global _TEMPLATE
    if _TEMPLATE is None:
        import jinja2
        env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True)
        _TEMPLATE = env.from_string(tiny_tokenizer.CHAT_TEMPLATE)
    kw = {"messages": messages, "add_generation_prompt": add_generation_prompt}
    if enable_thinking is not None:
        kw["enable_thinking"] = enable_thinking
    return _TEMPLATE.render(**kw)
