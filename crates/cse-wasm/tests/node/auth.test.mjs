// Authenticated objects (docs/authenticated-objects.md) through cse_wasm.wasm: objects the `cse`
// CLI wrote with --authenticate (CSE_BIN, which run.sh builds) are read whole and in ranges,
// fetching only what the plan asks for; a flipped bit fails its chunk and nothing of it is
// released; trusted writers refuse unsigned objects. Expected plaintext is the file the CLI
// encrypted, sliced by this file's own RFC 9110 resolver.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { webcrypto } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Cse, CseError } from "../../js/cse.mjs";

if (!globalThis.crypto) globalThis.crypto = webcrypto;

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "../../../..");
const keys = join(root, "testvectors/python-v2");
const pem = readFileSync(join(keys, "rsa2048-private.pem"), "utf8");
const wasm = readFileSync(
  process.env.CSE_WASM ?? join(root, "target/wasm32-unknown-unknown/release/cse_wasm.wasm"),
);
const cseBin = process.env.CSE_BIN ?? join(root, "target/debug/cse");
const CS = 65536;
const LEN = 3 * CS + 777;

const dir = mkdtempSync(join(tmpdir(), "cse-wasm-auth-"));
const plain = Uint8Array.from({ length: LEN }, (_, i) => (i * 31 + 7) % 251);
writeFileSync(join(dir, "plain"), plain);
execFileSync(cseBin, ["keygen", "--signing", "--private-out", join(dir, "w.pem"),
  "--public-out", join(dir, "w.pub")], { stdio: "pipe" });

function written(name, extra = []) {
  execFileSync(cseBin, ["encrypt", "--public-key", join(keys, "rsa2048-public.pem"),
    "--in", join(dir, "plain"), "--out", join(dir, `${name}.ct`), "--meta-out",
    join(dir, `${name}.json`), "--authenticate", "--auth-out", join(dir, `${name}.tags`),
    "--auth-chunk-size", "64KiB", ...extra], { stdio: "pipe" });
  return {
    ct: new Uint8Array(readFileSync(join(dir, `${name}.ct`))),
    headers: JSON.parse(readFileSync(join(dir, `${name}.json`), "utf8")),
    sidecar: new Uint8Array(readFileSync(join(dir, `${name}.tags`))),
  };
}

/** The bytes a server answers to `range` ("bytes=A-B"), or the empty array for "". */
function served(bytes, range) {
  if (range === "") return new Uint8Array(0);
  const [a, b] = range.slice("bytes=".length).split("-").map(Number);
  return bytes.subarray(a, b + 1);
}

/** RFC 9110 §14.1.2: [first, last] or null. */
function resolve(range, size) {
  const [a, b] = range.slice("bytes=".length).split("-");
  if (a === "") return Number(b) === 0 || size === 0 ? null : [Math.max(0, size - Number(b)), size - 1];
  const first = Number(a);
  if (first >= size) return null;
  return [first, b === "" ? size - 1 : Math.min(Number(b), size - 1)];
}

function read(cse, object, range, trusted = [], step = 9999) {
  const key = cse.rsaKey(pem);
  const env = cse.envelope(object.headers);
  const material = cse.open(env, key);
  const plan = cse.authPlan(object.headers, object.ct.length, range, trusted);
  const header = served(object.sidecar, plan.headerRange);
  const tags = served(object.sidecar, plan.tagsRange());
  const body = served(object.ct, plan.bodyRange());
  const opener = cse.authOpener(plan, env, material, header, tags);
  const out = [];
  for (let at = 0; at < body.length; at += step) out.push(opener.update(body.subarray(at, at + step)));
  opener.finish();
  return Buffer.concat(out.map((p) => Buffer.from(p)));
}

test("authenticated objects open whole and in ranges, from only the planned bytes", async () => {
  const cse = await Cse.load(wasm);
  const object = written("a");
  assert.deepEqual(read(cse, object, null), Buffer.from(plain));
  for (const range of ["bytes=0-0", "bytes=65530-65545", "bytes=-10", "bytes=100000-", "bytes=5-99999999"]) {
    const [first, last] = resolve(range, LEN);
    assert.deepEqual(read(cse, object, range, [], 7777), Buffer.from(plain.subarray(first, last + 1)), range);
  }
  // A ranged read's tags are those of its chunks only.
  const plan = cse.authPlan(object.headers, LEN, "bytes=70000-70010");
  assert.equal(plan.tagsRange(), `bytes=${208 + 16}-${208 + 32 - 1}`);
  assert.equal(plan.bodyRange(), `bytes=${CS}-${2 * CS - 1}`);
  assert.throws(() => read(cse, object, "bytes=999999-"), /not satisfiable/);
});

test("a flipped bit fails its chunk; reads elsewhere succeed", async () => {
  const cse = await Cse.load(wasm);
  const object = written("b");
  const bad = { ...object, ct: object.ct.slice() };
  bad.ct[2 * CS + 3] ^= 1;
  assert.throws(() => read(cse, bad, null), (e) => e instanceof CseError && /chunk 2 failed its tag/.test(e.message));
  assert.throws(() => read(cse, bad, "bytes=131072-131080"), /chunk 2 failed its tag/);
  assert.deepEqual(read(cse, bad, "bytes=0-99"), Buffer.from(plain.subarray(0, 100)));
  const other = written("c");
  assert.throws(() => read(cse, { ...object, sidecar: other.sidecar }), /belongs to another object/);
  const stripped = Object.fromEntries(
    Object.entries(object.headers).filter(([n]) => !n.startsWith("x-oss-meta-cse-auth-")),
  );
  assert.throws(() => cse.authPlan(stripped, LEN), /not authenticated/);
  assert.equal(cse.authenticated(object.headers), true);
  assert.equal(cse.authenticated(stripped), false);
  // A read given up halfway is freed, and the instance goes on.
  const plan = cse.authPlan(object.headers, LEN);
  const env = cse.envelope(object.headers);
  const opener = cse.authOpener(plan, env, cse.open(env, cse.rsaKey(pem)),
    object.sidecar.subarray(0, 208), object.sidecar.subarray(208));
  assert.equal(opener.update(object.ct.subarray(0, CS + 5)).length, CS);
  opener.free();
  assert.throws(() => opener.finish(), /not a live handle/);
});

test("trusted writers refuse objects they did not sign", async () => {
  const cse = await Cse.load(wasm);
  const signed = written("s", ["--sign-key", join(dir, "w.pem")]);
  const writer = signed.sidecar.slice(112, 144);
  assert.deepEqual(read(cse, signed, "bytes=-5", [writer]), Buffer.from(plain.subarray(LEN - 5)));
  const unsigned = written("u");
  assert.throws(() => read(cse, unsigned, null, [writer]), /not signed/);
  assert.throws(() => cse.authPlan(signed.headers, LEN, null, [new Uint8Array(5)]), /32 bytes/);
});
