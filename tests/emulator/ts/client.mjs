// Drives the emulator with the TypeScript SDK: create, retrieve, list, cancel (refused), results.
// Usage: node client.mjs BASE_URL  -> one JSON object on stdout.
import Anthropic from "@anthropic-ai/sdk";

const client = new Anthropic({ apiKey: "emulator-key", baseURL: process.argv[2], maxRetries: 0 });
const requests = ["ts-a", "ts-b", "ts-c"].map((id, i) => ({
  custom_id: id,
  params: { model: "claude-haiku-4-5", max_tokens: 64, messages: [{ role: "user", content: `hello ${i}` }] },
}));
requests.push({ custom_id: "ts-bad", params: { model: "claude-haiku-4-5", max_tokens: 0, messages: [] } });

const created = await client.messages.batches.create({ requests });
const retrieved = await client.messages.batches.retrieve(created.id);
const listed = [];
for await (const batch of client.messages.batches.list({ limit: 1 })) listed.push(batch.id);
let cancelStatus = null;
try {
  await client.messages.batches.cancel(created.id);
} catch (err) {
  cancelStatus = err.status;
}
const results = [];
for await (const line of await client.messages.batches.results(created.id)) {
  results.push({ custom_id: line.custom_id, type: line.result.type,
                 text: line.result.message?.content?.[0]?.text ?? null,
                 error: line.result.error?.error?.type ?? null });
}
console.log(JSON.stringify({ created, retrieved, listed, cancelStatus, results }));
