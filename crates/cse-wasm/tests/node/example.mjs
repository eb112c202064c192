// Decrypt an object written by the official Python SDK, and the last 100 bytes of it, with
// cse_wasm.wasm in Node. (`node example.mjs`; the README shows this file.)
import { readFileSync } from "node:fs";
import { Cse } from "../../js/cse.mjs";

const dir = new URL("../../../../testvectors/python-v2/", import.meta.url);
const wasm = new URL("../../../../target/wasm32-unknown-unknown/release/cse_wasm.wasm", import.meta.url);
const { vectors } = JSON.parse(readFileSync(new URL("manifest.json", dir), "utf8"));
const object = vectors.find((v) => v.name === "put-4096");
const stored = readFileSync(new URL(object.ciphertext, dir)); // what GetObject returns
const headers = object.headers; // and its response headers

const cse = await Cse.load(readFileSync(process.env.CSE_WASM ?? wasm));
const key = cse.rsaKey(readFileSync(new URL("rsa2048-private.pem", dir), "utf8"));
const envelope = cse.envelope(headers);
const material = cse.open(envelope, key);

// The whole object, in chunks as a response body delivers them.
const whole = cse.wholeOpener(envelope, material);
const chunks = [];
for (let at = 0; at < stored.length; at += 1000) chunks.push(whole.update(stored.subarray(at, at + 1000)));
whole.finish();
const plain = Buffer.concat(chunks);

// A range: send plan.wireRange() with the range-behavior header, open what comes back.
const plan = cse.rangePlan("bytes=-100"); // object length unknown: a suffix goes as it is
if (plan.wireRange() !== "bytes=-100") throw new Error(plan.wireRange());
const [first, last] = [stored.length - 100, stored.length - 1]; // the server's answer to it
const body = plan.onResponse(206, `bytes ${first}-${last}/${stored.length}`, last - first + 1);
const ranged = cse.rangedOpener(envelope, material, body);
const tail = ranged.update(stored.subarray(first, last + 1));
ranged.finish();

if (!plain.subarray(-100).equals(Buffer.from(tail)) || plain.length !== object.plaintext_len) {
  throw new Error("the range is not the end of the object");
}
console.log(`${object.name}: ${plain.length} bytes; ${body.contentRange()}: ${tail.length} bytes`);
