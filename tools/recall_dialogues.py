"""Synthetic long multi-turn dialogues for learning (and measuring) recall of facts stated early.

Each dialogue: 6-20 user/assistant exchanges counting the final question (so 5-19 `turns`).
Early user turns state 1-4 facts (numeric codes, reference numbers, names of people and pets,
places, dates and times, colours, short lists, quantities, favourites; several phrasings each),
sometimes several in one turn; facts of the same category with different keys (a locker code
and a gate code, a dog and a cat) act as confusers. Then distractor exchanges whose answers are
correct by construction (arithmetic, conversions, weekdays, word and list puzzles, passages of
State of the Union addresses to quote or inspect, advice, short explanations, small talk) fill
the distance up to a sampled target, and the last user turn asks for one of the facts
(tools/recall_facts.py: facts and value pools; tools/recall_chatter.py: distractors;
tools/recall_banks.py: word lists and canned text):

    {"id": "d17", "turns": [{"user": "...", "assistant": "..."}, ...],
     "question": "What was my locker code?", "answer": "4417"}

The answer is exactly the value as stated in an early turn and appears nowhere else: no other
fact, distractor or question contains it as a whole word. Values are split between "train" and
"heldout" by a hash of the value string (value_split), so the two never share an answer value
(list answers: never share an item). Generation is deterministic: dialogue i of (seed, split)
depends only on those three and on the passages given.

Distances are targeted in characters (CHARS_PER_TOKEN converts the token targets; calibrated
with the corpus tokenizer): ~12% of questions are asked within ~450 tokens of the fact, ~75%
500-1500 tokens after it, the rest up to ~1800; whole dialogues stay under 2048 tokens.
"""
import random

import recall_chatter as C
import recall_facts as F
from recall_chatter import builtin_passages, sentence_runs  # noqa: F401  (make_corpus, tests)
from recall_facts import mentions, value_split  # noqa: F401

CHARS_PER_TOKEN = 4.3      # rendered dialogue characters per token (corpus tokenizer: 0.231 tokens/char)
MAX_TOKENS = 1800          # target upper bound of a whole rendered dialogue (context 2048)
MESSAGE_OVERHEAD = 20      # characters a ChatML message adds around its content (approx.)
MIN_EXCHANGES, MAX_EXCHANGES = 6, 20

ACK_ONE = ["Got it: {c}.", "Noted, {c}.", "Okay, I'll remember that {c}.", "Understood.",
           "Sure, noted.", "Thanks, I'll keep that in mind.", "Noted. Anything else?",
           "All right, {c}. I'll remember."]
ACK_MANY = ["Got it: {c}.", "Noted: {c}.", "Okay, I'll remember all of that.", "Understood, all noted.",
            "Thanks. So {c}. I'll keep that in mind."]
GROUP_INTROS = ["A few things to remember. ", "Before I forget: ", "Some notes for later. ", "",
                "Quick notes: "]


def _ack(rng, facts):
    if len(facts) == 1:
        return rng.choice(ACK_ONE).replace("{c}", facts[0].clause)
    c = ", ".join(f.clause for f in facts[:-1]) + " and " + facts[-1].clause
    return rng.choice(ACK_MANY).replace("{c}", c)


def _target_tokens(rng):
    x = rng.random()
    if x < 0.12:
        return rng.randint(30, 450)
    if x < 0.88:
        return rng.randint(500, 1450)
    return rng.randint(1450, 1750)


def _chars(turn):
    return len(turn["user"]) + len(turn["assistant"]) + 2 * MESSAGE_OVERHEAD


def make_dialogue(index, seed, split, passages):
    """Dialogue `index` of (seed, split): {"id", "turns", "question", "answer"}. `passages` is a
    list of (source or None, [sentence, ...]) runs for passage chatter."""
    rng = random.Random(f"recall:{seed}:{split}:{index}")
    ctx = {"passages": passages}
    n_facts = rng.choices([1, 2, 3, 4], weights=[3, 4, 3, 1])[0]
    specs, keys = [], set()
    while len(specs) < n_facts:
        # Category first (so big categories do not dominate), sometimes repeated as a confuser.
        if specs and rng.random() < 0.35:
            cat = rng.choice(specs)[1]
        else:
            cat = rng.choice(F.FACT_CATEGORIES)
        spec = rng.choice([s for s in F.FACT_SPECS if s[1] == cat])
        if spec[0] not in keys:
            keys.add(spec[0])
            specs.append(spec)
    facts, values = [], []
    for spec in specs:
        f = F.make_fact(rng, spec, split, values)
        facts.append(f)
        values.append(f.value)
    asked = rng.randrange(n_facts)
    forbidden = values

    # Facts go into 1..n user turns (in order), each acknowledged.
    groups, i = [], 0
    while i < n_facts:
        k = rng.choice([1, 1, 2]) if n_facts - i > 1 else 1
        groups.append(facts[i:i + k])
        i += k
    turns, asked_turn = [], None
    for g in groups:
        if len(g) == 1:
            user = g[0].statement
        else:
            user = rng.choice(GROUP_INTROS) + " ".join(f.statement for f in g)
        turns.append({"user": user, "assistant": _ack(rng, g)})
        if facts[asked] in g:
            asked_turn = len(turns) - 1
        if rng.random() < 0.3:
            u, a = C.distractor(rng, ctx, 150, forbidden)
            turns.append({"user": u, "assistant": a})

    target = _target_tokens(rng) * CHARS_PER_TOKEN
    cap = MAX_TOKENS * CHARS_PER_TOKEN
    max_turns = MAX_EXCHANGES - 1
    distance = sum(_chars(t) for t in turns[asked_turn + 1:]) + MESSAGE_OVERHEAD
    total = sum(_chars(t) for t in turns) + 200
    while distance < target and len(turns) < max_turns:
        slots = max_turns - len(turns)
        remaining = target - distance
        want = remaining / max(1, min(slots, rng.randint(2, 8)))
        u, a = C.distractor(rng, ctx, want, forbidden)
        t = {"user": u, "assistant": a}
        if total + _chars(t) > cap:
            u, a = C.distractor(rng, ctx, 100, forbidden)
            t = {"user": u, "assistant": a}
            if total + _chars(t) > cap:
                break
        turns.append(t)
        distance += _chars(t)
        total += _chars(t)
    # Too few exchanges: short chatter before the facts (does not change the distance).
    while len(turns) + 1 < MIN_EXCHANGES:
        u, a = C.distractor(rng, ctx, 100, forbidden)
        turns.insert(0, {"user": u, "assistant": a})
    ids = {"train": "t", "heldout": "d"}[split]
    return {"id": f"{ids}{index}", "turns": turns, "question": facts[asked].question,
            "answer": facts[asked].value}


def generate(n, seed, split, passages, start=0):
    """Dialogues start .. start+n-1 of (seed, split)."""
    return [make_dialogue(i, seed, split, passages) for i in range(start, start + n)]


def dialogue_messages(d, with_answer=True):
    """A dialogue as chat messages: the turns, the question, and (with_answer) the answer."""
    msgs = []
    for t in d["turns"]:
        msgs.append({"role": "user", "content": t["user"]})
        msgs.append({"role": "assistant", "content": t["assistant"]})
    msgs.append({"role": "user", "content": d["question"]})
    if with_answer:
        msgs.append({"role": "assistant", "content": d["answer"]})
    return msgs
