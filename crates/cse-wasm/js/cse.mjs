// The JavaScript side of cse_wasm.wasm: load the module, then read OSS client-side-encrypted
// objects with it. Every format rule (header names, counters, ranges, lengths) is the engine's;
// this file only moves bytes in and out of the module's memory. Works in Node, browsers and
// workers (no bundler, no generated glue).
//
//   const cse = await Cse.load(wasmBytes, { unwrap });          // unwrap: optional callback key
//   const key = cse.rsaKey(pemText);                            // or cse.callbackKey(wrapAlg)
//   const env = cse.envelope(headers);                          // a Headers, a Map or an object
//   const opener = cse.wholeOpener(env, cse.open(env, key));
//   for (const chunk of chunks) out.push(opener.update(chunk)); // plaintext, chunk by chunk
//   opener.finish();                                            // throws if the body was cut
//
// A ranged read: const plan = cse.rangePlan("bytes=-100"); send plan.wireRange() with the
// header plan.behaviorHeader() = plan.rangeBehavior(); then
// cse.rangedOpener(env, material, plan.onResponse(status, contentRange, contentLength)).

/** A failure the engine reported; `message` is its text (never key material or plaintext). */
export class CseError extends Error {
  constructor(message) {
    super(message);
    this.name = "CseError";
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class Cse {
  #x; // the module's exports
  #broken = false;

  constructor(instance) {
    this.#x = instance.exports;
  }

  /**
   * Instantiates the module. `unwrap(wrapAlgCtx, wrapped: Uint8Array, outLen) -> Uint8Array`
   * is the callback of keys made by `callbackKey` (a KMS, say); it must return exactly
   * `outLen` bytes, or throw.
   */
  static async load(bytes, { unwrap } = {}) {
    let cse = null;
    const callbacks = [];
    const imports = {
      cse_host: {
        random_fill(ptr, len) {
          try {
            const view = new Uint8Array(cse.#x.memory.buffer, ptr, len);
            // getRandomValues fills at most 65536 bytes at a time.
            for (let at = 0; at < len; at += 65536) {
              globalThis.crypto.getRandomValues(view.subarray(at, Math.min(len, at + 65536)));
            }
            return 0;
          } catch {
            return 1;
          }
        },
        unwrap(ctx, wrappedPtr, wrappedLen, outPtr, outLen) {
          try {
            const f = callbacks[ctx] ?? unwrap;
            if (!f) return 1;
            const wrapped = new Uint8Array(cse.#x.memory.buffer, wrappedPtr, wrappedLen).slice();
            const plain = f(wrapped, outLen);
            if (!(plain instanceof Uint8Array) || plain.length !== outLen) return 1;
            new Uint8Array(cse.#x.memory.buffer, outPtr, outLen).set(plain);
            plain.fill(0);
            return 0;
          } catch {
            return 1;
          }
        },
      },
    };
    const { instance } = await WebAssembly.instantiate(bytes, imports);
    cse = new Cse(instance);
    cse.callbacks = callbacks;
    return cse;
  }

  // ---- calls into the module ----

  #call(name, ...args) {
    if (this.#broken) throw new CseError("this instance trapped earlier; load a new one");
    try {
      return this.#x[name](...args);
    } catch (e) {
      this.#broken = true; // a trap is a bug, and leaves the instance's state unknown
      throw e;
    }
  }

  #text() {
    const ptr = this.#call("cse_text_ptr");
    const len = this.#call("cse_text_len");
    return decoder.decode(new Uint8Array(this.#x.memory.buffer, ptr, len));
  }

  #fail() {
    this.#call("cse_error_text");
    return new CseError(this.#text());
  }

  #handle(name, ...args) {
    const h = this.#call(name, ...args);
    if (h === 0) throw this.#fail();
    return h;
  }

  #status(name, ...args) {
    const r = this.#call(name, ...args);
    if (r === -1) throw this.#fail();
    return r;
  }

  #string(name, ...args) {
    this.#status(name, ...args);
    return this.#text();
  }

  /** Copies `bytes` (a Uint8Array or a string) into a new buffer of the module's. */
  #buffer(bytes) {
    const data = typeof bytes === "string" ? encoder.encode(bytes) : bytes;
    const h = this.#handle("cse_buffer_new", data.length);
    new Uint8Array(this.#x.memory.buffer, this.#call("cse_buffer_ptr", h), data.length).set(data);
    return h;
  }

  #withBuffer(bytes, f) {
    const h = this.#buffer(bytes);
    try {
      return f(h);
    } finally {
      this.#call("cse_free", h);
    }
  }

  free(handle) {
    this.#status("cse_free", handle);
  }

  // ---- keys ----

  /** An RSA master key from PEM text (the private key, to open objects). */
  rsaKey(pem) {
    return this.#withBuffer(pem, (b) => this.#handle("cse_key_rsa_pem", b));
  }

  /**
   * A key whose unwrap is a JavaScript function `f(wrapped, outLen) -> Uint8Array` (or the
   * `unwrap` given to `load`), chosen for envelopes with this wrap-alg (and matdesc).
   */
  callbackKey(wrapAlg, f = undefined, matdesc = "") {
    const ctx = this.callbacks.length;
    this.callbacks.push(f);
    return this.#withBuffer(wrapAlg, (w) =>
      matdesc === ""
        ? this.#handle("cse_key_callback", ctx, w, 0)
        : this.#withBuffer(matdesc, (m) => this.#handle("cse_key_callback", ctx, w, m)),
    );
  }

  // ---- envelopes ----

  /** The envelope in a response's headers (a Headers, a Map, or a plain object). */
  envelope(headers) {
    const prefix = this.#string("cse_envelope_header_prefix");
    const entries =
      typeof headers.entries === "function" ? [...headers.entries()] : Object.entries(headers);
    const lines = entries
      .filter(([name]) => name.toLowerCase().startsWith(prefix))
      .map(([name, value]) => `${name}: ${value}\n`)
      .join("");
    return this.#withBuffer(lines, (b) => this.#handle("cse_envelope_decode", b));
  }

  /** Unwraps the envelope's content material; every unwrap failure is the same error. */
  open(envelope, key) {
    return this.#handle("cse_envelope_open", envelope, key);
  }

  /** The envelope's wrap-alg: what a callback key for it is made with. */
  wrapAlg(envelope) {
    return this.#string("cse_envelope_wrap_alg", envelope);
  }

  /** The plaintext length the envelope declares, or null. */
  declaredLength(envelope) {
    const n = this.#call("cse_envelope_declared_len", envelope);
    return n < 0 ? null : n;
  }

  /** Throws unless `storedLength` (a Content-Range total) fits the envelope. */
  checkStoredLength(envelope, storedLength) {
    this.#status("cse_envelope_check_stored_len", envelope, storedLength);
  }

  // ---- ranges ----

  /** A plan for a Range (`bytes=0-99`, `bytes=-100`, ...); `objectLength` if known. */
  rangePlan(range, objectLength = -1) {
    const handle = this.#withBuffer(range, (b) => this.#handle("cse_range_plan", b, objectLength));
    const cse = this;
    return {
      handle,
      wireRange: () => cse.#string("cse_range_plan_wire_range", handle),
      rangeBehavior: () => cse.#string("cse_range_plan_range_behavior", handle),
      behaviorHeader: () => cse.#string("cse_range_behavior_header"),
      /** The body plan for the answer: status, Content-Range (or null), Content-Length (or null). */
      onResponse(status, contentRange, contentLength) {
        const length = contentLength == null ? -1 : Number(contentLength);
        const body =
          contentRange == null
            ? cse.#handle("cse_range_plan_on_response", handle, status, 0, length)
            : cse.#withBuffer(contentRange, (b) =>
                cse.#handle("cse_range_plan_on_response", handle, status, b, length),
              );
        return cse.#bodyPlan(body);
      },
      /** The body plan for a stored ciphertext of `storedLength` bytes (a local file). */
      onStored(storedLength) {
        return cse.#bodyPlan(cse.#handle("cse_range_plan_on_stored", handle, storedLength));
      },
      free: () => cse.free(handle),
    };
  }

  #bodyPlan(handle) {
    return {
      handle,
      contentRange: () => this.#string("cse_body_content_range", handle),
      contentLength: () => this.#call("cse_body_content_length", handle),
      objectLength: () => this.#call("cse_body_object_len", handle),
      free: () => this.free(handle),
    };
  }

  // ---- openers ----

  /** The opener of a whole body. */
  wholeOpener(envelope, material) {
    return this.#opener(this.#handle("cse_opener_whole", envelope, material));
  }

  /** The opener of a ranged body; checks the object length against the envelope first. */
  rangedOpener(envelope, material, bodyPlan) {
    this.checkStoredLength(envelope, bodyPlan.objectLength());
    return this.#opener(this.#handle("cse_opener_ranged", bodyPlan.handle, material));
  }

  // ---- authenticated objects (docs/authenticated-objects.md) ----

  /**
   * Plans an authenticated read: `headers` the object's response headers (its cse-auth-*
   * metadata and envelope), `objectLength` its length, `range` a Range or null for the whole
   * object, `trusted` an array of 32-byte Ed25519 public keys (or []). Fetch the side-car's
   * header (`headerRange`), its tags (`tagsRange()`) and the object's `bodyRange()` (skip it
   * when ""), then make the opener with them.
   */
  /**
   * Whether the response headers announce an authenticated object (cse-auth-*). Such an
   * object must be read with authPlan / authOpener: the plain openers do not verify it, and
   * reading it without its side-car is what a tampering server would want.
   */
  authenticated(headers) {
    return this.#withBuffer(Cse.#headerLines(headers), (h) => this.#status("cse_auth_announced", h)) === 1;
  }

  static #headerLines(headers) {
    const entries =
      typeof headers.entries === "function" ? [...headers.entries()] : Object.entries(headers);
    return entries.map(([name, value]) => `${name}: ${value}\n`).join("");
  }

  authPlan(headers, objectLength, range = null, trusted = []) {
    const lines = Cse.#headerLines(headers);
    const keys = new Uint8Array(trusted.length * 32);
    trusted.forEach((k, i) => {
      if (k.length !== 32) throw new CseError("trusted: a writer's public key is 32 bytes");
      keys.set(k, i * 32);
    });
    const plan = (h, r) =>
      trusted.length === 0
        ? this.#handle("cse_auth_plan", h, objectLength, r, 0)
        : this.#withBuffer(keys, (t) => this.#handle("cse_auth_plan", h, objectLength, r, t));
    const handle = this.#withBuffer(lines, (h) =>
      range == null ? plan(h, 0) : this.#withBuffer(range, (r) => plan(h, r)),
    );
    const cse = this;
    return {
      handle,
      headerRange: "bytes=0-207",
      tagsRange: () => cse.#string("cse_auth_plan_tags_range", handle),
      bodyRange: () => cse.#string("cse_auth_plan_body_range", handle),
      free: () => cse.free(handle),
    };
  }

  /**
   * The opener of a planned authenticated read: checks the key commitment, the side-car
   * `header` (208 bytes) and, for a whole read or trusted writers, the final tag over `tags`.
   * Its `update(chunk)` returns only plaintext of chunks whose tag held; `finish()` throws
   * when a chunk is missing or the range selects nothing.
   */
  authOpener(plan, envelope, material, header, tags) {
    const handle = this.#withBuffer(header, (h) =>
      this.#withBuffer(tags, (t) =>
        this.#handle("cse_auth_opener", plan.handle, envelope, material, h, t),
      ),
    );
    const cse = this;
    let buf = 0;
    let cap = 0;
    return {
      update(chunk) {
        if (chunk.length > cap) {
          if (buf) cse.free(buf);
          cap = Math.max(chunk.length, 64 * 1024);
          buf = cse.#handle("cse_buffer_new", cap);
        }
        new Uint8Array(cse.#x.memory.buffer, cse.#call("cse_buffer_ptr", buf), chunk.length).set(
          chunk,
        );
        const out = [];
        for (let at = 0; at < chunk.length; ) {
          const used = cse.#status("cse_auth_update", handle, buf, at, chunk.length - at);
          if (used === 0) throw new CseError("the authenticated opener took no bytes");
          at += used;
          const len = cse.#call("cse_released_len");
          if (len > 0) {
            out.push(new Uint8Array(cse.#x.memory.buffer, cse.#call("cse_released_ptr"), len).slice());
          }
        }
        const total = out.reduce((n, p) => n + p.length, 0);
        const joined = new Uint8Array(total);
        let at = 0;
        for (const p of out) {
          joined.set(p, at);
          at += p.length;
        }
        return joined;
      },
      finish() {
        try {
          cse.#status("cse_auth_finish", handle);
        } finally {
          if (buf) cse.free(buf);
          buf = 0;
        }
      },
      /** Drops the read without finishing it: its chunk buffer, plaintext included, is wiped. */
      free() {
        cse.free(handle);
        if (buf) cse.free(buf);
        buf = 0;
      },
    };
  }

  #opener(handle) {
    const cse = this;
    let buf = 0;
    let cap = 0;
    return {
      /** Opens one chunk of the body; returns the plaintext it releases (a new Uint8Array). */
      update(chunk) {
        if (chunk.length > cap) {
          if (buf) cse.free(buf);
          cap = Math.max(chunk.length, 64 * 1024);
          buf = cse.#handle("cse_buffer_new", cap);
        }
        new Uint8Array(cse.#x.memory.buffer, cse.#call("cse_buffer_ptr", buf), chunk.length).set(
          chunk,
        );
        const at = cse.#status("cse_opener_update", handle, buf, 0, chunk.length);
        const len = cse.#call("cse_delivered_len");
        const ptr = cse.#call("cse_buffer_ptr", buf);
        return new Uint8Array(cse.#x.memory.buffer, ptr + at, len).slice();
      },
      /** Ends the body: throws if it was cut short or ran long; returns the plaintext length. */
      finish() {
        try {
          const n = cse.#call("cse_opener_finish", handle);
          if (n < 0) throw cse.#fail();
          return n;
        } finally {
          if (buf) cse.free(buf);
          buf = 0;
        }
      },
    };
  }
}
