"""Byte-level BPE tokenizer files for trimserve's tiny test models (Qwen3 format).

A tiny model needs a real tokenizer so that the daemon's tokenizer, chat template and
detokenizer run their production code paths. This module learns a small byte-level BPE on an
embedded sample text and writes `tokenizer.json` / `tokenizer_config.json` in exactly the
layout Qwen3 ships (normalizer NFC; pre_tokenizer Sequence[Split(regex), ByteLevel]; decoder
ByteLevel; model BPE with vocab + merges as [left, right] pairs; added_tokens after the BPE ids).

Ids: 0..255 are the byte tokens in GPT-2 order, then one id per merge, then the added tokens.
Training is deterministic: the most frequent adjacent pair wins, ties go to the smallest pair.
"""
import collections
import re

# The Qwen2/Qwen3 pre-tokenizer split pattern (what tokenizer.json declares; the daemon and the
# reference tokenizers apply it with Unicode property classes).
SPLIT_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
                 r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")

# Training only: the same split with Python `re` classes standing in for \p{L} / \p{N}. A
# slightly different split only changes which merges are learned, never the file's validity.
_TRAIN_SPLIT = re.compile(r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\w]?[^\W\d_]+|\d"
                          r"| ?[^\s\w]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+|_+")

# (content, special) in id order after the BPE vocabulary; `special` as Qwen3 marks them
# (skip_special_tokens drops only the special ones; <think> stays visible).
ADDED_TOKENS = [
    ("<|endoftext|>", True),
    ("<|im_start|>", True),
    ("<|im_end|>", True),
    ("<tool_call>", False),
    ("</tool_call>", False),
    ("<tool_response>", False),
    ("</tool_response>", False),
    ("<think>", False),
    ("</think>", False),
]

# Written for this project: a little of everything a chat model sees (prose, dialogue, code,
# numbers, markup, accents, CJK, Cyrillic, emoji) so that merges cover common shapes.
SAMPLE_TEXT = """\
The lighthouse keeper wrote in her log every evening at seven. "Wind from the north-east,
visibility good, two fishing boats returned before dark." She liked the routine: the lamp,
the stairs, the kettle, the quiet. On Tuesdays the supply boat came with letters, flour,
lamp oil and, once a month, a crate of books from the library on the mainland.

Memory is a budget. A reader who remembers every word of a long novel is rare; most of us keep
the names, the turning points and a few sentences that struck us, and we forget the rest. A
language model that serves many people at once has the same problem: its cache of keys and
values grows with every token, and the machine has only so much room. Deciding what to keep,
and what to let go, is the whole game.

To make a simple tomato soup, warm two tablespoons of olive oil in a heavy pot. Add one chopped
onion and three cloves of garlic, and cook them slowly for ten minutes until soft. Stir in
800 grams of tomatoes, 500 ml of stock, a pinch of salt and a teaspoon of sugar. Simmer for
twenty-five minutes, blend until smooth, and finish with fresh basil and black pepper.

Q: How many minutes are in a day?
A: There are 24 hours in a day and 60 minutes in an hour, so 24 * 60 = 1440 minutes.
Q: What is 17 + 25?
A: 17 + 25 = 42.
Q: Is 97 a prime number?
A: Yes. It is not divisible by 2, 3, 5 or 7, and 11 * 11 = 121 is already larger than 97.

def count_words(text: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for word in text.lower().split():
        word = word.strip(".,;:!?\\"'()")
        if word:
            counts[word] = counts.get(word, 0) + 1
    return counts

for (int i = 0; i < n; ++i) {
    sum += values[i] * weights[i];
}
if (sum > threshold) return true;

{"model": "tiny", "messages": [{"role": "user", "content": "Hello!"}], "stream": true}
<html><body><p class="note">Saved at 12:30 on 2024-05-17.</p></body></html>

The committee met on Monday, Wednesday and Friday. Members discussed the schedule, the
budget, the new building, the old bridge and the river path. Everyone agreed that the bridge
needed repairs before winter; nobody agreed on who should pay for them. In the end they voted:
seven in favour, four against, and two who said they would think about it.

Astronomers measure distances to nearby stars by parallax. As the Earth moves around the Sun,
a close star seems to shift against the far background. The smaller the shift, the farther
the star. One parsec is the distance at which the shift is one second of arc, about 3.26 light
years, or roughly 31 trillion kilometres.

User: Can you summarise the meeting notes in three bullet points?
Assistant: Sure. Here is a short summary:
- The bridge will be repaired before winter.
- The budget for the new building is still open.
- The next meeting is on the first Monday of the month.

Travel notes: a café in Paris, a Straße in Berlin, a naïve question in Lisbon, a fjord in
Norway. In Tokyo we saw 東京タワー at night; in Moscow someone said "Привет, как дела?". The
children drew a sun ☀ and a smiling face 🙂 on the postcard and signed it with love.

Numbers and units: 3.14159, 2.71828, 1,000,000, 0.001, 42%, $19.99, 7 km/h, -40 degrees,
version 1.2.3, ids 0x1F and 0b1010, dates like 1999-12-31 and times like 23:59:59.

She asked, "Why do we forget?" He thought for a while. "Because remembering everything would
leave no room for what comes next. Forgetting is not a failure of memory; it is how memory
makes space." She wrote that down, closed the notebook, and went up to light the lamp.

Good software is written twice: once to learn what the problem is, and once to solve it.
Tests tell you when you are done; reviews tell you when you are wrong; users tell you when you
were solving the wrong problem all along. Keep functions small, names honest, errors loud.

The gardener planted beans in April, potatoes in May and pumpkins in June. By September the
shed was full of baskets, the neighbours were full of soup, and the gardener was already
planning next year: more tomatoes, fewer courgettes, and a proper fence against the rabbits.
"""


_SYLLABLES = ("ka ri to mu se na lo pe vi da shu ren gal tor mis ve qua bel dor fin "
              "zo ha ly un ex pra stel cor vin ab ol tra mek sil nu ga po").split()


def synthetic_text(num_words, seed=12345):
    """Deterministic pseudo-words (2-4 syllables) in sentences: extra training text for a
    larger vocabulary than the sample text alone can yield."""
    state = seed
    words = []
    for i in range(num_words):
        parts = []
        for _ in range(2 + state % 3):
            state = (state * 6364136223846793005 + 1442695040888963407) % (1 << 64)
            parts.append(_SYLLABLES[(state >> 33) % len(_SYLLABLES)])
        word = "".join(parts)
        words.append(word.capitalize() if i % 11 == 0 else word)
        if i % 11 == 10:
            words[-1] += "."
    return " ".join(words) + "\n"


def bytes_to_unicode():
    """GPT-2's reversible byte -> printable character map, in vocabulary id order."""
    bs = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("\u00a1"), ord("\u00ac") + 1))
          + list(range(ord("\u00ae"), ord("\u00ff") + 1)))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [(b, chr(c)) for b, c in zip(bs, cs)]


def train_bpe(text, num_merges):
    """Returns up to `num_merges` merges [(left, right), ...] learned on `text`."""
    byte_map = dict(bytes_to_unicode())
    word_freq = collections.Counter(
        "".join(byte_map[b] for b in piece.encode("utf-8")) for piece in _TRAIN_SPLIT.findall(text))
    words = [list(w) for w in sorted(word_freq)]
    freqs = [word_freq[w] for w in sorted(word_freq)]

    pair_count = collections.Counter()
    pair_words = collections.defaultdict(set)
    for i, w in enumerate(words):
        for a, b in zip(w, w[1:]):
            pair_count[(a, b)] += freqs[i]
            pair_words[(a, b)].add(i)

    merges = []
    while len(merges) < num_merges and pair_count:
        best = min(pair_count.items(), key=lambda kv: (-kv[1], kv[0]))[0]
        merges.append(best)
        merged = best[0] + best[1]
        for i in sorted(pair_words.pop(best, ())):
            w = words[i]
            for a, b in zip(w, w[1:]):
                pair_count[(a, b)] -= freqs[i]
                if pair_count[(a, b)] <= 0:
                    del pair_count[(a, b)]
            out, j = [], 0
            while j < len(w):
                if j + 1 < len(w) and w[j] == best[0] and w[j + 1] == best[1]:
                    out.append(merged)
                    j += 2
                else:
                    out.append(w[j])
                    j += 1
            words[i] = out
            for a, b in zip(out, out[1:]):
                pair_count[(a, b)] += freqs[i]
                pair_words[(a, b)].add(i)
        pair_count.pop(best, None)
    return merges


class TinyTokenizer:
    """A trained vocabulary: `vocab` {token: id}, `merges`, and the added tokens' ids."""

    def __init__(self, merges):
        self.merges = list(merges)
        self.vocab = {}
        for _, ch in bytes_to_unicode():
            self.vocab[ch] = len(self.vocab)
        for a, b in self.merges:
            # A merge may recreate an existing token through a different split; keep the first id.
            self.vocab.setdefault(a + b, len(self.vocab))
        base = len(self.vocab)
        self.added = [(base + i, content, special) for i, (content, special) in enumerate(ADDED_TOKENS)]
        self.ids = {content: i for i, content, _ in self.added}

    @property
    def size(self):
        """Ids in use: BPE vocabulary plus added tokens."""
        return len(self.vocab) + len(self.added)

    def tokenizer_json(self):
        byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False,
                      "use_regex": False}
        return {
            "version": "1.0",
            "truncation": None,
            "padding": None,
            "added_tokens": [
                {"id": i, "content": content, "single_word": False, "lstrip": False,
                 "rstrip": False, "normalized": False, "special": special}
                for i, content, special in self.added],
            "normalizer": {"type": "NFC"},
            "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": SPLIT_PATTERN}, "behavior": "Isolated",
                 "invert": False},
                dict(byte_level)]},
            "post_processor": dict(byte_level),
            "decoder": dict(byte_level),
            "model": {
                "type": "BPE", "dropout": None, "unk_token": None,
                "continuing_subword_prefix": "", "end_of_word_suffix": "", "fuse_unk": False,
                "byte_fallback": False, "ignore_merges": False,
                "vocab": self.vocab,
                "merges": [[a, b] for a, b in self.merges],
            },
        }

    def tokenizer_config_json(self, chat_template, model_max_length):
        return {
            "add_bos_token": False,
            "add_prefix_space": False,
            "added_tokens_decoder": {
                str(i): {"content": content, "lstrip": False, "normalized": False,
                         "rstrip": False, "single_word": False, "special": special}
                for i, content, special in self.added},
            "additional_special_tokens": ["<|im_start|>", "<|im_end|>"],
            "bos_token": None,
            "chat_template": chat_template,
            "clean_up_tokenization_spaces": False,
            "eos_token": "<|im_end|>",
            "errors": "replace",
            "model_max_length": model_max_length,
            "pad_token": "<|endoftext|>",
            "split_special_tokens": False,
            "tokenizer_class": "Qwen2Tokenizer",
            "unk_token": None,
        }


# ChatML in Qwen3's conventions, written for trimserve's tiny models: an optional system turn
# (with a tool list when `tools` is given), user/assistant/tool turns, assistant reasoning kept
# as a <think> block only for turns after the last real user query, and
# `enable_thinking=false` pre-filling an empty <think> block in the generation prompt. For
# conversations without tools it renders the same text as Qwen3's own template.
CHAT_TEMPLATE = """\
{#- trimserve tiny-model chat template (ChatML, Qwen3 conventions). -#}
{%- if tools %}
    {{- '<|im_start|>system\\n' }}
    {%- if messages[0].role == 'system' %}
        {{- messages[0].content + '\\n\\n' }}
    {%- endif %}
    {{- '# Tools\\n\\nFunctions you can call are listed in <tools></tools>, one JSON signature per line:\\n<tools>' }}
    {%- for tool in tools %}
        {{- '\\n' }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- '\\n</tools>\\n\\nTo call one, reply with <tool_call></tool_call> around {\"name\": <function-name>, \"arguments\": <args-json-object>}.<|im_end|>\\n' }}
{%- elif messages[0].role == 'system' %}
    {{- '<|im_start|>system\\n' + messages[0].content + '<|im_end|>\\n' }}
{%- endif %}
{%- set state = namespace(last_query=messages|length - 1, found=false) %}
{%- for i in range(messages|length) %}
    {%- set m = messages[messages|length - 1 - i] %}
    {%- if not state.found and m.role == 'user' %}
        {%- if not (m.content.startswith('<tool_response>') and m.content.endswith('</tool_response>')) %}
            {%- set state.found = true %}
            {%- set state.last_query = messages|length - 1 - i %}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- for m in messages %}
    {%- if m.role == 'user' or (m.role == 'system' and not loop.first) %}
        {{- '<|im_start|>' + m.role + '\\n' + m.content + '<|im_end|>\\n' }}
    {%- elif m.role == 'assistant' %}
        {%- set content = m.content %}
        {%- set reasoning = '' %}
        {%- if m.reasoning_content is defined and m.reasoning_content is not none %}
            {%- set reasoning = m.reasoning_content %}
        {%- elif '</think>' in content %}
            {%- set reasoning = content.split('</think>')[0].rstrip('\\n').split('<think>')[-1].lstrip('\\n') %}
            {%- set content = content.split('</think>')[-1].lstrip('\\n') %}
        {%- endif %}
        {%- if loop.index0 > state.last_query and (loop.last or reasoning) %}
            {{- '<|im_start|>assistant\\n<think>\\n' + reasoning.strip('\\n') + '\\n</think>\\n\\n' + content.lstrip('\\n') }}
        {%- else %}
            {{- '<|im_start|>assistant\\n' + content }}
        {%- endif %}
        {%- if m.tool_calls %}
            {%- for call in m.tool_calls %}
                {%- if content or not loop.first %}
                    {{- '\\n' }}
                {%- endif %}
                {%- if call.function %}
                    {%- set call = call.function %}
                {%- endif %}
                {{- '<tool_call>\\n{\"name\": \"' + call.name + '\", \"arguments\": ' }}
                {%- if call.arguments is string %}
                    {{- call.arguments }}
                {%- else %}
                    {{- call.arguments | tojson }}
                {%- endif %}
                {{- '}\\n</tool_call>' }}
            {%- endfor %}
        {%- endif %}
        {{- '<|im_end|>\\n' }}
    {%- elif m.role == 'tool' %}
        {%- if loop.first or messages[loop.index0 - 1].role != 'tool' %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\\n<tool_response>\\n' + m.content + '\\n</tool_response>' }}
        {%- if loop.last or messages[loop.index0 + 1].role != 'tool' %}
            {{- '<|im_end|>\\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
    {%- if enable_thinking is defined and enable_thinking is false %}
        {{- '<think>\\n\\n</think>\\n\\n' }}
    {%- endif %}
{%- endif %}
"""
