"""Word lists and canned text for tools/recall_facts.py and tools/recall_chatter.py (written for
this project).

Value pools (names, places, items...) are split between training and held-out dialogues by
recall_facts.value_split(), never here; these lists only need to be large enough that every
pool keeps a few values on each side.
"""

FIRST_NAMES = """
Aaron Abigail Adele Adrian Agnes Aisha Alba Alec Alina Alma Alvaro Amara Amelie Anders Andrea
Anika Anton Arjun Astrid Aurora Ayla Beatrix Benedict Bianca Boris Bruno Camila Carlos Carmen
Cecil Celine Chiara Clara Colin Cormac Dalia Damian Dario Delphine Dmitri Dolores Edgar Edith
Elena Elias Elif Eliza Emeka Emil Enzo Esther Ezra Fatima Felix Fiona Florian Frida Gabriel
Gemma Gideon Greta Gustav Hana Hannah Harriet Hector Helga Henrik Hugo Ida Igor Imani Ines
Ingrid Irene Isaac Ivan Jakob Jasper Javier Jonas Josefa Julian Juno Kai Kamala Karim Katya
Kenji Keira Klaus Lara Laszlo Leila Lena Leon Levi Liam Lidia Linnea Lorenzo Lucia Ludo Lukas
Magnus Maia Malik Marek Margot Marta Mateo Matilda Maxim Mei Milan Mira Moritz Nadia Naomi
Nikhil Nils Nina Noor Odette Olga Oliver Omar Oskar Otto Paloma Pavel Petra Philippa Priya
Quentin Rafael Rahel Ramon Rania Rasmus Rebecca Reza Rhea Rosa Rowan Ruben Sabine Samir Sana
Sasha Selma Seren Silas Simone Sofia Soren Stella Sven Tamsin Tariq Thea Theo Tobias Tomas
Ulla Umar Valentin Vera Vikram Viola Wanda Wendel Xavier Yara Yusuf Zara Zeno Zofia Anouk
Bodil Caspar Dagny Eero Farah Gianni Hilde Ilse Jorah Kirsi Lotte Mabel Nuno Orla Pilar
""".split()

PET_NAMES = """
Biscuit Pepper Noodle Mango Pickle Waffles Juniper Pumpkin Maple Ziggy Clementine Bramble Toffee
Nugget Poppy Sprout Domino Pretzel Marble Olive Pancake Rascal Sherlock Tofu Whiskers Bubbles
Caramel Dumpling Fudge Gizmo Hazel Jellybean Kiwi Lentil Mochi Nacho Oreo Peanut Quincy Rocket
Saffron Truffle Umber Velvet Wasabi Yoyo Zucchini Acorn Basil Cinnamon Dusty Echo Fable Ginger
Hopper Indigo Jasper Ketchup Lucky Muffin Nimbus Oscar Pebble Radish Scout Tango Ursa Vanilla
Wombat Ember Blossom Cricket Dandelion Figaro Goose Honey Iggy Jinx Koda Loki Marshmallow Nova
Obi Pixel Quill Rusty Sesame Tinker Waldo Zephyr Apollo Bagel Comet Dot Fennel Gumbo Hobbes
Inky Juno Kipper Lola Mocha Nutmeg Otis Puddle Ravioli Snickers Taffy Tater Wiggles Cupcake
Button Chutney Crumpet Doodle Frodo Gnocchi Hamish Kumquat Lychee Mustard Paprika Pistachio
""".split()

REAL_PLACES = """
Aberdeen Antwerp Arequipa Aarhus Bergen Bilbao Bologna Bordeaux Brno Bruges Cadiz Cork Coimbra
Dubrovnik Dundee Edinburgh Eindhoven Fez Galway Ghent Gdansk Genoa Granada Graz Hobart Innsbruck
Kyoto Krakow Leeds Leipzig Lille Limerick Linz Ljubljana Lucerne Lyon Malaga Marseille Montpellier
Nantes Naples Nice Oaxaca Odense Oporto Oslo Oxford Palermo Perth Pisa Plymouth Poznan Quebec
Reykjavik Riga Rotterdam Salzburg Santander Seville Siena Split Stavanger Tallinn Tampere Toulouse
Trieste Turin Uppsala Utrecht Valencia Verona Vilnius Wellington Winnipeg Wroclaw York Zagreb
Zaragoza Adelaide Asheville Boulder Cusco Darwin Durban Halifax Hanoi Kochi Madison Mendoza
Mombasa Nagano Portland Savannah Taipei Tbilisi Valparaiso Whitby Yokohama Zanzibar
""".split()

# Invented English-sounding town names: PLACE_HEADS x PLACE_TAILS.
PLACE_HEADS = ("Ash Bram Cal Dun Elder Fair Glen Hart Kings Lang Mar North Oak Pen Red Stan Thorn "
               "West Whit Wyn Brook Hol Mill Stone").split()
PLACE_TAILS = ("bridge bury by combe dale field ford gate ham hollow holm hurst ley mere minster "
               "mouth stead stow ton wick worth").split()

CAFE_ADJECTIVES = ("Blue Copper Golden Silver Little Crooked Sleepy Velvet Green Red Rusty Hidden "
                   "Lucky Quiet Wandering Amber Painted Humble Salty Windy").split()
CAFE_NOUNS = ("Heron Kettle Lantern Teapot Fox Spoon Anchor Otter Owl Bicycle Window Acorn Compass "
              "Harbour Fern Pigeon Moon Barrel Ladder Sparrow").split()

STREET_NAMES = ("Larch Willow Birch Hawthorn Chestnut Rowan Alder Elm Cedar Poplar Juniper Holly "
                "Linden Magnolia Orchard Mill Church Station Harbour Meadow Bridge Castle Garden "
                "Quarry Tanner Weaver Cooper Fletcher Baker Mason Kestrel Heron Wren Plover Lark "
                "Finch Badger Otter Brook Ferry Market Abbey Chapel Spring Windmill").split()
STREET_SUFFIXES = "Street Road Lane Avenue Close Terrace Way Crescent".split()

COLOURS = ["red", "blue", "green", "yellow", "orange", "purple", "pink", "black", "white", "grey",
           "brown", "teal", "navy blue", "dark green", "light blue", "maroon", "turquoise",
           "lavender", "mustard yellow", "olive green", "burgundy", "coral", "beige", "cream",
           "silver", "gold", "bright red", "pale yellow", "mint green", "charcoal", "sky blue",
           "lime green", "rust orange", "plum", "magenta", "cobalt blue", "forest green",
           "peach", "sand", "indigo", "crimson", "ivory", "slate grey", "emerald green"]

GROCERIES = ["bread", "milk", "eggs", "butter", "cheese", "apples", "bananas", "grapes", "lemons",
             "tomatoes", "potatoes", "onions", "carrots", "rice", "pasta", "flour", "sugar",
             "coffee", "tea", "yoghurt", "oranges", "cucumbers", "lettuce", "spinach", "garlic",
             "olive oil", "honey", "jam", "oats", "chickpeas", "lentils", "mushrooms", "peppers",
             "salmon", "chicken", "tofu", "crackers", "lemonade", "orange juice", "sparkling water",
             "strawberries", "blueberries", "walnuts", "almonds", "cherries", "pears", "plums",
             "hummus", "olives", "baguettes", "muffins", "cookies", "chocolate", "ice cream",
             "basil", "parsley", "sausages", "bagels", "cream cheese", "peaches"]

PACKING = ["a tent", "a sleeping bag", "a torch", "spare batteries", "a rain jacket", "hiking boots",
           "a first aid kit", "sunscreen", "a water filter", "a camping stove", "matches", "a map",
           "a compass", "wool socks", "a pocket knife", "insect repellent", "a hammock", "a rope",
           "a cooking pot", "a thermos", "a fleece", "gloves", "a sun hat", "a towel",
           "a portable charger", "binoculars", "a notebook", "a deck of cards", "trail mix",
           "a head torch", "a camping chair", "a tarp", "tent pegs", "a lantern", "a whistle",
           "a fishing rod", "a frisbee", "a guidebook", "earplugs", "a pillow"]

CHORES = ["clean the gutters", "mow the lawn", "fix the leaking tap", "paint the fence",
          "wash the car", "sort the garage", "return the library books", "defrost the freezer",
          "change the bed sheets", "water the plants", "file the tax forms", "call the plumber",
          "repair the bike", "clean the windows", "walk the neighbour's dog", "bake a cake",
          "iron the shirts", "tidy the attic", "oil the door hinges", "replace the light bulbs",
          "post the parcel", "book a vet appointment", "weed the garden", "vacuum the stairs",
          "empty the dishwasher", "hang the new shelves", "pick up the dry cleaning",
          "renew the passport", "recycle the old batteries", "cut the hedge", "sweep the patio",
          "clear out the fridge"]

PLANTS = ["basil", "mint", "tomatoes", "chillies", "strawberries", "lettuce", "rosemary", "thyme",
          "sunflowers", "lavender", "geraniums", "peas", "radishes", "sweet peas", "marigolds",
          "parsley", "chives", "courgettes", "beans", "dahlias", "nasturtiums", "petunias",
          "sage", "oregano", "spring onions", "pansies", "cucumbers", "dill"]

FRUITS = ["mango", "pineapple", "kiwi", "papaya", "fig", "apricot", "watermelon", "raspberries",
          "blackberries", "pomegranate", "lychee", "guava", "passion fruit", "nectarines",
          "cherries", "plums", "persimmon", "dragon fruit", "gooseberries", "clementines",
          "grapefruit", "melon", "quince", "dates", "cranberries", "elderberries", "kumquats",
          "loganberries", "mulberries", "tangerines", "starfruit", "jackfruit", "durian", "rambutan",
          "mangosteen", "pawpaw", "redcurrants", "blackcurrants", "greengages", "damsons", "medlars",
          "satsumas", "cantaloupe", "honeydew melon", "yuzu", "feijoa", "soursop", "tamarind"]

FLOWERS = ["tulips", "roses", "daisies", "peonies", "orchids", "lilies", "irises", "poppies",
           "snowdrops", "bluebells", "hydrangeas", "camellias", "freesias", "daffodils", "asters",
           "carnations", "gardenias", "jasmine", "magnolias", "primroses", "zinnias", "cornflowers"]

BIRDS = ["robin", "blackbird", "kingfisher", "puffin", "owl", "wren", "magpie", "heron", "swallow",
         "woodpecker", "goldfinch", "jay", "kestrel", "nightingale", "starling", "swan", "pelican",
         "flamingo", "hummingbird", "toucan", "sparrow", "crow", "curlew", "cormorant"]

BOARD_GAMES = ["chess", "backgammon", "Scrabble", "Go", "checkers", "Monopoly", "Cluedo",
               "dominoes", "mahjong", "Risk", "Othello", "Carcassonne", "Catan", "Ticket to Ride",
               "Pandemic", "Azul", "Dixit", "cribbage", "Boggle", "Uno"]

PASSWORD_WORDS = ("amber anchor apple badger beacon bramble canyon cedar cobalt comet copper coral "
                  "cricket delta ember falcon fennel fern garnet glacier granite harbor hazel "
                  "indigo iris jasper juniper kettle lantern lemon lilac maple marble meadow "
                  "nectar nickel oak olive orbit otter pebble pepper pine plum quartz quill "
                  "raven ripple river saffron sable sequoia silver spruce thistle tiger topaz "
                  "tulip umber velvet violet walnut willow winter yarrow zephyr").split()

# Ordinary words for spelling / counting / sorting chatter.
COMMON_WORDS = ("harbour lantern umbrella necessary library calendar window mountain river garden "
                "kitchen pencil blanket journey orange basket elephant bicycle yesterday tomorrow "
                "question answer history science picture village island castle forest desert "
                "thunder whisper balance country travel market dinner sandwich morning evening "
                "teacher student holiday weather summer winter autumn spring rocket planet "
                "station ticket letter postcard chapter battery engine ladder mirror pillow "
                "jacket button pocket wallet camera guitar violin trumpet painting festival "
                "meadow valley canyon glacier volcano compass anchor captain sailor harvest "
                "bakery cinema museum theatre stadium airport railway tunnel bridge cottage "
                "chimney curtain doorway hallway staircase cupboard drawer lemonade biscuit "
                "porridge noodles pancake omelette carrot cabbage pumpkin cherry walnut peanut").split()

# Advice chatter: (user prompts, opening lines, tips, closing lines). The assistant answers
# with an opening, three to five tips in random order, and sometimes a closing.
ADVICE = [
    (["Any tips for sleeping better?", "I keep waking up tired. What can I do about it?",
      "How can I fall asleep faster?"],
     ["A few habits make a real difference to sleep.", "Sleep is mostly about routine. Some ideas:"],
     ["Go to bed and get up at the same time every day, even at weekends.",
      "Keep the bedroom cool, dark and quiet.",
      "Avoid coffee and strong tea after lunchtime.",
      "Put screens away half an hour before bed and read a paper book instead.",
      "Get some daylight in the morning, ideally with a short walk.",
      "If you cannot sleep after twenty minutes, get up and do something calm until you feel sleepy.",
      "Keep late meals light and avoid alcohol close to bedtime.",
      "A short wind-down routine, like a shower and some stretching, tells your body the day is over."],
     ["Give it a couple of weeks; sleep habits take time to settle.", "I hope you sleep better soon."]),
    (["How do I start running?", "I want to take up running. Where do I begin?",
      "What's a good way to get into jogging?"],
     ["Starting slowly is the whole trick.", "Good idea. Here is a gentle way in:"],
     ["Begin with intervals: one minute of easy running, two minutes of walking, repeated eight times.",
      "Run three times a week with a rest day in between.",
      "Keep the pace easy enough that you could hold a conversation.",
      "Add a little time each week rather than trying to run far at once.",
      "Comfortable shoes matter more than expensive gear.",
      "Warm up with five minutes of brisk walking.",
      "Stretch gently afterwards, especially your calves.",
      "Keep a simple log so you can see your progress."],
     ["In a couple of months you will be surprised how far you can go.", "Enjoy it!"]),
    (["How can I save more money each month?", "I'm trying to budget better. Any advice?",
      "What are some simple ways to spend less?"],
     ["A few simple habits help a lot.", "Budgeting gets easier with a system. Try these:"],
     ["Write down everything you spend for a month to see where the money actually goes.",
      "Move a fixed amount into savings on payday, before you can spend it.",
      "Cancel subscriptions you have not used in the last month.",
      "Plan meals for the week and shop with a list.",
      "Wait a day before any purchase that was not planned.",
      "Compare prices for insurance and phone plans once a year.",
      "Set a weekly amount for small treats so they do not creep up.",
      "Cook a double batch and freeze half for busy evenings."],
     ["Small changes add up faster than you would expect.", "Good luck with it!"]),
    (["How do I keep houseplants alive?", "My plants keep dying. What am I doing wrong?",
      "Any advice for looking after indoor plants?"],
     ["Most houseplants die from too much care rather than too little.",
      "Plants are forgiving once you know a few rules:"],
     ["Check the soil with a finger and water only when the top few centimetres are dry.",
      "Make sure every pot has a drainage hole.",
      "Put plants that like light near a bright window, but out of harsh afternoon sun.",
      "Water less in winter, when plants grow slowly.",
      "Wipe dust off the leaves now and then so they can use the light.",
      "Turn the pots a quarter turn each week so they grow evenly.",
      "Repot only when roots start coming out of the bottom.",
      "Start with hardy plants such as a snake plant, a pothos or a spider plant."],
     ["Once you find the right rhythm they mostly look after themselves.", "Happy growing!"]),
    (["How can I focus better when I work from home?", "I get distracted all the time at my desk. Ideas?",
      "Any tips for concentrating on long tasks?"],
     ["Focus is easier to protect than to summon.", "Here are some things that help many people:"],
     ["Work in blocks of about fifty minutes with short breaks in between.",
      "Keep your phone in another room while you work.",
      "Decide the night before what the first task of the day will be.",
      "Close every browser tab you do not need for the current task.",
      "Have a dedicated place for work, even if it is just one corner of a table.",
      "Write down distracting thoughts on a notepad and deal with them later.",
      "Start with the hardest task while your energy is highest.",
      "Stop at a set time so that work does not spill into the whole evening."],
     ["Try one or two of these for a week and see what sticks.", "You will find your own rhythm."]),
    (["What's a good way to learn a new language?", "I want to learn Spanish. How should I start?",
      "How do people learn languages as adults?"],
     ["Consistency beats intensity with languages.", "A few approaches work well together:"],
     ["Practise a little every day rather than a lot once a week.",
      "Learn the most common few hundred words first; they cover most everyday speech.",
      "Listen to podcasts or radio in the language, even when you understand only part of it.",
      "Speak from the start, even if it feels clumsy.",
      "Use flashcards with spaced repetition for vocabulary.",
      "Read short, simple texts such as children's books or news written for learners.",
      "Find a conversation partner online or at a local meetup.",
      "Label things around your home with their names in the new language."],
     ["After a few months the pieces start to click.", "Enjoy the process!"]),
    (["How do I make a good cup of coffee at home?", "My coffee at home always tastes bitter. Why?",
      "Any tips for better coffee?"],
     ["A few details change coffee a lot.", "Good coffee at home is mostly about freshness and ratios:"],
     ["Buy whole beans and grind them just before brewing.",
      "Use roughly one gram of coffee for every sixteen grams of water.",
      "Water just off the boil works better than boiling water.",
      "Bitterness often means the grind is too fine or the coffee brewed too long.",
      "Store beans in an airtight container away from light.",
      "Rinse paper filters with hot water first to remove the papery taste.",
      "Clean your equipment regularly; old oils make coffee taste stale."],
     ["Experiment a little and you will find what you like.", "Enjoy your coffee!"]),
    (["How can I remember people's names?", "I always forget names right after I hear them. Help?",
      "Is there a trick to remembering names?"],
     ["Names slip away because we rarely pay full attention when we hear them.",
      "There are a few reliable tricks:"],
     ["Repeat the name out loud straight away, for example by saying nice to meet you followed by the name.",
      "Link the name to something vivid, such as a picture or a rhyme.",
      "Use the name once or twice in the conversation.",
      "Ask how the name is spelled if it is unusual.",
      "Write the name down soon after the meeting with a note about the person.",
      "Picture the person standing next to someone you know with the same name."],
     ["It feels awkward at first, but it becomes a habit.", "People really appreciate being remembered."]),
    (["How should I prepare for a job interview?", "I have an interview soon. How do I get ready?",
      "Any advice for interviews?"],
     ["Preparation takes away most of the nerves.", "Good luck! Here is how to prepare:"],
     ["Read about the company and the role so you can explain why you want it.",
      "Prepare three short stories from your experience that show what you can do.",
      "Practise answering common questions out loud, not just in your head.",
      "Have two or three questions ready to ask them at the end.",
      "Plan your journey and aim to arrive ten minutes early.",
      "Bring a copy of your application and a notepad.",
      "It is fine to pause and think before answering a hard question.",
      "Send a short thank-you note afterwards."],
     ["Remember that they are also trying to make a good impression on you.", "You will do well."]),
    (["How do I make my bread rise better?", "My homemade bread is always dense. What's wrong?",
      "Any bread baking tips?"],
     ["Dense bread usually comes down to yeast, kneading or time.",
      "Bread rewards patience. Some things to check:"],
     ["Make sure the yeast is fresh; old yeast rises slowly.",
      "Knead until the dough is smooth and springs back when you press it.",
      "Let the dough rise somewhere warm but not hot.",
      "Give it time: the first rise often needs an hour or more.",
      "Weigh the flour instead of using cups for more consistent results.",
      "A wetter dough usually gives a lighter loaf.",
      "Preheat the oven fully and put a tray of water in it for steam."],
     ["Every loaf teaches you something.", "Happy baking!"]),
    (["How do I stop procrastinating?", "I keep putting things off. Any ideas?",
      "How can I get started on tasks I've been avoiding?"],
     ["Procrastination is usually about how a task feels, not about laziness.",
      "A few tricks help people get moving:"],
     ["Break the task into a first step so small it feels silly, then do just that.",
      "Set a timer for ten minutes and promise yourself you can stop when it rings.",
      "Decide exactly when and where you will do the task.",
      "Remove the easiest distractions before you start.",
      "Tell someone what you plan to finish today.",
      "Reward yourself after finishing, not before.",
      "Notice the excuse you are using and write it down; it often looks weaker on paper."],
     ["Starting is the hardest part; momentum does the rest.", "You have got this."]),
    (["How can I make my small flat feel bigger?", "My room feels cramped. Any decorating ideas?",
      "Tips for a small living space?"],
     ["Small spaces can feel much larger with a few changes.", "Here are some ideas that work well:"],
     ["Use light colours on the walls and ceiling.",
      "Hang a large mirror opposite a window to bounce light around.",
      "Choose furniture with legs so you can see the floor underneath.",
      "Keep surfaces clear and store things in closed boxes.",
      "Use vertical space with tall shelves.",
      "Hang curtains close to the ceiling to make the room look taller.",
      "Pick a few larger pieces rather than many small ones."],
     ["Even one or two of these changes can make a big difference.", "Enjoy the new space!"]),
    (["How do I get better at public speaking?", "I get nervous speaking in front of people. Tips?",
      "I have to give a talk next month. How do I prepare?"],
     ["Almost everyone gets nervous; preparation is what makes the difference.",
      "Here is what helps most people:"],
     ["Know your opening lines by heart so the first minute goes smoothly.",
      "Practise out loud several times, ideally in front of a friend.",
      "Structure the talk around three main points.",
      "Speak more slowly than feels natural.",
      "Look at a few friendly faces in different parts of the room.",
      "Use notes with key words rather than a full script.",
      "Pause instead of filling silences with filler words.",
      "Record yourself once and watch it back."],
     ["Nerves usually fade after the first minute.", "You will do great."]),
    (["What's a good way to start journaling?", "I want to keep a diary but never stick with it. Ideas?",
      "How do I build a writing habit?"],
     ["The key is to make it small and easy.", "A few ideas to make it stick:"],
     ["Write just three sentences a day to begin with.",
      "Keep the notebook somewhere you will see it every evening.",
      "Write at the same time each day, for example with your morning coffee.",
      "Use a simple prompt such as what went well today and why.",
      "Do not worry about style; nobody else needs to read it.",
      "If you miss a day, simply start again the next day."],
     ["After a few weeks it becomes something you look forward to.", "Enjoy writing!"]),
    (["How can I drink more water during the day?", "I never drink enough water. Tricks?",
      "Any ideas for staying hydrated?"],
     ["Habits tied to things you already do work best.", "Some simple ideas:"],
     ["Keep a full bottle on your desk where you can see it.",
      "Drink a glass of water first thing in the morning.",
      "Have a glass with every meal.",
      "Add slices of lemon or cucumber if you find plain water boring.",
      "Refill your bottle every time you take a break.",
      "Eat more fruit and vegetables, which contain a lot of water."],
     ["You will probably notice you feel more alert.", "Cheers to that!"]),
    (["How do I plan a road trip?", "We're thinking of a road trip. What should we plan?",
      "Any tips for a long drive?"],
     ["Road trips are more fun with a loose plan.", "Here is a simple checklist:"],
     ["Plan the route but leave room for detours.",
      "Keep each day's driving to about five hours so it stays enjoyable.",
      "Book the first and last night's accommodation in advance.",
      "Check the tyres, oil and lights before you leave.",
      "Pack snacks, water and a small first aid kit.",
      "Download offline maps in case you lose signal.",
      "Take a break every two hours to stretch and swap drivers.",
      "Make a shared playlist before you go."],
     ["Enjoy the drive!", "Have a wonderful trip."]),
    (["How can I be more organised?", "My desk and my calendar are a mess. Where do I start?",
      "Any tips for getting organised?"],
     ["Organisation is mostly about having one place for everything.", "Start small:"],
     ["Use one calendar for everything, work and personal.",
      "Write tasks in a single list instead of on scattered notes.",
      "Spend ten minutes at the end of each day clearing your desk.",
      "Give every object a home so you always know where to put it back.",
      "Review the week ahead every Sunday evening.",
      "Deal with small tasks immediately if they take less than two minutes.",
      "Throw away or donate things you have not used in a year."],
     ["It takes a few weeks for new habits to feel natural.", "Good luck!"]),
    (["How do I take better photos with my phone?", "My phone pictures always look flat. Tips?",
      "Any advice for photography beginners?"],
     ["Light and composition matter far more than the camera.", "A few ideas to try:"],
     ["Shoot in the soft light of early morning or late afternoon.",
      "Turn on the grid and place your subject on one of the lines rather than in the centre.",
      "Clean the lens; a smudge makes photos look hazy.",
      "Get closer to your subject instead of zooming in.",
      "Tap the screen to focus on what matters and adjust the brightness.",
      "Look for simple backgrounds.",
      "Take several shots and keep only the best one."],
     ["The more you practise, the more you start to see photos everywhere.", "Have fun with it!"]),
    (["How do I cook rice properly?", "My rice always turns out sticky. What am I doing wrong?",
      "What's the best way to make fluffy rice?"],
     ["Rice is simple once you get the ratio right.", "Here is a reliable method:"],
     ["Rinse the rice in cold water until the water runs almost clear.",
      "Use about one and a half cups of water for every cup of long grain rice.",
      "Bring it to the boil, then turn the heat right down and cover the pot.",
      "Do not lift the lid while it cooks.",
      "After about fifteen minutes, take it off the heat and let it rest for five minutes.",
      "Fluff it with a fork before serving."],
     ["That should give you separate, fluffy grains.", "Enjoy your meal!"]),
    (["How can I reduce stress after work?", "I find it hard to switch off in the evenings. Ideas?",
      "What helps you relax?"],
     ["Switching off is easier with a clear end to the working day.", "Some things people find helpful:"],
     ["Take a short walk straight after work to mark the change.",
      "Write down tomorrow's first task so it stops circling in your head.",
      "Turn off work notifications in the evening.",
      "Do something with your hands, like cooking or gardening.",
      "Spend a few minutes breathing slowly, in for four counts and out for six.",
      "Meet a friend or call someone you like.",
      "Keep one evening a week completely free of plans."],
     ["Be patient with yourself; it takes practice.", "I hope the evenings get calmer."]),
    (["How should I train my new puppy?", "Any advice for house-training a dog?",
      "How do I teach a dog to sit?"],
     ["Dogs learn fastest with short, positive sessions.", "Here is what usually works:"],
     ["Keep training sessions to five minutes, a few times a day.",
      "Reward the behaviour you want straight away with a small treat.",
      "Use the same word for each command every time.",
      "Take the puppy outside after meals, naps and play.",
      "Ignore unwanted behaviour rather than shouting.",
      "End every session on something the dog does well.",
      "Be consistent; everyone in the house should use the same rules."],
     ["Patience pays off quickly with puppies.", "Have fun with your new friend!"]),
    (["How do I choose a good book to read?", "I want to read more. How do I pick books?",
      "I never finish books. Any advice?"],
     ["Reading more is mostly about finding books you cannot put down.", "A few ideas:"],
     ["Read the first few pages in the shop or library before deciding.",
      "Ask friends what they loved recently and why.",
      "Give yourself permission to stop reading a book you do not enjoy.",
      "Keep a book with you for short waits during the day.",
      "Mix long novels with short stories or essays.",
      "Join a book club for a regular nudge.",
      "Read for twenty minutes before bed instead of scrolling."],
     ["The right book makes the habit easy.", "Happy reading!"]),
]

# General-knowledge questions with short, correct answers.
EXPLANATIONS = [
    (["Why is the sky blue?", "What makes the sky look blue?"],
     "Sunlight contains all colours, and when it passes through the air, the shorter blue wavelengths "
     "are scattered much more than the longer red ones. That scattered blue light reaches your eyes from "
     "every direction, so the whole sky looks blue. At sunset the light travels through more air, so more "
     "blue is scattered away and the sky turns orange and red."),
    (["Why do we have seasons?", "What causes summer and winter?"],
     "Seasons happen because the Earth's axis is tilted by about 23.5 degrees. As the Earth orbits the Sun, "
     "each hemisphere spends part of the year tilted towards the Sun, with longer days and more direct "
     "sunlight, which is summer, and part tilted away, which is winter. It is not because the Earth is "
     "closer to the Sun in summer."),
    (["How does a rainbow form?", "Where do rainbows come from?"],
     "A rainbow forms when sunlight enters raindrops, bends, reflects off the back of each drop and bends "
     "again on the way out. Each colour bends by a slightly different amount, so the white light spreads "
     "into its colours. You see a rainbow when the Sun is behind you and the rain is in front of you."),
    (["Why does ice float?", "How come ice floats on water?"],
     "Ice floats because it is less dense than liquid water. When water freezes, its molecules arrange "
     "themselves into an open crystal structure held together by hydrogen bonds, which takes up more "
     "space. That is why lakes freeze from the top down, and the water underneath stays liquid."),
    (["What is photosynthesis?", "How do plants make food?"],
     "Photosynthesis is how plants make their own food. Using the energy in sunlight, they combine carbon "
     "dioxide from the air with water from the soil to make sugar, and they release oxygen as a by-product. "
     "It happens mainly in the leaves, in small structures called chloroplasts, which contain the green "
     "pigment chlorophyll."),
    (["Why do cats purr?", "What does it mean when a cat purrs?"],
     "Cats purr by rapidly moving the muscles of the voice box while breathing in and out. They often purr "
     "when they are relaxed and content, but also when they are stressed or hurt, so purring seems to be a "
     "way of calming themselves as well as a signal to others."),
    (["How do airplanes stay in the air?", "What keeps a plane up?"],
     "A plane stays up because its wings produce lift. The wings are shaped and angled so that air flowing "
     "over them is pushed downwards, and by pushing air down the wing is pushed up. The engines provide "
     "thrust to keep the plane moving fast enough for the wings to produce enough lift to balance its "
     "weight."),
    (["What causes thunder?", "Why does lightning make a sound?"],
     "Thunder is the sound of lightning. A lightning bolt heats the air around it to extremely high "
     "temperatures in a fraction of a second, and the air expands so quickly that it makes a shock wave, "
     "which we hear as a crack or a rumble. You see the flash first because light travels much faster "
     "than sound."),
    (["Why is the ocean salty?", "Where does the salt in the sea come from?"],
     "Rain slowly dissolves minerals from rocks on land, and rivers carry them to the sea. When sea water "
     "evaporates, the water leaves but the salts stay behind, so over millions of years the oceans have "
     "become salty. Some salt also comes from vents on the sea floor."),
    (["How does a compass work?", "Why does a compass point north?"],
     "A compass needle is a small magnet that can turn freely. The Earth itself behaves like a giant "
     "magnet, and the needle lines up with its magnetic field, so one end points towards the magnetic "
     "north pole. Magnetic north is close to, but not exactly at, the geographic North Pole."),
    (["What is a leap year?", "Why do we have leap years?"],
     "A year on Earth, the time it takes to go round the Sun, is about 365 and a quarter days. To keep the "
     "calendar in step with the seasons, an extra day, the 29th of February, is added almost every four "
     "years. Years divisible by 100 are not leap years unless they are also divisible by 400, so 2000 was "
     "a leap year but 1900 was not."),
    (["Why do leaves change colour in autumn?", "What makes autumn leaves turn red and yellow?"],
     "Leaves are green because of chlorophyll. In autumn, as the days get shorter, trees stop making "
     "chlorophyll and it breaks down. The yellow and orange pigments that were there all along become "
     "visible, and some trees also make new red pigments, which gives the bright reds."),
    (["How do vaccines work?", "What does a vaccine do?"],
     "A vaccine trains the immune system to recognise a germ without causing the illness. It contains a "
     "harmless piece or copy of part of the germ, or instructions to make one. The body responds by "
     "making antibodies and memory cells, so if the real germ turns up later, the immune system can "
     "fight it off quickly."),
    (["Why does bread go stale?", "What makes bread go hard?"],
     "Bread goes stale mainly because the starch in it slowly recrystallises after baking and pushes out "
     "water, which makes the crumb firm and dry. That is why stale bread can be softened briefly by "
     "warming it in the oven, and why bread goes stale faster in the fridge than on the counter."),
    (["What is the difference between weather and climate?", "Are weather and climate the same thing?"],
     "Weather is what the atmosphere is doing at a particular place and time, such as rain this afternoon "
     "or a warm, windy day. Climate is the average pattern of weather in a region over many years, usually "
     "thirty or more. As a saying goes, climate is what you expect and weather is what you get."),
    (["How far away is the Moon?", "What's the distance to the Moon?"],
     "The Moon is on average about 384,000 kilometres from the Earth, or roughly 239,000 miles. The "
     "distance changes a little because its orbit is slightly oval. Light from the Moon takes a bit more "
     "than one second to reach us."),
    (["Why do onions make you cry?", "Why do my eyes water when I cut onions?"],
     "Cutting an onion breaks its cells and releases enzymes that produce a gas called "
     "syn-propanethial-S-oxide. When the gas reaches your eyes, it irritates them and they make tears to "
     "wash it away. Chilling the onion first or using a very sharp knife reduces the effect."),
    (["What is the speed of light?", "How fast does light travel?"],
     "Light travels at about 300,000 kilometres per second in a vacuum, or more precisely 299,792 "
     "kilometres per second. At that speed it could go around the Earth about seven and a half times in "
     "one second. Light from the Sun takes about eight minutes to reach us."),
    (["Why do we yawn?", "What's the reason for yawning?"],
     "Nobody knows for certain. One leading idea is that yawning helps cool the brain, since it draws in a "
     "large breath of air and stretches the jaw. Yawning is also famously contagious, which may have "
     "helped groups of people or animals stay in sync with each other."),
    (["How do bees make honey?", "Where does honey come from?"],
     "Bees collect nectar from flowers and carry it back to the hive. There they pass it between bees and "
     "add enzymes that break down its sugars, then store it in wax cells and fan it with their wings to "
     "evaporate most of the water. When it is thick enough, they seal the cell with wax, and that is honey."),
    (["Why do stars twinkle?", "What makes stars twinkle at night?"],
     "Stars twinkle because their light passes through moving layers of air with different temperatures "
     "and densities on the way to your eyes. Each layer bends the light slightly, and because the layers "
     "keep shifting, the star seems to flicker. Planets twinkle less because they appear as tiny discs "
     "rather than points."),
    (["How does a refrigerator keep food cold?", "How does a fridge work?"],
     "A fridge pumps heat out rather than making cold. A liquid called a refrigerant evaporates in pipes "
     "inside the fridge, absorbing heat from the food. A compressor then squeezes the gas, which heats "
     "it up, and it releases that heat through the coils at the back before turning liquid again and "
     "repeating the cycle."),
    (["What is a prime number?", "Can you explain prime numbers?"],
     "A prime number is a whole number greater than 1 that can only be divided evenly by 1 and by itself. "
     "The first few are 2, 3, 5, 7, 11 and 13. Numbers such as 4, 6 and 9 are not prime, because they can "
     "be split into smaller factors. There are infinitely many primes."),
    (["Why do we get goosebumps?", "What causes goosebumps?"],
     "Goosebumps happen when tiny muscles at the base of each hair contract and make the hairs stand up. "
     "In furry animals this traps a layer of warm air or makes them look bigger when threatened. In "
     "people it is mostly a leftover reflex that shows up when we are cold or moved by music."),
]

# Short small talk: (user lines, assistant replies).
SMALL_TALK = [
    (["Hi there!", "Hello!", "Hey, good morning.", "Hi, how's it going?"],
     ["Hello! How can I help you today?", "Hi! What can I do for you?",
      "Good morning! What's on your mind?"]),
    (["How are you today?", "How's your day going?"],
     ["I'm doing well, thanks for asking. How about you?", "All good here. What can I help with?"]),
    (["Thanks, that's helpful.", "Great, thank you!", "Thanks a lot.", "Perfect, thanks."],
     ["You're welcome!", "Glad it helped.", "Any time.", "Happy to help. Anything else?"]),
    (["It's raining again here.", "The weather is awful today.", "It's so grey outside."],
     ["Sorry to hear that. A good day for a book and a warm drink, maybe?",
      "That sounds gloomy. I hope it clears up later.",
      "Rainy days can be nice for staying in and catching up on things."]),
    (["It's finally sunny today!", "Beautiful weather today.", "The sun is out at last."],
     ["Lovely! A good day to get outside for a while.", "That's great news. Enjoy the sunshine!",
      "Nice! Any plans to make the most of it?"]),
    (["I'm a bit tired today.", "Long day at work.", "I didn't sleep much last night."],
     ["That sounds draining. Go easy on yourself today.",
      "Sorry to hear it. Maybe an early night is in order.",
      "I hope you get some rest soon."]),
    (["I just finished a big project.", "I handed in my report today!",
      "We finally launched the new website."],
     ["Congratulations! That must feel good.", "Well done! Time to celebrate a little.",
      "That's great. You must be relieved."]),
    (["I'm bored.", "Nothing to do this afternoon.", "I've got a free evening and no plans."],
     ["You could try a new recipe, go for a walk, or start a book you've been meaning to read.",
      "How about a puzzle, a film, or calling a friend you haven't spoken to in a while?",
      "A free evening is a gift. Maybe something you've been putting off, or something purely fun?"]),
    (["Do you like music?", "What kind of music do you like?"],
     ["I don't listen to music myself, but I'm happy to talk about it. What do you enjoy?",
      "I can't hear music, but I know a lot about it. What are you listening to lately?"]),
    (["Sorry, I got distracted.", "Where were we?", "Sorry, I had to step away for a moment."],
     ["No problem at all. What would you like to do next?", "No worries. Take your time.",
      "That's fine. I'm here whenever you're ready."]),
    (["Haha, that's funny.", "That made me laugh.", "Ha, good one."],
     ["Glad it gave you a smile!", "Happy to brighten the day a little.", "A little humour never hurts."]),
    (["I'm making dinner now.", "Cooking pasta tonight.", "I'm about to start cooking."],
     ["Sounds good. Enjoy your meal!", "Nice. What are you making?", "Have fun in the kitchen!"]),
    (["My weekend was really relaxing.", "We went hiking at the weekend.",
      "I visited my parents this weekend."],
     ["That sounds lovely. Weekends like that are good for recharging.",
      "Nice! It's good to have a break from the usual routine.", "Sounds like a good weekend."]),
    (["I'm learning to play the guitar.", "I started a pottery class.", "I've taken up painting."],
     ["That's a great hobby. How are you finding it so far?",
      "Wonderful! The first few weeks are the hardest, then it gets really fun.",
      "Nice choice. Keep at it and you'll surprise yourself."]),
    (["OK, next question.", "Another thing.", "Let me ask you something else."],
     ["Sure, go ahead.", "Of course. What is it?", "I'm listening."]),
]
