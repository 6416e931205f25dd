// The OpenAI Node SDK against a trimserve with tenants (see tests/server/openai_sdk_test.py
// for the config): unknown keys are AuthenticationError, a model the tenant may not use is
// PermissionDeniedError, a tenant over its requests per minute gets RateLimitError with
// Retry-After. Usage: node openai_sdk_auth_check.mjs BASE_URL MODEL
import OpenAI from "openai";

const [baseURL, model] = process.argv.slice(2);
const as = (apiKey) => new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 60000 });
let failures = 0;
const check = (ok, what) => {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}`);
  if (!ok) failures++;
};
const params = { model, messages: [{ role: "user", content: "Hi" }], max_tokens: 2, temperature: 0 };

async function expectError(client, cls, status, what) {
  try {
    await client.chat.completions.create(params);
    check(false, `${what}: no error`);
    return null;
  } catch (e) {
    check(e instanceof cls && e.status === status, `${what}: ${e.constructor.name} ${e.status} ${e.message}`);
    return e;
  }
}

await expectError(as("sk-wrong"), OpenAI.AuthenticationError, 401, "unknown key");
await expectError(as("sk-globex"), OpenAI.PermissionDeniedError, 403, "model not allowed for the tenant");
const acme = as("sk-acme");
for (let i = 0; i < 3; i++) {
  const r = await acme.chat.completions.create(params);
  check(r.usage.completion_tokens === 2, `acme request ${i + 1} within its limit`);
}
const e = await expectError(acme, OpenAI.RateLimitError, 429, "fourth request in a minute");
check(e && Number(e.headers["retry-after"]) > 0, `Retry-After: ${e && e.headers["retry-after"]}`);
process.exit(failures ? 1 : 0);
