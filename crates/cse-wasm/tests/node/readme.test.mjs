// The README's example is tests/node/example.mjs, verbatim (which CI runs).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

test("the README shows example.mjs as it is", () => {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const example = readFileSync(new URL("./example.mjs", import.meta.url), "utf8");
  const block = /```js\n([\s\S]*?)```/.exec(readme);
  assert.ok(block, "a js block in the README");
  assert.equal(block[1], example.endsWith("\n") ? example : `${example}\n`);
});
