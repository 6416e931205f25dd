"""Distractor exchanges for the recall dialogues (tools/recall_dialogues.py): chatter that puts
distance between a fact and its question. Every assistant answer is correct by construction
(arithmetic, conversions, weekdays, word and list puzzles, questions about a passage of prose),
or canned (advice, explanations, small talk: tools/recall_banks.py).

Each d_* function takes (rng, ctx) and returns (user, assistant); ctx["passages"] is a list of
(source or None, [sentence, ...]) runs of consecutive sentences (sentence_runs).
"""
import re

import recall_banks as B
from recall_facts import ORDINALS, WEEKDAYS, mentions

def d_arithmetic(rng, ctx):
    op = rng.choice(["add", "sub", "mul", "mul", "div", "pct", "sq"])
    if op == "add":
        a, b = rng.randint(10, 999), rng.randint(10, 999)
        q = rng.choice([f"What is {a} plus {b}?", f"What's {a} + {b}?", f"Can you add {a} and {b}?"])
        return q, rng.choice([f"{a} + {b} = {a + b}.", f"{a} plus {b} is {a + b}."])
    if op == "sub":
        a, b = sorted((rng.randint(10, 999), rng.randint(10, 999)), reverse=True)
        q = rng.choice([f"What is {a} minus {b}?", f"What's {a} - {b}?", f"Subtract {b} from {a}."])
        return q, rng.choice([f"{a} - {b} = {a - b}.", f"{a} minus {b} is {a - b}."])
    if op == "mul":
        a, b = rng.randint(2, 99), rng.randint(2, 30)
        q = rng.choice([f"What is {a} times {b}?", f"Multiply {a} by {b}.", f"What's {a} multiplied by {b}?"])
        if a >= 20 and rng.random() < 0.5:
            t, u = a // 10 * 10, a % 10
            work = f"{t} times {b} is {t * b}" + (f" and {u} times {b} is {u * b}, so together it's {a * b}."
                                                   if u else f", so the answer is {a * b}.")
            return q, f"{a} times {b} is {a * b}. Working: {work}"
        return q, rng.choice([f"{a} times {b} is {a * b}.", f"{a} multiplied by {b} is {a * b}."])
    if op == "div":
        b, qt = rng.randint(2, 12), rng.randint(2, 99)
        r = rng.randint(1, b - 1) if rng.random() < 0.3 else 0
        a = b * qt + r
        q = rng.choice([f"What is {a} divided by {b}?", f"What's {a} / {b}?", f"Divide {a} by {b}."])
        if r:
            return q, f"{a} divided by {b} is {qt} with a remainder of {r}."
        return q, f"{a} divided by {b} is {qt}."
    if op == "pct":
        p = rng.choice([5, 10, 15, 20, 25, 30, 40, 50, 75])
        n = rng.randint(1, 60) * 20
        q = rng.choice([f"What's {p}% of {n}?", f"What is {p} percent of {n}?"])
        return q, f"{p}% of {n} is {p * n // 100}."
    n = rng.randint(2, 40)
    return rng.choice([f"What is {n} squared?", f"What's {n} times itself?"]), f"{n} squared is {n * n}."


def d_conversion(rng, ctx):
    unit = rng.choice([("hours", "minutes", 60), ("minutes", "seconds", 60), ("days", "hours", 24),
                       ("weeks", "days", 7), ("kilometres", "metres", 1000), ("kilograms", "grams", 1000),
                       ("litres", "millilitres", 1000), ("years", "months", 12)])
    if rng.random() < 0.3 and unit[2] % 2 == 0:
        n = rng.randint(1, 12) + 0.5
        val = int(n * unit[2])
        ns = f"{n:g}"
    else:
        n = rng.randint(2, 48)
        val = n * unit[2]
        ns = str(n)
    q = rng.choice([f"How many {unit[1]} are in {ns} {unit[0]}?", f"Convert {ns} {unit[0]} to {unit[1]}.",
                    f"{ns} {unit[0]} is how many {unit[1]}?"])
    return q, rng.choice([f"{ns} {unit[0]} is {val} {unit[1]}.",
                          f"There are {unit[2]} {unit[1]} in one {unit[0][:-1]}, "
                          f"so {ns} {unit[0]} is {val} {unit[1]}."])


def d_weekday(rng, ctx):
    d, n = rng.randrange(7), rng.randint(2, 30)
    res = WEEKDAYS[(d + n) % 7]
    q = rng.choice([f"If today is {WEEKDAYS[d]}, what day will it be in {n} days?",
                    f"It's {WEEKDAYS[d]} today. What day of the week is it {n} days from now?"])
    if n < 7:
        return q, f"It will be {res}."
    w, r = divmod(n, 7)
    weeks = f"{w} week" + ("s" if w > 1 else "")
    if r == 0:
        return q, f"{n} days is exactly {weeks}, so it will be {res} again."
    return q, f"{n} days is {weeks} and {r} day" + ("s" if r > 1 else "") + f", so it will be {res}."


def d_word(rng, ctx):
    w = rng.choice(B.COMMON_WORDS)
    task = rng.choice(["len", "rev", "alpha", "first", "upper", "vowels"])
    if task == "len":
        return f"How many letters are in the word '{w}'?", f"'{w}' has {len(w)} letters."
    if task == "rev":
        q = rng.choice([f"Can you spell '{w}' backwards?", f"Write '{w}' in reverse."])
        return q, f"'{w}' backwards is '{w[::-1]}'."
    if task == "alpha":
        ws = rng.sample(B.COMMON_WORDS, rng.randint(3, 6))
        return (f"Put these words in alphabetical order: {', '.join(ws)}.",
                f"In alphabetical order: {', '.join(sorted(ws))}.")
    if task == "first":
        return f"What letter does '{w}' start with, and what letter does it end with?", \
            f"'{w}' starts with '{w[0]}' and ends with '{w[-1]}'."
    if task == "upper":
        return f"Write the word '{w}' in capital letters.", w.upper()
    vs = [c for c in w if c in "aeiou"]
    return (f"How many vowels are in the word '{w}'?",
            f"'{w}' has {len(vs)} vowel" + ("s" if len(vs) != 1 else "") + ": " + ", ".join(vs) + ".")


def d_numbers(rng, ctx):
    xs = [rng.randint(1, 200) for _ in range(rng.randint(4, 8))]
    task = rng.choice(["sort", "max", "sum", "mean", "desc"])
    lst = ", ".join(map(str, xs))
    if task == "sort":
        return f"Sort these numbers from smallest to largest: {lst}.", ", ".join(map(str, sorted(xs))) + "."
    if task == "desc":
        return f"Can you put {lst} in descending order?", ", ".join(map(str, sorted(xs, reverse=True))) + "."
    if task == "max":
        return f"Which is the largest number in this list: {lst}?", f"The largest is {max(xs)}."
    if task == "sum":
        return f"What do {lst} add up to?", f"They add up to {sum(xs)}."
    xs[-1] += (-sum(xs)) % len(xs)
    lst = ", ".join(map(str, xs))
    return (f"What's the average of {lst}?",
            f"The average is {sum(xs) // len(xs)}: they add up to {sum(xs)}, divided by {len(xs)}.")


def d_local_list(rng, ctx):
    items = rng.sample(B.COMMON_WORDS, rng.randint(4, 8))
    i = rng.randrange(len(items))
    return (f"Here's a list: {', '.join(items)}. What's the {ORDINALS[i]} item?",
            f"The {ORDINALS[i]} item is '{items[i]}'.")


def d_small_talk(rng, ctx):
    users, replies = rng.choice(B.SMALL_TALK)
    return rng.choice(users), rng.choice(replies)


def d_explanation(rng, ctx):
    qs, answer = rng.choice(B.EXPLANATIONS)
    return rng.choice(qs), answer


def d_advice(rng, ctx, max_tips=5):
    prompts, openings, tips, closings = rng.choice(B.ADVICE)
    picked = rng.sample(tips, min(len(tips), rng.randint(3, max_tips)))
    style = rng.random()
    if style < 0.4:
        body = "\n".join(f"{i + 1}. {t}" for i, t in enumerate(picked))
    elif style < 0.7:
        body = "\n".join(f"- {t}" for t in picked)
    else:
        body = " ".join(picked)
    text = rng.choice(openings) + ("\n\n" if style < 0.7 else " ") + body
    if rng.random() < 0.6:
        text += ("\n\n" if style < 0.7 else " ") + rng.choice(closings)
    return rng.choice(prompts), text


def _passage(rng, ctx, max_chars):
    """(intro, sentences): consecutive sentences of one passage, under max_chars in total."""
    runs = ctx["passages"]
    for _ in range(50):
        src, sents = rng.choice(runs)
        n = rng.randint(2, min(8, len(sents)))
        start = rng.randint(0, len(sents) - n)
        picked = sents[start:start + n]
        while len(picked) > 2 and sum(len(s) + 1 for s in picked) > max_chars:
            picked = picked[:-1]
        if sum(len(s) + 1 for s in picked) <= max_chars:
            break
    if src:
        intro = rng.choice([f"Here's a passage from {src}:", f"I'm reading {src}. Here's a bit of it:",
                            f"This is from {src}:"])
    else:
        intro = rng.choice(["Here's a passage I'm reading:", "I found this text:", "Here's a short text:"])
    return intro, picked


def _words(s):
    return re.findall(r"[A-Za-z0-9]+(?:['’.,-][A-Za-z0-9]+)*", s)


def d_passage(rng, ctx, max_chars=900):
    intro, sents = _passage(rng, ctx, max_chars)
    text = " ".join(sents)
    task = rng.choice(["last", "first", "repeat", "count_words", "mention", "share", "sentences"])
    if task == "repeat" and len(text) > max_chars // 2:
        task = "last"
    if task == "last":
        return (f"{intro}\n\n{text}\n\nCan you quote the last sentence back to me?",
                f"Sure. The last sentence is: \"{sents[-1]}\"")
    if task == "first":
        return (f"{intro}\n\n{text}\n\nWhat is the first sentence?",
                f"The first sentence is: \"{sents[0]}\"")
    if task == "repeat":
        return (f"Please repeat this passage back to me word for word:\n\n{text}", text)
    if task == "count_words":
        i = rng.randrange(len(sents))
        n = len(_words(sents[i]))
        return (f"{intro}\n\n{text}\n\nHow many words are in the {ORDINALS[i]} sentence?",
                f"The {ORDINALS[i]} sentence has {n} words.")
    if task == "mention":
        words = sorted({w for w in _words(text) if w.isalpha() and len(w) >= 5})
        lower = text.lower()
        if words and rng.random() < 0.5:
            w = rng.choice(words)
            i = next(k for k, s in enumerate(sents) if mentions(s, w))
            return (f"{intro}\n\n{text}\n\nDoes this passage mention the word '{w}'?",
                    f"Yes, '{w}' appears in the {ORDINALS[i]} sentence.")
        w = next((c for c in rng.sample(B.COMMON_WORDS, 10) if c not in lower), None)
        if w is not None:
            return (f"{intro}\n\n{text}\n\nDoes this passage mention the word '{w}'?",
                    f"No, the word '{w}' does not appear in it.")
    if task == "sentences":
        return (f"{intro}\n\n{text}\n\nHow many sentences is that?",
                f"That passage has {len(sents)} sentences.")
    return (f"{intro}\n\n{text}",
            rng.choice([f"Thanks for sharing. That's {len(sents)} sentences; would you like me to summarise "
                        "it or look at any part of it more closely?",
                        "Thanks, I've read it. Let me know if you want me to quote or check anything in it.",
                        f"Got it. It opens with \"{sents[0]}\" Anything you'd like to do with it?"]))


SHORT_KINDS = [(d_arithmetic, 3), (d_conversion, 2), (d_weekday, 2), (d_word, 2), (d_numbers, 2),
               (d_local_list, 2), (d_small_talk, 3)]
MEDIUM_KINDS = [(d_explanation, 2), (d_advice, 2), (d_passage, 4)]  # passages: the most varied text


def _weighted(rng, kinds):
    total = sum(w for _, w in kinds)
    x = rng.random() * total
    for f, w in kinds:
        x -= w
        if x < 0:
            return f
    return kinds[-1][0]


def distractor(rng, ctx, want_chars, forbidden):
    """One exchange of about `want_chars` characters (short, medium or long) mentioning no
    forbidden value."""
    for attempt in range(40):
        if want_chars < 250 or (attempt > 30):
            f = _weighted(rng, SHORT_KINDS)
            ex = f(rng, ctx)
        elif want_chars < 700:
            f = _weighted(rng, MEDIUM_KINDS)
            ex = d_passage(rng, ctx, max_chars=max(200, want_chars - 80)) if f is d_passage else f(rng, ctx)
        else:
            f = rng.choice([d_passage, d_passage, d_passage, d_advice, d_explanation])
            if f is d_passage:
                ex = d_passage(rng, ctx, max_chars=min(1400, max(300, want_chars // 2)))
            elif f is d_advice:
                ex = d_advice(rng, ctx, max_tips=8)
            else:
                ex = f(rng, ctx)
        if not any(mentions(ex[0], v) or mentions(ex[1], v) for v in forbidden):
            return ex
    return "Thanks!", "You're welcome!"




_ABBREV = re.compile(r"\b(?:Mr|Mrs|Ms|Dr|St|Jr|Sr|Gen|Gov|Sen|Rep|Hon|No|Co|Inc|vs|Ft|Mt|Lt|Col|Capt|"
                     r"Jan|Feb|Mar|Apr|Aug|Sept?|Oct|Nov|Dec|[A-Z])\.\s*$")


def sentence_runs(text, min_run=2):
    """Runs of consecutive clean sentences of `text` (for passage chatter): split after . ! ?
    followed by a capital; a sentence is clean if 30-300 characters, with no inner period
    (abbreviations), no brackets or odd quotes. Returns [[sentence, ...], ...]."""
    parts = re.split(r"(?<=[.!?])\s+(?=[A-Z\"])", text.strip())
    # Re-join pieces that were cut after an abbreviation.
    sents = []
    for p in parts:
        if sents and _ABBREV.search(sents[-1]):
            sents[-1] += " " + p
        else:
            sents.append(p)
    runs, cur = [], []
    for s in sents:
        ok = (30 <= len(s) <= 300 and "." not in s[:-1] and not re.search(r"[\[\]{}<>`_|\\]", s)
              and s.count('"') % 2 == 0 and s[-1] in ".!?")
        if ok:
            cur.append(s)
        else:
            if len(cur) >= min_run:
                runs.append(cur)
            cur = []
    if len(cur) >= min_run:
        runs.append(cur)
    return runs


def builtin_passages():
    """Passages for when no State of the Union text is at hand (tests, CI): the explanations."""
    runs = []
    for _, answer in B.EXPLANATIONS:
        runs.extend((None, r) for r in sentence_runs(answer))
    return runs
