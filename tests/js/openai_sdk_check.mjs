// Drives a running trimserve with the official OpenAI Node SDK and checks the SDK's own parsed
// objects and error classes. Usage: node openai_sdk_check.mjs BASE_URL MODEL
// Prints one line per check; exits 1 when any fails.
import OpenAI from "openai";

const [baseURL, model] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey: "not-needed", maxRetries: 0, timeout: 60000 });
let failures = 0;
const check = (ok, what) => {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}`);
  if (!ok) failures++;
};
const hello = [{ role: "user", content: "Hello there" }];

// Non-streaming, with usage.
const a = await client.chat.completions.create({ model, messages: hello, max_tokens: 5, temperature: 0 });
console.log("completion:", JSON.stringify(a));
check(typeof a.choices[0].message.content === "string", "message.content is a string");
check(a.usage.completion_tokens === 5 && a.usage.total_tokens === a.usage.prompt_tokens + 5, "usage adds up");
check(a.usage.prompt_tokens_details.cached_tokens === 0, "no cached tokens without a session");

// Seeded sampling is reproducible.
const seeded = () => client.chat.completions.create({ model, messages: hello, max_tokens: 6, temperature: 0.9, seed: 1234 });
const [s1, s2] = [await seeded(), await seeded()];
check(s1.choices[0].message.content === s2.choices[0].message.content, "same seed, same text");

// Stop strings: generation ends with finish_reason "stop" or "length", never showing a stop string.
const stopped = await client.chat.completions.create({ model, messages: hello, max_tokens: 12, temperature: 0, stop: ["e", "a"] });
const st = stopped.choices[0];
check(["stop", "length"].includes(st.finish_reason) && !/[ea]/.test(st.message.content), `stop strings honoured (${st.finish_reason})`);

// Streaming with include_usage: deltas add up to the non-streamed text.
const stream = await client.chat.completions.create({
  model, messages: hello, max_tokens: 5, temperature: 0, stream: true, stream_options: { include_usage: true },
});
let text = "", usage = null, finish = null;
for await (const chunk of stream) {
  if (chunk.choices.length) {
    text += chunk.choices[0].delta.content ?? "";
    finish = chunk.choices[0].finish_reason ?? finish;
  }
  if (chunk.usage) usage = chunk.usage;
}
check(text === a.choices[0].message.content, "streamed text equals the non-streamed one");
check(finish === "length" && usage?.completion_tokens === 5, "stream ends with finish_reason and usage");

// A session over 3 turns (the session_id extension field) reuses its cache.
const convo = [{ role: "user", content: "My locker code is 4417." }];
const cached = [];
for (const next of ["What was it?", "Once more?", null]) {
  const r = await client.chat.completions.create({ model, messages: convo, max_tokens: 4, temperature: 0, session_id: "sdk-locker" });
  cached.push(r.usage.prompt_tokens_details.cached_tokens);
  if (next) convo.push({ role: "assistant", content: r.choices[0].message.content }, { role: "user", content: next });
}
console.log("session cached_tokens:", cached);
check(cached[0] === 0 && cached[1] > 0 && cached[2] > 0, "turns 2 and 3 report cached_tokens > 0");

// Errors arrive as the SDK's error classes.
async function expectError(cls, status, params, what) {
  try {
    await client.chat.completions.create(params);
    check(false, `${what}: no error`);
  } catch (e) {
    check(e instanceof cls && e.status === status, `${what}: ${e.constructor.name} ${e.status} ${e.message}`);
  }
}
await expectError(OpenAI.NotFoundError, 404, { model: "gpt-9", messages: hello }, "unknown model");
await expectError(OpenAI.BadRequestError, 400, { model, messages: hello, temperature: "hot" }, "wrong type");
await expectError(OpenAI.UnprocessableEntityError, 422, { model, messages: hello, max_tokens: -3 }, "negative max_tokens");
await expectError(OpenAI.BadRequestError, 400, { model, messages: hello, max_tokens: 1e9 }, "prompt + max_tokens over the context");

// Text completions, streamed and not, agree.
const tc = await client.completions.create({ model, prompt: "Once upon a time", max_tokens: 5, temperature: 0 });
check(tc.object === "text_completion" && typeof tc.choices[0].text === "string" && tc.usage.completion_tokens === 5,
      "completions.create returns a text_completion with usage");
let streamed = "";
for await (const c of await client.completions.create({ model, prompt: "Once upon a time", max_tokens: 5, temperature: 0, stream: true })) {
  streamed += c.choices[0]?.text ?? "";
}
check(streamed === tc.choices[0].text, "streamed completion equals the non-streamed one");

// Logprobs: one entry per generated token, streamed or not, with the SDK's own types; the
// greedy choice is each position's most likely token, and the bytes spell the text.
const lp = await client.chat.completions.create({ model, messages: hello, max_tokens: 6, temperature: 0, logprobs: true, top_logprobs: 3 });
const content = lp.choices[0].logprobs?.content ?? [];
check(content.length === lp.usage.completion_tokens, `chat logprobs: ${content.length} entries for ${lp.usage.completion_tokens} tokens`);
check(content.every((e) => e.top_logprobs.length === 3 && e.top_logprobs[0].token === e.token && e.logprob <= 0),
      "chat logprobs: greedy token first among 3 alternatives");
const bytes = Buffer.from(content.flatMap((e) => e.bytes)).toString("utf8");
check(lp.choices[0].message.content.length > 0 && bytes.startsWith(lp.choices[0].message.content),
      "chat logprobs: bytes spell the message");
let streamedEntries = 0;
for await (const c of await client.chat.completions.create({ model, messages: hello, max_tokens: 6, temperature: 0, logprobs: true, stream: true })) {
  streamedEntries += c.choices[0]?.logprobs?.content?.length ?? 0;
}
check(streamedEntries === content.length, `streamed chat logprobs cover every token (${streamedEntries})`);
const legacy = await client.completions.create({ model, prompt: "Once upon a time", max_tokens: 5, temperature: 0, logprobs: 2 });
const ll = legacy.choices[0].logprobs;
check(ll.tokens.length === 5 && ll.token_logprobs.length === 5 && ll.top_logprobs.length === 5 && ll.text_offset[0] === 0,
      "completions logprobs: parallel arrays for 5 tokens");
await expectError(OpenAI.UnprocessableEntityError, 422, { model, messages: hello, top_logprobs: 2 }, "top_logprobs without logprobs");

const models = await client.models.list();
check(models.data.length === 1 && models.data[0].id === model, "models.list");

process.exit(failures ? 1 : 0);
