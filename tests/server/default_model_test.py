"""The embedded default model, deploy/models/trimchat-6m, as shipped:

- the directory is complete (weights within the ~30 MB budget, tokenizer, chat template,
  generation config, model card, held-out sets, evaluation results, training logs) and its
  config carries trained retention gates;
- `trimserve generate` and `trimserve serve` use it when no --model is given: a chat
  completion over HTTP is answered by `trimchat-6m`, the name /v1/models lists;
- the committed evaluation is this model's: re-running `trimserve eval` on the first held-out
  dialogues gives, dialogue by dialogue, the replies recorded in eval/recall-shared/results.json
  (for full and for trimkv-global at the smallest budget);
- eval/ results cover every policy the card reports.

Env: TRIMSERVE_SRC, TRIMSERVE_BIN.
"""
import http.client
import json
import os
import subprocess
import sys
import tempfile

SRC = os.environ.get("TRIMSERVE_SRC", os.getcwd())
sys.path.insert(0, os.path.join(SRC, "tests", "support"))
from checks import check, problems  # noqa: E402
from daemon import BIN, Daemon  # noqa: E402

NAME = "trimchat-6m"
MODEL = os.path.join(SRC, "deploy", "models", NAME)
EVAL = os.path.join(MODEL, "eval")
RECHECKED = 3  # held-out dialogues re-run per configuration

for f in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
          "generation_config.json", "MODEL_CARD.md", "training/base_loss.jsonl",
          "eval/recall_heldout.jsonl", "eval/sotu_heldout.jsonl"):
    check(os.path.isfile(os.path.join(MODEL, f)), f"{NAME}/{f} is missing")
if problems:
    sys.exit(1)
size = os.path.getsize(os.path.join(MODEL, "model.safetensors"))
check(size <= 31_500_000, f"model.safetensors is {size} bytes, over the ~30 MB budget")
with open(os.path.join(MODEL, "config.json")) as f:
    config = json.load(f)
check(config.get("retention_gate") and config.get("memory_size"), f"no trained gates in config: {config}")

# generate without --model
# (--ignore-eos: sampled text may end early, which is no failure of the default model; CI
# once drew an end-of-text token as the second one)
p = subprocess.run([BIN, "generate", "--prompt", "The Congress", "--max-tokens", "8", "--ignore-eos",
                    "--json"],
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
check(p.returncode == 0, f"generate without --model: rc {p.returncode}: {p.stderr}")
if p.returncode == 0:
    out = json.loads(p.stdout)
    print("generate:", json.dumps(out["text"]))
    check(len(out["token_ids"]) == 8, f"generate made {len(out['token_ids'])} tokens")

# serve without --model
CONFIG = "server:\n  port: 0\nkvpool:\n  capacity: {entries: 100000}\n"
with tempfile.TemporaryDirectory() as tmp:
    daemon = Daemon(tmp, model=None, config=CONFIG)
    try:
        c = http.client.HTTPConnection("127.0.0.1", daemon.port, timeout=60)
        c.request("GET", "/v1/models")
        models = json.loads(c.getresponse().read())
        ids = [m["id"] for m in models.get("data", [])]
        check(ids == [NAME], f"/v1/models lists {ids}")
        c.request("POST", "/v1/chat/completions", headers={"Content-Type": "application/json"},
                  body=json.dumps({"model": NAME, "max_tokens": 16, "temperature": 0,
                                   "messages": [{"role": "user", "content": "My locker code is 4417."}]}))
        r = c.getresponse()
        body = json.loads(r.read())
        check(r.status == 200, f"chat completion: {r.status} {body}")
        if r.status == 200:
            print("chat:", json.dumps(body["choices"][0]["message"]["content"]))
            check(body["model"] == NAME, f"answered by {body['model']}")
    finally:
        check(daemon.stop() == 0, "serve did not exit 0 on SIGTERM")

# The committed recall results are this model's.
with open(os.path.join(EVAL, "recall-shared", "results.json")) as f:
    committed = json.load(f)
smallest = min(committed["budgets"])
want = {}
for res in committed["results"]:
    if res["policy"] == "full" or (res["policy"] == "trimkv-global" and res["budget"] == smallest):
        want[res["policy"]] = {o["id"]: o["predicted"] for o in res["outcomes"]}
check(set(want) == {"full", "trimkv-global"}, f"committed results lack full or trimkv-global: {list(want)}")
check({r["policy"] for r in committed["results"]} == {"full", "window", "trimkv", "trimkv-global"},
      "committed recall results must cover all four policies")
with tempfile.TemporaryDirectory() as tmp:
    p = subprocess.run([BIN, "eval", "--task", "recall", "--data",
                        os.path.join(EVAL, "recall_heldout.jsonl"), "--max-examples", str(RECHECKED),
                        "--policies", "full,trimkv-global", "--budgets", str(smallest),
                        "--prefill-chunk", str(committed["prefill_chunk"]), "--out", tmp],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    check(p.returncode == 0, f"eval: rc {p.returncode}: {p.stderr}")
    if p.returncode == 0:
        with open(os.path.join(tmp, "results.json")) as f:
            fresh = json.load(f)
        for res in fresh["results"]:
            for o in res["outcomes"]:
                recorded = want.get(res["policy"], {}).get(o["id"])
                check(recorded == o["predicted"],
                      f"{res['label']} on {o['id']}: now {o['predicted']!r}, committed {recorded!r}")
        print(f"re-ran {RECHECKED} held-out dialogues: replies match the committed results")

if problems:
    sys.exit(1)
print("default_model_test: ok")
