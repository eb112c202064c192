// cse_wasm.wasm in Node, through js/cse.mjs, on the objects the official Python SDK V2 wrote
// (testvectors/python-v2): whole, every range case of the manifest through a fake server's 206
// answers, with an RSA key and with a JavaScript callback key, and the error paths. Expected
// values come from the manifest (written by the SDK's generator) and from this file's own
// RFC 9110 resolver, never from the module under test.
//
// Run: node --test crates/cse-wasm/tests/node/   (CSE_WASM=path/to/cse_wasm.wasm, else the
// release build under target/).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, webcrypto } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Cse, CseError } from "../../js/cse.mjs";

if (!globalThis.crypto) globalThis.crypto = webcrypto;

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "../../../..");
const vectors = join(root, "testvectors/python-v2");
const manifest = JSON.parse(readFileSync(join(vectors, "manifest.json"), "utf8"));
const pem = readFileSync(join(vectors, manifest.keys.private), "utf8");
const wasmPath =
  process.env.CSE_WASM ?? join(root, "target/wasm32-unknown-unknown/release/cse_wasm.wasm");
const wasm = readFileSync(wasmPath);

const sha256 = (bytes) => createHash("sha256").update(bytes).digest("hex");
const concat = (parts) => Buffer.concat(parts.map((p) => Buffer.from(p)));
const formula = (first, len) => Uint8Array.from({ length: len }, (_, i) => (first + i) % 251);

/** Opens `body` in chunks of `step` bytes. */
function drain(opener, body, step) {
  const out = [];
  for (let at = 0; at < body.length; at += step) out.push(opener.update(body.subarray(at, at + step)));
  opener.finish();
  return concat(out);
}

/** RFC 9110 §14.1.2, on the stored bytes: [first, last] or null (416). */
function resolve(range, size) {
  const m = /^bytes=(\d*)-(\d*)$/.exec(range);
  assert.ok(m, `a single byte range: ${range}`);
  const [a, b] = [m[1], m[2]];
  if (a === "") {
    const n = Number(b);
    if (n === 0 || size === 0) return null;
    return [Math.max(0, size - n), size - 1];
  }
  const first = Number(a);
  if (first >= size) return null;
  const last = b === "" ? size - 1 : Math.min(Number(b), size - 1);
  return first <= last ? [first, last] : null;
}

const load = (options) => Cse.load(wasm, options);

test("every SDK vector opens whole, in any chunking", async () => {
  const cse = await load();
  const key = cse.rsaKey(pem);
  for (const v of manifest.vectors) {
    const body = readFileSync(join(vectors, v.ciphertext));
    const env = cse.envelope(v.headers);
    const material = cse.open(env, key);
    for (const step of [1, 7, 16, 4096, 65536]) {
      if (step === 1 && body.length > 70000) continue; // one byte at a time: small objects only
      const plain = drain(cse.wholeOpener(env, material), body, step);
      assert.equal(plain.length, v.plaintext_len, `${v.name} length`);
      assert.equal(sha256(plain), v.plaintext_sha256, `${v.name}, chunks of ${step}`);
      assert.deepEqual(plain, Buffer.from(formula(0, v.plaintext_len)), v.name);
    }
  }
});

test("every range case of the manifest, through a fake 206 server", async () => {
  const cse = await load();
  const key = cse.rsaKey(pem);
  let cases = 0;
  for (const v of manifest.vectors) {
    const stored = readFileSync(join(vectors, v.ciphertext));
    const env = cse.envelope(v.headers);
    const material = cse.open(env, key);
    for (const c of v.ranges ?? []) {
      cases++;
      if (c.status === 416) {
        // Refused when planned (bytes=-0), by the server (the block-aligned wire range is past
        // the end), or by the engine on the server's 206 (the requested first byte is past it).
        assert.throws(
          () => {
            const plan = cse.rangePlan(c.range);
            const served = resolve(plan.wireRange(), stored.length);
            return served === null
              ? plan.onResponse(416, `bytes */${stored.length}`, 0)
              : plan.onResponse(206, `bytes ${served[0]}-${served[1]}/${stored.length}`, served[1] - served[0] + 1);
          },
          CseError,
          `${v.name} ${c.range}`,
        );
        continue;
      }
      const plan = cse.rangePlan(c.range);
      assert.equal(plan.rangeBehavior(), "standard");
      const served = resolve(plan.wireRange(), stored.length);
      assert.notEqual(served, null, `${v.name} ${c.range}: the wire range ${plan.wireRange()} is served`);
      const [first, last] = served;
      const body = stored.subarray(first, last + 1);
      const bodyPlan = plan.onResponse(206, `bytes ${first}-${last}/${stored.length}`, body.length);
      assert.equal(bodyPlan.contentRange(), c.content_range, `${v.name} ${c.range}`);
      const plain = drain(cse.rangedOpener(env, material, bodyPlan), body, 1000);
      assert.equal(plain.length, c.len, `${v.name} ${c.range} length`);
      assert.equal(sha256(plain), c.sha256, `${v.name} ${c.range}`);
    }
  }
  assert.ok(cases > 100, `the manifest's range cases (${cases})`);
});

test("a JavaScript callback key (a KMS) opens the vectors", async () => {
  // The "KMS": every header value of the vectors, base64-decoded, mapped to the key and the
  // counter block the SDK's generator recorded; the length asked for says which one it is.
  const table = new Map();
  for (const v of manifest.vectors) {
    for (const value of Object.values(v.headers)) {
      table.set(Buffer.from(value, "base64").toString("hex"), {
        32: Buffer.from(v.cek_hex, "hex"),
        16: Buffer.from(v.iv_hex, "hex"),
      });
    }
  }
  let calls = 0;
  const unwrap = (wrapped, outLen) => {
    calls++;
    const plain = table.get(Buffer.from(wrapped).toString("hex"))?.[outLen];
    if (!plain) throw new Error("unknown key");
    return new Uint8Array(plain);
  };
  const cse = await load({ unwrap });
  const v = manifest.vectors.find((x) => x.name === "put-4096");
  const env = cse.envelope(v.headers);
  const wrapAlg = cse.wrapAlg(env);
  const key = cse.callbackKey(wrapAlg);
  const plain = drain(cse.wholeOpener(env, cse.open(env, key)), readFileSync(join(vectors, v.ciphertext)), 999);
  assert.equal(sha256(plain), v.plaintext_sha256);
  assert.equal(calls, 2, "the key and the counter block");

  // A callback that refuses, and one that returns the wrong length: the one opaque error, the
  // same message as a wrong RSA key's.
  const refusing = cse.callbackKey(wrapAlg, () => {
    throw new Error("denied");
  });
  const short = cse.callbackKey(wrapAlg, () => new Uint8Array(3));
  const other = await load();
  const { privateKey } = await webcrypto.subtle.generateKey(
    { name: "RSA-OAEP", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
    true,
    ["decrypt"],
  );
  const der = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", privateKey)).toString("base64");
  const wrongPem = `-----BEGIN PRIVATE KEY-----\n${der.match(/.{1,64}/g).join("\n")}\n-----END PRIVATE KEY-----\n`;
  const messages = new Set();
  for (const [instance, k] of [
    [cse, refusing],
    [cse, short],
    [other, other.rsaKey(wrongPem)],
  ]) {
    const e = instance.envelope(v.headers);
    assert.throws(() => instance.open(e, k), (err) => {
      assert.ok(err instanceof CseError);
      messages.add(err.message);
      return true;
    });
  }
  assert.equal(messages.size, 1, `one opaque unwrap error: ${[...messages]}`);
});

test("truncated and extended bodies fail at finish or update", async () => {
  const cse = await load();
  const key = cse.rsaKey(pem);
  // The vector that declares its length (the SDK writes it when the caller gives one).
  const v = manifest.vectors.find((x) => x.name === "put-md5-length-1000");
  const body = readFileSync(join(vectors, v.ciphertext));
  const env = cse.envelope(v.headers);
  const material = cse.open(env, key);
  const cut = cse.wholeOpener(env, material);
  cut.update(body.subarray(0, 900));
  assert.throws(() => cut.finish(), CseError);
  const long = cse.wholeOpener(env, material);
  assert.throws(() => long.update(Buffer.concat([body, Buffer.from([1])])), CseError);
  // A ranged answer for another object length than the envelope declares (this vector
  // declares its length).
  const d = manifest.vectors.find((x) => x.name === "put-md5-length-1000");
  const denv = cse.envelope(d.headers);
  assert.equal(cse.declaredLength(denv), d.plaintext_len);
  const dmat = cse.open(denv, key);
  const plan = cse.rangePlan("bytes=0-99");
  const bodyPlan = plan.onResponse(206, "bytes 0-111/5000", 112);
  assert.throws(() => cse.rangedOpener(denv, dmat, bodyPlan), CseError);
  const fits = plan.onResponse(206, `bytes 0-111/${d.plaintext_len}`, 112);
  assert.equal(fits.contentRange(), `bytes 0-99/${d.plaintext_len}`);
  cse.rangedOpener(denv, dmat, fits); // the same answer with the right total is accepted
});

test("bad inputs are errors that name the problem", async () => {
  const cse = await load();
  assert.throws(() => cse.rsaKey("not a key"), CseError);
  assert.throws(() => cse.envelope({ "content-type": "text/plain" }), /not encrypted|envelope/i);
  const v = manifest.vectors.find((x) => x.name === "put-16");
  // The wrapped values (the long ones) replaced by something that is not base64.
  const damaged = Object.fromEntries(
    Object.entries(v.headers).map(([n, value]) => [n, value.length > 100 ? "***" : value]),
  );
  assert.throws(() => cse.envelope(damaged), CseError);
  assert.throws(() => cse.rangePlan("bytes=9-1"), CseError);
  assert.throws(() => cse.rangePlan("items=0-1"), CseError);
  assert.throws(() => cse.free(123456), /not a live handle/);
  assert.throws(() => cse.declaredLength(0) ?? cse.checkStoredLength(0, 1), CseError);
});
