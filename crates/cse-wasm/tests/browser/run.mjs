// The browser test: serves page.html, js/cse.mjs, the module and the Python SDK V2's objects
// (with their stored headers, and Range answers as OSS gives them) on 127.0.0.1, opens the page
// in headless Chromium, and waits for the page to POST its result. Exit 0 only when every case
// decrypted to the manifest's SHA-256.
//
// Run: node crates/cse-wasm/tests/browser/run.mjs   (CHROMIUM=path, else /usr/bin/chromium;
// CSE_WASM=path to the module, else the release build under target/)
import { createServer } from "node:http";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "../../../..");
const vectors = join(root, "testvectors/python-v2");
const manifest = JSON.parse(readFileSync(join(vectors, "manifest.json"), "utf8"));
const wasm = readFileSync(
  process.env.CSE_WASM ?? join(root, "target/wasm32-unknown-unknown/release/cse_wasm.wasm"),
);
const chromium = process.env.CHROMIUM ?? "/usr/bin/chromium";

// What the page checks: a small, a multipart and a large object whole, and some of each one's
// satisfiable range cases, with the manifest's answers.
const names = ["put-17", "multipart-65536x200007", "put-1048589", "put-md5-length-1000"];
const cases = [];
for (const v of manifest.vectors.filter((x) => names.includes(x.name))) {
  cases.push({ name: v.name, range: null, len: v.plaintext_len, sha256: v.plaintext_sha256 });
  for (const c of v.ranges.filter((r) => r.status === 206).slice(0, 6)) {
    cases.push({ name: v.name, range: c.range, content_range: c.content_range, len: c.len, sha256: c.sha256 });
  }
}

/** RFC 9110 §14.1.2 on the stored bytes: [first, last], or null for 416. */
function resolve(range, size) {
  const m = /^bytes=(\d*)-(\d*)$/.exec(range ?? "");
  if (!m) return undefined; // not a single byte range: the whole object
  if (m[1] === "") {
    const n = Number(m[2]);
    return n === 0 || size === 0 ? null : [Math.max(0, size - n), size - 1];
  }
  const first = Number(m[1]);
  if (first >= size) return null;
  const last = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  return first <= last ? [first, last] : null;
}

const files = {
  "/": ["text/html", () => readFileSync(join(here, "page.html"))],
  "/cse.mjs": ["text/javascript", () => readFileSync(join(here, "../../js/cse.mjs"))],
  "/cse_wasm.wasm": ["application/wasm", () => wasm],
  "/key.pem": ["text/plain", () => readFileSync(join(vectors, manifest.keys.private))],
  "/cases.json": ["application/json", () => JSON.stringify(cases)],
};

let report;
const reported = new Promise((resolveReport) => (report = resolveReport));
const server = createServer((req, res) => {
  const url = new URL(req.url, "http://127.0.0.1");
  if (req.method === "POST" && url.pathname === "/report") {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      res.end("ok");
      report(JSON.parse(body));
    });
    return;
  }
  const file = files[url.pathname];
  if (file) {
    res.writeHead(200, { "content-type": file[0] });
    res.end(file[1]());
    return;
  }
  const v = manifest.vectors.find((x) => `/object/${x.name}` === url.pathname);
  if (!v) {
    res.writeHead(404).end();
    return;
  }
  const stored = readFileSync(join(vectors, v.ciphertext));
  const headers = { ...v.headers, "content-type": "application/octet-stream" };
  const served = resolve(req.headers.range, stored.length);
  if (served === undefined) {
    res.writeHead(200, { ...headers, "content-length": stored.length });
    res.end(stored);
  } else if (served === null) {
    res.writeHead(416, { ...headers, "content-range": `bytes */${stored.length}` });
    res.end();
  } else {
    const [first, last] = served;
    res.writeHead(206, {
      ...headers,
      "content-range": `bytes ${first}-${last}/${stored.length}`,
      "content-length": last - first + 1,
    });
    res.end(stored.subarray(first, last + 1));
  }
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const url = `http://127.0.0.1:${server.address().port}/`;

const profile = mkdtempSync(join(tmpdir(), "cse-chromium-"));
const browser = spawn(
  chromium,
  [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", `--user-data-dir=${profile}`, url,
  ],
  // Its own process group, so that the renderer and helper processes go with it.
  { stdio: ["ignore", "ignore", "pipe"], detached: true },
);
let stderr = "";
browser.stderr.on("data", (d) => (stderr += d));
const exited = new Promise((r) => browser.on("exit", (code) => r({ exited: code })));
const timeout = new Promise((r) => setTimeout(() => r({ timeout: true }), 90_000));
const outcome = await Promise.race([reported, exited, timeout]);
try {
  process.kill(-browser.pid, "SIGKILL"); // the whole group
} catch {
  browser.kill("SIGKILL");
}
await exited;
server.close();
try {
  rmSync(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
} catch (e) {
  console.error(`browser test: could not remove the profile ${profile}: ${e.message}`);
}

if (outcome.timeout || outcome.exited !== undefined) {
  console.error(`browser test: no report from the page (${outcome.timeout ? "timed out" : `chromium exited ${outcome.exited}`})`);
  console.error(stderr.split("\n").slice(-20).join("\n"));
  process.exit(1);
}
console.log(`browser test: ${outcome.checked} of ${cases.length} cases decrypted in Chromium`);
for (const f of outcome.failures) console.error(`  FAILED ${f}`);
process.exit(outcome.ok && outcome.checked === cases.length ? 0 : 1);
