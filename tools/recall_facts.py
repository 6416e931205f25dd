"""Facts for the recall dialogues (tools/recall_dialogues.py): what a user states early and is
asked for later.

Every fact key (a locker code, a dog's name, a dentist appointment...) has a category, a value
pool, several statement phrasings, a clause the assistant can acknowledge it with ("your locker
code is 4417") and several question phrasings. Values are split between "train" and "heldout"
by a hash of the value string (value_split): generated values (codes, references, dates) are
drawn until their hash falls on the requested side, list pools keep only that side's values, so
training and held-out dialogues never share an answer value (list answers: never an item).
"""
import re
import zlib

import recall_banks as B



def value_split(value):
    """'heldout' for about one value in five (by CRC-32 of the string), else 'train'."""
    return "heldout" if zlib.crc32(value.encode("utf-8")) % 5 == 0 else "train"


_LIST_POOLS = {
    "person": B.FIRST_NAMES,
    "pet": B.PET_NAMES,
    "place": B.REAL_PLACES + [h + t for h in B.PLACE_HEADS for t in B.PLACE_TAILS],
    "cafe": [f"The {a} {n}" for a in B.CAFE_ADJECTIVES for n in B.CAFE_NOUNS],
    "colour": B.COLOURS,
    "grocery": B.GROCERIES,
    "packing": B.PACKING,
    "chore": B.CHORES,
    "plant": B.PLANTS,
    "fruit": B.FRUITS,
    "flower": B.FLOWERS,
    "bird": B.BIRDS,
    "game": B.BOARD_GAMES,
}
_SPLIT_POOLS = {}


def pool(name, split):
    """The values of a list pool that belong to `split`, in a fixed order."""
    key = (name, split)
    if key not in _SPLIT_POOLS:
        seen = []
        for v in _LIST_POOLS[name]:
            if value_split(v) == split and v not in seen:
                seen.append(v)
        _SPLIT_POOLS[key] = seen
    return _SPLIT_POOLS[key]


MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December"]
MONTH_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
ORDINALS = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth"]
_REF_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"


def _join_list(items):
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _scalar(rng, kind):
    """One value of a generated (non-list) pool; the caller filters by split."""
    k = kind[0]
    if k == "digits":
        n = rng.randint(kind[1], kind[2])
        return str(rng.randint(1, 9)) + "".join(str(rng.randint(0, 9)) for _ in range(n - 1))
    if k == "int":
        return str(rng.randint(kind[1], kind[2]))
    if k == "money":
        return "$" + str(rng.randint(kind[1], kind[2]) * 10)
    if k == "room":
        return f"{rng.randint(1, 9)}{rng.randint(1, 40):02d}"
    if k == "seat":
        return f"{rng.randint(1, 40)}{rng.choice('ABCDF')}"
    if k == "flight":
        return rng.choice(_LETTERS) + rng.choice(_LETTERS) + " " + str(rng.randint(20, 9999))
    if k == "ref":
        return "".join(rng.choice(_REF_CHARS) for _ in range(6))
    if k == "parking":
        return rng.choice("ABCDEFGH") + str(rng.randint(1, 99))
    if k == "plate":
        return (rng.choice(_LETTERS) + rng.choice(_LETTERS) + f"{rng.randint(10, 99)} "
                + "".join(rng.choice(_LETTERS) for _ in range(3)))
    if k == "address":
        return f"{rng.randint(2, 240)} {rng.choice(B.STREET_NAMES)} {rng.choice(B.STREET_SUFFIXES)}"
    if k == "password":
        a, b = rng.sample(B.PASSWORD_WORDS, 2)
        return f"{a}-{b}-{rng.randint(10, 99)}"
    if k == "date":
        m = rng.randrange(12)
        return f"{MONTHS[m]} {rng.randint(1, MONTH_DAYS[m])}"
    if k == "time":
        hour = rng.randint(1, 12)
        minutes = rng.choice(["00", "15", "30", "45", "10", "20", "40", "50"])
        return f"{hour}:{minutes} {rng.choice(['am', 'pm'])}"
    raise ValueError(kind)


def sample_value(rng, kind, split, avoid):
    """A value of pool `kind` in `split`, not in `avoid` (values already in the dialogue)."""
    for _ in range(1000):
        if kind[0] == "list":
            items = pool(kind[1], split)
            n = rng.randint(kind[2], kind[3])
            picked = rng.sample(items, n)
            if any(mentions(" ".join(avoid), it) for it in picked):
                continue
            v = _join_list(picked)
        elif kind[0] == "pool":
            v = rng.choice(pool(kind[1], split))
        else:
            v = _scalar(rng, kind)
            if value_split(v) != split:
                continue
        if v not in avoid and not any(mentions(a, v) or mentions(v, a) for a in avoid):
            return v
    raise RuntimeError(f"cannot sample a {kind} value for {split}")


# ---------------------------------------------------------------- facts

CODE_S = ["My {k} is {v}.", "Can you remember something for me? My {k} is {v}.",
          "Note for later: my {k} is {v}.", "I always forget my {k}, so here it is: {v}.",
          "For the record, my {k} is {v}.", "Just so you know, my {k} is {v}.",
          "I changed my {k} yesterday. The new one is {v}."]
CODE_Q = ["What was my {k}?", "What's my {k} again?", "Remind me, what is my {k}?",
          "I forgot my {k}. What was it?", "Can you tell me my {k}?",
          "Sorry, what did I say my {k} was?"]
CODE_KEYS = [("locker code", 4, 4), ("gate code", 4, 4), ("garage door code", 4, 5),
             ("bike lock combination", 3, 4), ("safe combination", 6, 6), ("alarm code", 4, 4),
             ("office door code", 5, 5), ("storage unit code", 4, 4), ("gym locker number", 2, 3),
             ("library card number", 8, 8), ("phone extension at work", 3, 4),
             ("membership number", 7, 7), ("buzzer code for the flat", 3, 4),
             ("PIN for the shared laptop", 4, 6)]

PET_S = ["My {k} is called {v}.", "I have a {k} named {v}.",
         "We adopted a {k} last month and named it {v}.", "My {k}'s name is {v}.",
         "Our {k}, {v}, has been keeping me up at night."]
PET_Q = ["What's my {k}'s name?", "What did I say my {k} is called?", "What's the name of my {k}?",
         "Remind me, what is my {k} called?"]
PET_KEYS = ["dog", "cat", "rabbit", "parrot", "hamster", "goldfish", "tortoise", "horse",
            "guinea pig", "budgie", "ferret", "lizard"]

PERSON_S = ["My {k}'s name is {v}.", "My {k} is called {v}.",
            "I'm having lunch with my {k}, {v}, on Friday.",
            "By the way, my {k} is {v}, in case I mention them.",
            "I just got a message from my {k}, {v}."]
PERSON_Q = ["What's my {k}'s name?", "What did I say my {k} is called?", "Who is my {k}?",
            "Remind me, what's the name of my {k}?"]
PERSON_KEYS = ["sister", "brother", "manager", "neighbour", "dentist", "best friend", "flatmate",
               "landlord", "cousin", "piano teacher", "football coach", "accountant", "doctor",
               "grandmother", "nephew", "niece", "tutor", "business partner"]

# (key, value pool, statements, clause, questions): {v} is the value.
SPECIAL_FACTS = [
    ("hotel room", ("room",),
     ["I'm staying in room {v} at the hotel.", "The hotel gave me room {v}.",
      "My hotel room is number {v}."],
     "your hotel room is {v}",
     ["What's my hotel room number?", "Which room am I staying in at the hotel?",
      "What room did the hotel give me?"]),
    ("train seat", ("seat",),
     ["My seat on the train is {v}.", "I've booked seat {v} on the train."],
     "your train seat is {v}",
     ["What's my seat on the train?", "Which seat did I book on the train?"]),
    ("flight", ("flight",),
     ["My flight number is {v}.", "I'm flying out tomorrow on flight {v}."],
     "your flight is {v}",
     ["What's my flight number?", "Which flight am I on?"]),
    ("booking", ("ref",),
     ["The booking reference for the hotel is {v}.", "My booking reference is {v}."],
     "the booking reference is {v}",
     ["What's my booking reference?", "What was the booking reference?"]),
    ("parking", ("parking",),
     ["I parked in space {v} at the station.", "My car is in parking space {v}."],
     "your car is in space {v}",
     ["Which parking space is my car in?", "What parking space did I say I used?"]),
    ("plate", ("plate",),
     ["My car's number plate is {v}.", "The licence plate on my car is {v}."],
     "your number plate is {v}",
     ["What's my car's number plate?", "What's the licence plate on my car?"]),
    ("address", ("address",),
     ["I live at {v}.", "My new address is {v}.", "We just moved to {v}."],
     "your address is {v}",
     ["What's my address?", "Where do I live?", "What did I say my new address was?"]),
    ("wifi", ("password",),
     ["The Wi-Fi password at the cabin is {v}.", "For the cabin Wi-Fi, the password is {v}."],
     "the cabin Wi-Fi password is {v}",
     ["What's the Wi-Fi password at the cabin?", "What was the cabin's Wi-Fi password?"]),
    ("grew up", ("pool", "place"),
     ["I grew up in {v}.", "I was born and raised in {v}."],
     "you grew up in {v}",
     ["Where did I grow up?", "Which town did I say I grew up in?"]),
    ("moving", ("pool", "place"),
     ["I'm moving to {v} next month.", "We've decided to move to {v}."],
     "you're moving to {v}",
     ["Where am I moving to?", "Which town did I say we're moving to?"]),
    ("holiday", ("pool", "place"),
     ["We're going on holiday to {v} this summer.", "Our summer trip is to {v}."],
     "your holiday is in {v}",
     ["Where are we going on holiday?", "Where is our summer trip?"]),
    ("conference", ("pool", "place"),
     ["The conference is in {v} this year.", "This year's conference will be held in {v}."],
     "the conference is in {v}",
     ["Where is the conference this year?", "Which city is the conference in?"]),
    ("parents", ("pool", "place"),
     ["My parents live in {v}.", "My parents moved to {v} a few years ago."],
     "your parents live in {v}",
     ["Where do my parents live?", "Which town did I say my parents live in?"]),
    ("cafe", ("pool", "cafe"),
     ["We're meeting at a café called {v}.", "The café we're meeting at is {v}."],
     "you're meeting at {v}",
     ["Which café are we meeting at?", "What's the café we're meeting at called?"]),
    ("favourite fruit", ("pool", "fruit"),
     ["My favourite fruit is {v}.", "I could eat {v} every day."],
     "your favourite fruit is {v}",
     ["What's my favourite fruit?", "Which fruit did I say I love?"]),
    ("favourite flower", ("pool", "flower"),
     ["My favourite flowers are {v}.", "I love {v} more than any other flower."],
     "your favourite flowers are {v}",
     ["What are my favourite flowers?", "Which flowers did I say I love?"]),
    ("favourite bird", ("pool", "bird"),
     ["My favourite bird is the {v}.", "I've always loved the {v}, it's my favourite bird."],
     "your favourite bird is the {v}",
     ["What's my favourite bird?", "Which bird did I say is my favourite?"]),
    ("favourite game", ("pool", "game"),
     ["My favourite board game is {v}.", "On game nights I always want to play {v}."],
     "your favourite game is {v}",
     ["What's my favourite board game?", "Which game do I always want to play?"]),
    ("favourite number", ("int", 1, 99),
     ["My favourite number is {v}.", "My lucky number is {v}."],
     "your favourite number is {v}",
     ["What's my favourite number?", "What did I say my lucky number was?"]),
    ("budget", ("money", 15, 600),
     ["My budget for the trip is {v}.", "I can spend {v} on the trip at most."],
     "your trip budget is {v}",
     ["What's my budget for the trip?", "How much can I spend on the trip?"]),
    ("guests", ("int", 8, 90),
     ["We're expecting {v} guests at the party.", "There will be {v} guests at the party."],
     "you expect {v} guests",
     ["How many guests are we expecting at the party?", "How many guests did I say were coming?"]),
    ("running goal", ("int", 5, 70),
     ["My goal is to run {v} kilometres this week.", "I want to run {v} km this week."],
     "your goal is {v} kilometres",
     ["How many kilometres do I want to run this week?", "What's my running goal this week?"]),
    ("shoe size", ("int", 35, 47),
     ["My shoe size is {v}.", "I wear shoes in size {v}."],
     "your shoe size is {v}",
     ["What's my shoe size?", "What size shoes do I wear?"]),
    ("picnic", ("list", "grocery", 2, 4),
     ["For the picnic I need to bring {v}.", "I promised to bring {v} to the picnic."],
     "you're bringing {v}",
     ["What do I need to bring to the picnic?", "What did I promise to bring to the picnic?"]),
    ("shopping", ("list", "grocery", 2, 4),
     ["My shopping list for today is {v}.", "I need to buy {v} today."],
     "you need {v}",
     ["What's on my shopping list?", "What do I need to buy today?"]),
    ("camping", ("list", "packing", 2, 4),
     ["For the camping trip I'm packing {v}.", "I've packed {v} for the camping trip."],
     "you're packing {v}",
     ["What am I packing for the camping trip?", "What did I say I packed for camping?"]),
    ("chores", ("list", "chore", 2, 3),
     ["This weekend I have to {v}.", "My jobs for the weekend: {v}."],
     "this weekend you have to {v}",
     ["What do I have to do this weekend?", "What were my jobs for the weekend?"]),
    ("balcony", ("list", "plant", 2, 4),
     ["On the balcony I'm growing {v}.", "This year my balcony garden has {v}."],
     "you're growing {v}",
     ["What am I growing on the balcony?", "What's in my balcony garden this year?"]),
]

EVENT_KEYS = ["dentist appointment", "job interview", "cousin's wedding", "piano recital",
              "team offsite", "haircut", "driving test", "parents' anniversary", "moving day",
              "book club meeting", "eye test", "exam", "flight home", "garden party"]
EVENT_S = ["My {k} is on {v}.", "I have my {k} on {v}.", "Put this in your memory: my {k} is on {v}.",
           "Just a heads-up, my {k} is on {v}."]
EVENT_Q = ["When is my {k}?", "What date is my {k}?", "When did I say my {k} was?"]

TIME_FACTS = [
    ("train", "My train leaves at {v}.", "your train leaves at {v}",
     "What time does my train leave?"),
    ("concert", "The concert starts at {v}.", "the concert starts at {v}",
     "What time does the concert start?"),
    ("yoga", "My yoga class is at {v} on Thursdays.", "your yoga class is at {v}",
     "What time is my yoga class?"),
    ("film", "The film starts at {v}.", "the film starts at {v}",
     "When does the film start?"),
    ("pickup", "I need to pick up the kids at {v}.", "you pick up the kids at {v}",
     "What time do I need to pick up the kids?"),
    ("dinner", "Dinner with the neighbours is at {v}.", "dinner with the neighbours is at {v}",
     "What time is dinner with the neighbours?"),
    ("call", "I have a call with the bank at {v}.", "your call with the bank is at {v}",
     "What time is my call with the bank?"),
]

COLOUR_KEYS = ["car", "front door", "bike", "umbrella", "coat", "backpack", "tent", "scarf", "kayak",
               "sofa", "suitcase", "notebook", "kettle", "bedroom wall"]
COLOUR_S = ["My new {k} is {v}.", "I just got a new {k}. It's {v}.", "I went with {v} for the new {k}."]
COLOUR_Q = ["What colour is my new {k}?", "What colour did I pick for the new {k}?",
            "What colour did I say my new {k} is?"]


class Fact:
    def __init__(self, key, category, value, statement, clause, question):
        self.key, self.category, self.value = key, category, value
        self.statement, self.clause, self.question = statement, clause, question


def _fact_specs():
    """(key, category, value pool, statements, clause, questions) for every fact key."""
    specs = []
    for k, lo, hi in CODE_KEYS:
        specs.append((k, "code", ("digits", lo, hi), [s.replace("{k}", k) for s in CODE_S],
                      f"your {k} is {{v}}", [q.replace("{k}", k) for q in CODE_Q]))
    for k in PET_KEYS:
        specs.append((k, "pet", ("pool", "pet"), [s.replace("{k}", k) for s in PET_S],
                      f"your {k} is called {{v}}", [q.replace("{k}", k) for q in PET_Q]))
    for k in PERSON_KEYS:
        specs.append((k, "person", ("pool", "person"), [s.replace("{k}", k) for s in PERSON_S],
                      f"your {k} is {{v}}", [q.replace("{k}", k) for q in PERSON_Q]))
    for k in EVENT_KEYS:
        specs.append((k, "date", ("date",), [s.replace("{k}", k) for s in EVENT_S],
                      f"your {k} is on {{v}}", [q.replace("{k}", k) for q in EVENT_Q]))
    for k, s, clause, q in TIME_FACTS:
        specs.append((k, "time", ("time",), [s], clause, [q]))
    for k in COLOUR_KEYS:
        specs.append((k, "colour", ("pool", "colour"), [s.replace("{k}", k) for s in COLOUR_S],
                      f"your new {k} is {{v}}", [q.replace("{k}", k) for q in COLOUR_Q]))
    categories = {"hotel room": "reference", "train seat": "reference", "flight": "reference",
                  "booking": "reference", "parking": "reference", "plate": "reference",
                  "address": "reference", "wifi": "reference"}
    for k, kind, ss, clause, qs in SPECIAL_FACTS:
        cat = categories.get(k) or ("list" if kind[0] == "list"
                                    else "place" if kind[1:] in (("place",), ("cafe",))
                                    else "favourite" if k.startswith("favourite") else "quantity")
        specs.append((k, cat, kind, ss, clause, qs))
    return specs


FACT_SPECS = _fact_specs()
FACT_CATEGORIES = sorted({s[1] for s in FACT_SPECS})


def make_fact(rng, spec, split, avoid):
    key, category, kind, statements, clause, questions = spec
    v = sample_value(rng, kind, split, avoid)
    return Fact(key, category, v, rng.choice(statements).replace("{v}", v),
                clause.replace("{v}", v), rng.choice(questions))


def mentions(text, value):
    """Whether `value` occurs in `text` as a whole word (case-sensitive)."""
    return re.search(r"(?<![A-Za-z0-9])" + re.escape(value) + r"(?![A-Za-z0-9])", text) is not None
