/* (d) Every error path of the C API: NULL arguments, buffers too small (with the size needed),
 * bad keys, bad headers, the one opaque unwrap error (wrong key, damaged header, failing
 * callback alike), failing custom-key callbacks, finished handles, length checks, ranges and
 * multipart misuse. Expected sizes come from the manifest or from the test's own arithmetic,
 * never from the library.
 *
 * usage: errors MANIFEST.txt VECTOR_DIR OTHER_PEM */
#include "common.h"

static const manifest *m;
static const char *dir;
static const char *other_pem;

/* A non-NULL pointer value that must be overwritten with NULL on failure. */
#define SENTINEL ((void *)&checks_run)

static void expect_message_contains(const char *needle) {
    const char *msg = last_error();
    if (!strstr(msg, needle)) FAIL("message \"%s\" does not mention \"%s\"", msg, needle);
}

/* Messages are text, and hold none of the content key the recorder saw (raw or hex). */
static void expect_no_secret(const recorder *r) {
    const char *msg = last_error();
    for (const char *c = msg; *c; c++) CHECK(*c >= 0x20 && *c < 0x7f);
    char hex[17];
    for (int i = 0; i < 8; i++) snprintf(hex + 2 * i, 3, "%02x", r->key[i]);
    CHECK(strstr(msg, hex) == NULL);
    size_t len = strlen(msg);
    for (size_t i = 0; i + 8 <= len; i++) CHECK(memcmp(msg + i, r->key, 8) != 0);
}

static cse_envelope *decode_vector(const vector *v) {
    cse_header *h = vector_headers(v);
    cse_envelope *env = NULL;
    OK(cse_envelope_decode(h, v->header_count, NULL, 0, &env));
    free(h);
    return env;
}

static void null_arguments(cse_master_key *key) {
    cse_envelope *env = decode_vector(find_vector(m, "put-16"));
    void *out = SENTINEL;
    char buf[64];
    size_t n = 0;
    uint64_t u = 0;
    bool b = false;

    EXPECT(CSE_STATUS_NULL_ARGUMENT, cse_master_key_new_rsa_pem(NULL, 10, NULL, 0, (cse_master_key **)&out));
    CHECK(out == NULL);
    expect_message_contains("pem");
    EXPECT(CSE_STATUS_NULL_ARGUMENT, cse_master_key_new_rsa_pem("x", 1, NULL, 0, NULL));
    expect_message_contains("out");
    out = SENTINEL;
    EXPECT(CSE_STATUS_NULL_ARGUMENT, cse_master_key_new_rsa_der(NULL, 3, NULL, 0, (cse_master_key **)&out));
    CHECK(out == NULL);
    EXPECT(CSE_STATUS_NULL_ARGUMENT, cse_master_key_new_custom(NULL, (cse_master_key **)&out));
    EXPECT(CSE_STATUS_NULL_ARGUMENT, cse_keyring_new(NULL, (cse_keyring **)&out));
    EXPECT(CSE_STATUS_NULL_ARGUMENT, cse_keyring_add(NULL, key));
    EXPECT(CSE_STATUS_NULL_ARGUMENT, cse_keyring_open(NULL, env, (cse_material **)&out));
    EXPECT(CSE_STATUS_NULL_ARGUMENT, cse_envelope_decode(NULL, 3, NULL, 0, (cse_envelope **)&out));
    expect_message_contains("headers");
    cse_header null_name = {NULL, 5, "v", 1};
    EXPECT(CSE_STATUS_NULL_ARGUMENT, cse_envelope_decode(&null_name, 1, NULL, 0, (cse_envelope **)&out));
    EXPECT(CSE_STATUS_NULL_ARGUMENT, cse_envelope_encode_headers(NULL, NULL, 0, NULL, 0, &n, NULL, 0, &n));
    EXPECT(CSE_STATUS_NULL_ARGUMENT, cse_envelope_encode_headers(env, NULL, 0, NULL, 0, NULL, NULL, 0, &n));
    EXPECT(CSE_STATUS_NULL_ARGUMENT, cse_envelope_open(NULL, key, (cse_material **)&out));
    EXPECT(CSE_STATUS_NULL_ARGUMENT, cse_envelope_open(env, NULL, (cse_material **)&out));
    expect_message_contains("key");
    EXPECT(CSE_STATUS_NULL_ARGUMENT, cse_envelope_open(env, key, NULL));
    EXPECT(CSE_STATUS_NULL_ARGUMENT, cse_envelope_wrap_alg(NULL, buf, sizeof buf, &n));
    EXPECT(CSE_STATUS_NULL_ARGUMENT, cse_envelope_wrap_alg(env, buf, sizeof buf, NULL));
    EXPECT(CSE_STATUS_NULL_ARGUMENT, cse_envelope_wrap_alg(env, NULL, sizeof buf, &n));
    EXPECT(CSE_STATUS_NULL_ARGUMENT, cse_envelope_matdesc(NULL, buf, sizeof buf, &n));
    EXPECT(CSE_STATUS_NULL_ARGUMENT, cse_envelope_declared_len(NULL, &b, &u));
    EXPECT(CSE_STATUS_NULL_ARGUMENT, cse_envelope_declared_len(env, NULL, &u));
    EXPECT(CSE_STATUS_NULL_ARGUMENT, cse_envelope_check_stored_len(NULL, 1));
    EXPECT(CSE_STATUS_NULL_ARGUMENT, cse_opener_new_whole(NULL, NULL, (cse_opener **)&out));
    EXPECT(CSE_STATUS_NULL_ARGUMENT, cse_sealed_envelope_new(NULL, (cse_sealed_envelope **)&out));
    EXPECT(CSE_STATUS_NULL_ARGUMENT, cse_sealed_envelope_set_unencrypted_content_length(NULL, 1));
    EXPECT(CSE_STATUS_NULL_ARGUMENT, cse_sealed_envelope_set_unencrypted_content_md5(NULL, NULL, 0));
    EXPECT(CSE_STATUS_NULL_ARGUMENT, cse_sealed_envelope_envelope(NULL, (cse_envelope **)&out));
    EXPECT(CSE_STATUS_NULL_ARGUMENT, cse_sealed_envelope_sealer(NULL, (cse_sealer **)&out));
    EXPECT(CSE_STATUS_NULL_ARGUMENT, cse_sealer_update(NULL, (const uint8_t *)"a", 1, (uint8_t *)buf, 1, &n));
    EXPECT(CSE_STATUS_NULL_ARGUMENT, cse_sealer_update_in_place(NULL, (uint8_t *)buf, 1));
    EXPECT(CSE_STATUS_NULL_ARGUMENT, cse_sealer_remaining(NULL, &b, &u));
    EXPECT(CSE_STATUS_NULL_ARGUMENT, cse_sealer_finish(NULL, &u));
    EXPECT(CSE_STATUS_NULL_ARGUMENT, cse_opener_update(NULL, (const uint8_t *)"a", 1, (uint8_t *)buf, 1, &n));
    EXPECT(CSE_STATUS_NULL_ARGUMENT, cse_opener_update_in_place(NULL, (uint8_t *)buf, 1, &n, &n));
    EXPECT(CSE_STATUS_NULL_ARGUMENT, cse_opener_remaining(NULL, &b, &u));
    EXPECT(CSE_STATUS_NULL_ARGUMENT, cse_opener_is_done(NULL, &b));
    EXPECT(CSE_STATUS_NULL_ARGUMENT, cse_opener_finish(NULL, &u));
    EXPECT(CSE_STATUS_NULL_ARGUMENT, cse_range_plan_new(NULL, 4, false, 0, (cse_range_plan **)&out));
    EXPECT(CSE_STATUS_NULL_ARGUMENT, cse_range_plan_wire_range(NULL, buf, sizeof buf, &n));
    EXPECT(CSE_STATUS_NULL_ARGUMENT, cse_range_behavior_header(buf, sizeof buf, NULL));
    EXPECT(CSE_STATUS_NULL_ARGUMENT, cse_range_plan_range_behavior(NULL, buf, sizeof buf, &n));
    EXPECT(CSE_STATUS_NULL_ARGUMENT, cse_range_plan_on_response(NULL, 200, NULL, 0, true, 1, (cse_body_plan **)&out));
    EXPECT(CSE_STATUS_NULL_ARGUMENT, cse_range_plan_on_stored(NULL, 1, (cse_body_plan **)&out));
    EXPECT(CSE_STATUS_NULL_ARGUMENT, cse_body_plan_layout(NULL, NULL));
    EXPECT(CSE_STATUS_NULL_ARGUMENT, cse_body_plan_content_range(NULL, buf, sizeof buf, &n));
    EXPECT(CSE_STATUS_NULL_ARGUMENT, cse_opener_new_ranged(NULL, NULL, (cse_opener **)&out));
    EXPECT(CSE_STATUS_NULL_ARGUMENT, cse_multipart_new(NULL, 16, 16, (cse_multipart **)&out));
    EXPECT(CSE_STATUS_NULL_ARGUMENT, cse_multipart_resume(NULL, key, (cse_multipart **)&out));
    EXPECT(CSE_STATUS_NULL_ARGUMENT, cse_multipart_envelope(NULL, (cse_envelope **)&out));
    EXPECT(CSE_STATUS_NULL_ARGUMENT, cse_multipart_part_count(NULL, (uint32_t *)&n));
    EXPECT(CSE_STATUS_NULL_ARGUMENT, cse_multipart_part_range(NULL, 1, &u, &u));
    EXPECT(CSE_STATUS_NULL_ARGUMENT, cse_multipart_part_sealer(NULL, 1, (cse_part_sealer **)&out));
    EXPECT(CSE_STATUS_NULL_ARGUMENT, cse_multipart_mark_sealed(NULL, 1));
    EXPECT(CSE_STATUS_NULL_ARGUMENT, cse_multipart_mark_uploaded(NULL, 1));
    EXPECT(CSE_STATUS_NULL_ARGUMENT, cse_multipart_is_complete(NULL, &b));
    EXPECT(CSE_STATUS_NULL_ARGUMENT, cse_multipart_pending_parts(NULL, NULL, 0, &n));
    EXPECT(CSE_STATUS_NULL_ARGUMENT, cse_part_sealer_update(NULL, (const uint8_t *)"a", 1, (uint8_t *)buf, 1, &n));
    EXPECT(CSE_STATUS_NULL_ARGUMENT, cse_part_sealer_update_in_place(NULL, (uint8_t *)buf, 1));
    EXPECT(CSE_STATUS_NULL_ARGUMENT, cse_part_sealer_remaining(NULL, &b, &u));
    EXPECT(CSE_STATUS_NULL_ARGUMENT, cse_part_sealer_finish(NULL, &u));
    EXPECT(CSE_STATUS_NULL_ARGUMENT, cse_last_error_message(buf, sizeof buf, NULL));
    /* NULL with a zero length is an empty input, not an error. */
    cse_sealed_envelope *sealed = NULL;
    OK(cse_sealed_envelope_new(key, &sealed));
    cse_sealer *s = NULL;
    OK(cse_sealed_envelope_sealer(sealed, &s));
    OK(cse_sealer_update(s, NULL, 0, NULL, 0, &n));
    CHECK(n == 0);
    OK(cse_sealer_update_in_place(s, NULL, 0));
    cse_sealer_free(s);
    cse_sealed_envelope_free(sealed);
    /* Every free accepts NULL. */
    cse_master_key_free(NULL);
    cse_keyring_free(NULL);
    cse_envelope_free(NULL);
    cse_material_free(NULL);
    cse_sealed_envelope_free(NULL);
    cse_sealer_free(NULL);
    cse_opener_free(NULL);
    cse_range_plan_free(NULL);
    cse_body_plan_free(NULL);
    cse_multipart_free(NULL);
    cse_part_sealer_free(NULL);
    cse_envelope_free(env);
}

static void buffers_too_small(cse_master_key *key) {
    const vector *v = find_vector(m, "put-16");
    cse_envelope *env = decode_vector(v);
    char buf[256];
    size_t n = 0;

    /* Text: the size needed includes the NUL; the wrap-alg is the manifest's. */
    const char *wrap_alg = NULL;
    size_t expected_count = v->header_count, expected_text = 0;
    for (size_t i = 0; i < v->header_count; i++) {
        if (strstr(v->header_names[i], "wrap-alg")) wrap_alg = v->header_values[i];
        expected_text += strlen(v->header_names[i]) + strlen(v->header_values[i]) + 2;
    }
    CHECK(wrap_alg != NULL);
    memset(buf, 'Z', sizeof buf);
    EXPECT(CSE_STATUS_BUFFER_TOO_SMALL, cse_envelope_wrap_alg(env, buf, 5, &n));
    CHECK(n == strlen(wrap_alg) + 1);
    CHECK(buf[0] == 'Z'); /* untouched */
    expect_message_contains("buf");
    OK(cse_envelope_wrap_alg(env, buf, n, &n));
    CHECK(n == strlen(wrap_alg) && !strcmp(buf, wrap_alg));

    /* The last error: too small, then read whole; the message survives the failed read. */
    EXPECT(CSE_STATUS_INVALID_RANGE, cse_range_plan_new("nonsense", 8, false, 0, &(cse_range_plan *){0}));
    char tiny[4];
    EXPECT(CSE_STATUS_BUFFER_TOO_SMALL, cse_last_error_message(tiny, sizeof tiny, &n));
    size_t needed = n;
    char *msg = xmalloc(needed);
    OK(cse_last_error_message(msg, needed, &n));
    CHECK(n + 1 == needed && strlen(msg) == n && strstr(msg, "range"));
    free(msg);

    /* Encoded headers: the count and text size are the manifest's (the Python SDK wrote the
     * same four headers, in lower case), and so are the pairs. */
    size_t count = 0, text_len = 0;
    EXPECT(CSE_STATUS_BUFFER_TOO_SMALL,
           cse_envelope_encode_headers(env, NULL, 0, NULL, 0, &count, NULL, 0, &text_len));
    CHECK(count == expected_count && text_len == expected_text);
    cse_header headers[8];
    char *text = xmalloc(text_len);
    EXPECT(CSE_STATUS_BUFFER_TOO_SMALL,
           cse_envelope_encode_headers(env, NULL, 0, headers, count, &count, text, text_len - 1, &text_len));
    CHECK(text_len == expected_text);
    EXPECT(CSE_STATUS_BUFFER_TOO_SMALL,
           cse_envelope_encode_headers(env, NULL, 0, headers, count - 1, &count, text, text_len, &text_len));
    CHECK(count == expected_count);
    OK(cse_envelope_encode_headers(env, NULL, 0, headers, 8, &count, text, text_len, &text_len));
    CHECK(count == expected_count && text_len == expected_text);
    for (size_t i = 0; i < v->header_count; i++) {
        int found = 0;
        for (size_t j = 0; j < count; j++)
            found |= headers[j].name_len == strlen(v->header_names[i]) &&
                     !memcmp(headers[j].name, v->header_names[i], headers[j].name_len) &&
                     !strcmp(headers[j].value, v->header_values[i]);
        if (!found) FAIL("encoded headers lack %s", v->header_names[i]);
    }
    free(text);

    /* A range read: the opener needs room for the manifest's length of plaintext. */
    const range_case *r = &v->ranges[1]; /* bytes=5-20 of 16 bytes: 11 bytes */
    CHECK(r->status == 206);
    char *path = path_join(dir, v->ciphertext);
    size_t ct_len = 0;
    unsigned char *ct = read_file(path, &ct_len);
    cse_material *mat = NULL;
    OK(cse_envelope_open(env, key, &mat));
    cse_range_plan *plan = NULL;
    OK(cse_range_plan_new(r->range, strlen(r->range), true, ct_len, &plan));
    EXPECT(CSE_STATUS_BUFFER_TOO_SMALL, cse_range_plan_wire_range(plan, buf, 3, &n));
    char wire[32];
    OK(cse_range_plan_wire_range(plan, wire, n, &n));
    cse_body_plan *body = NULL;
    OK(cse_range_plan_on_stored(plan, ct_len, &body));
    cse_body_layout layout;
    OK(cse_body_plan_layout(body, &layout));
    cse_opener *op = NULL;
    OK(cse_opener_new_ranged(body, mat, &op));
    unsigned char out[64];
    EXPECT(CSE_STATUS_BUFFER_TOO_SMALL,
           cse_opener_update(op, ct + layout.body_start, layout.body_len, out, r->len - 1, &n));
    CHECK(n == r->len);
    expect_message_contains("output");
    /* Nothing was consumed: the same call with room succeeds, with the manifest's bytes. */
    OK(cse_opener_update(op, ct + layout.body_start, layout.body_len, out, n, &n));
    char hex[65];
    sha256_hex(out, n, hex);
    CHECK(n == r->len && !strcmp(hex, r->sha256));
    OK(cse_opener_finish(op, NULL));
    cse_opener_free(op);
    cse_body_plan_free(body);
    cse_range_plan_free(plan);
    cse_material_free(mat);
    free(ct);
    free(path);

    /* A sealer: the output must hold the input; state unchanged after the refusal (checked
     * against OpenSSL with the recorder's key). */
    recorder rec = {0};
    cse_custom_master_key spec = recorder_spec(&rec, "TEST/XOR");
    cse_master_key *xkey = NULL;
    OK(cse_master_key_new_custom(&spec, &xkey));
    cse_sealed_envelope *sealed = NULL;
    OK(cse_sealed_envelope_new(xkey, &sealed));
    cse_sealer *s = NULL;
    OK(cse_sealed_envelope_sealer(sealed, &s));
    unsigned char plain[40], sealed_bytes[40], want[40];
    for (int i = 0; i < 40; i++) plain[i] = (unsigned char)(i * 7);
    EXPECT(CSE_STATUS_BUFFER_TOO_SMALL, cse_sealer_update(s, plain, 40, sealed_bytes, 39, &n));
    CHECK(n == 40);
    expect_no_secret(&rec);
    OK(cse_sealer_update(s, plain, 40, sealed_bytes, 40, &n));
    aes256_ctr(rec.key, rec.iv, plain, 40, want);
    CHECK(n == 40 && !memcmp(sealed_bytes, want, 40));
    /* Overlapping buffers are refused: update_in_place is the in-place call. */
    EXPECT(CSE_STATUS_INVALID_ARGUMENT, cse_sealer_update(s, sealed_bytes, 20, sealed_bytes + 10, 20, &n));
    expect_message_contains("overlaps");
    OK(cse_sealer_finish(s, NULL));
    cse_sealer_free(s);
    cse_sealed_envelope_free(sealed);

    /* Pending parts: room for every part is needed. */
    cse_multipart *up = NULL;
    OK(cse_multipart_new(xkey, 16, 100, &up));
    uint32_t parts[7];
    EXPECT(CSE_STATUS_BUFFER_TOO_SMALL, cse_multipart_pending_parts(up, parts, 6, &n));
    CHECK(n == 7); /* ceil(100 / 16) */
    OK(cse_multipart_pending_parts(up, parts, 7, &n));
    CHECK(n == 7 && parts[6] == 7);
    cse_multipart_free(up);
    cse_master_key_free(xkey);
    CHECK(rec.freed == 1);
    cse_envelope_free(env);
}

static void bad_keys(void) {
    cse_master_key *key = SENTINEL;
    const char *garbage = "this is not a key";
    EXPECT(CSE_STATUS_INVALID_KEY, cse_master_key_new_rsa_pem(garbage, strlen(garbage), NULL, 0, &key));
    CHECK(key == NULL);
    const char *bad_body = "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n";
    EXPECT(CSE_STATUS_INVALID_KEY, cse_master_key_new_rsa_pem(bad_body, strlen(bad_body), NULL, 0, &key));
    const unsigned char der[] = {0x30, 0x03, 0x02, 0x01, 0x00};
    EXPECT(CSE_STATUS_INVALID_KEY, cse_master_key_new_rsa_der(der, sizeof der, NULL, 0, &key));
    const char not_utf8[] = {'\xff', '\xfe', 0};
    EXPECT(CSE_STATUS_INVALID_ARGUMENT, cse_master_key_new_rsa_pem(not_utf8, 2, NULL, 0, &key));
    expect_message_contains("UTF-8");
    /* A key below the 1024-bit minimum. */
    char *small_path = xstrdup(other_pem);
    char *slash = strrchr(small_path, '/');
    CHECK(slash != NULL);
    strcpy(slash + 1, "test-rsa768.pem");
    size_t len = 0;
    unsigned char *small = read_file(small_path, &len);
    EXPECT(CSE_STATUS_INVALID_KEY, cse_master_key_new_rsa_pem((const char *)small, len, NULL, 0, &key));
    free(small);
    free(small_path);
    /* A good key with a matdesc that is not a JSON object of strings. */
    unsigned char *pem = read_file(other_pem, &len);
    EXPECT(CSE_STATUS_INVALID_ARGUMENT, cse_master_key_new_rsa_pem((const char *)pem, len, "[1]", 3, &key));
    expect_message_contains("matdesc");
    CHECK(key == NULL);
    free(pem);
}

static void bad_headers(void) {
    const vector *v = find_vector(m, "put-16");
    cse_header *h = vector_headers(v);
    size_t count = v->header_count;
    cse_envelope *env = SENTINEL;
    size_t key_at = count, start_at = count, cek_at = count;
    for (size_t i = 0; i < count; i++) {
        if (strstr(h[i].name, "-key")) key_at = i;
        if (strstr(h[i].name, "-start")) start_at = i;
        if (strstr(h[i].name, "-cek-alg")) cek_at = i;
    }
    CHECK(key_at < count && start_at < count && cek_at < count);

    /* No envelope at all: an object stored in the clear (or one whose headers were stripped). */
    EXPECT(CSE_STATUS_NOT_ENCRYPTED, cse_envelope_decode(NULL, 0, NULL, 0, &env));
    CHECK(env == NULL);
    cse_header unrelated = {"content-type", 12, "text/plain", 10};
    EXPECT(CSE_STATUS_NOT_ENCRYPTED, cse_envelope_decode(&unrelated, 1, NULL, 0, &env));
    /* Under another prefix, these headers are not an envelope either. */
    EXPECT(CSE_STATUS_NOT_ENCRYPTED, cse_envelope_decode(h, count, "x-amz-meta-", 11, &env));
    EXPECT(CSE_STATUS_INVALID_HEADER, cse_envelope_decode(h, count, "bad prefix", 10, &env));

    /* The key header missing. */
    cse_header saved = h[key_at];
    h[key_at] = h[count - 1];
    EXPECT(CSE_STATUS_INVALID_HEADER, cse_envelope_decode(h, count - 1, NULL, 0, &env));
    CHECK(env == NULL);
    expect_message_contains("client-side-encryption-key");
    h[key_at] = saved;

    /* The start header not base64. */
    saved = h[start_at];
    h[start_at].value = "not*base64";
    h[start_at].value_len = 10;
    EXPECT(CSE_STATUS_INVALID_HEADER, cse_envelope_decode(h, count, NULL, 0, &env));
    expect_message_contains("client-side-encryption-start");
    h[start_at] = saved;

    /* Another content cipher. */
    saved = h[cek_at];
    h[cek_at].value = "AES/GCM/NoPadding";
    h[cek_at].value_len = 17;
    EXPECT(CSE_STATUS_INVALID_HEADER, cse_envelope_decode(h, count, NULL, 0, &env));
    expect_message_contains("cek-alg");
    h[cek_at] = saved;

    /* The same header twice, in another case. */
    cse_header twice[16];
    memcpy(twice, h, count * sizeof *h);
    char upper[128];
    snprintf(upper, sizeof upper, "X-OSS-META-CLIENT-SIDE-ENCRYPTION-KEY");
    twice[count] = h[key_at];
    twice[count].name = upper;
    twice[count].name_len = strlen(upper);
    EXPECT(CSE_STATUS_INVALID_HEADER, cse_envelope_decode(twice, count + 1, NULL, 0, &env));
    expect_message_contains("more than once");
    /* Names are matched ignoring case: the upper-case name alone decodes. */
    twice[key_at] = twice[count];
    OK(cse_envelope_decode(twice, count, NULL, 0, &env));
    cse_envelope_free(env);
    free(h);
}

static void opaque_unwrap(cse_master_key *right) {
    const vector *v = find_vector(m, "put-16");
    cse_envelope *env = decode_vector(v);
    cse_material *mat = SENTINEL;

    /* A wrong RSA key. */
    cse_master_key *wrong = load_pem_key(other_pem, NULL);
    EXPECT(CSE_STATUS_UNWRAP, cse_envelope_open(env, wrong, &mat));
    CHECK(mat == NULL);
    char first[512];
    snprintf(first, sizeof first, "%s", last_error());
    CHECK(strlen(first) > 0);

    /* The right key, a damaged key header: valid base64 of other bytes of the same length. */
    cse_header *h = vector_headers(v);
    char damaged[1024];
    for (size_t i = 0; i < v->header_count; i++)
        if (strstr(h[i].name, "-key")) {
            snprintf(damaged, sizeof damaged, "%s", h[i].value);
            damaged[10] = damaged[10] == 'A' ? 'B' : 'A';
            h[i].value = damaged;
        }
    cse_envelope *bad = NULL;
    OK(cse_envelope_decode(h, v->header_count, NULL, 0, &bad));
    EXPECT(CSE_STATUS_UNWRAP, cse_envelope_open(bad, right, &mat));
    CHECK(!strcmp(last_error(), first));

    /* A custom key of the object's algorithm whose unwrap callback fails. */
    recorder rec = {.fail_unwrap = 1};
    cse_custom_master_key spec = recorder_spec(&rec, "RSA/NONE/PKCS1Padding");
    cse_master_key *failing = NULL;
    OK(cse_master_key_new_custom(&spec, &failing));
    EXPECT(CSE_STATUS_UNWRAP, cse_envelope_open(env, failing, &mat));
    CHECK(!strcmp(last_error(), first));
    CHECK(rec.unwrapped == 2); /* both unwraps ran, whichever failed */

    /* A keyring picks by matdesc: the right key, under the vector's matdesc, is chosen over a
     * wrong default; without it, the default is used, and fails the same way. */
    const vector *mv = find_vector(m, "put-matdesc-4096");
    cse_envelope *menv = decode_vector(mv);
    char matdesc[256];
    size_t n = 0;
    OK(cse_envelope_matdesc(menv, matdesc, sizeof matdesc, &n));
    char *key_path = path_join(dir, m->private_key);
    cse_master_key *labelled = load_pem_key(key_path, matdesc);
    free(key_path);
    cse_keyring *ring = NULL;
    OK(cse_keyring_new(wrong, &ring));
    EXPECT(CSE_STATUS_UNWRAP, cse_keyring_open(ring, menv, &mat));
    CHECK(!strcmp(last_error(), first));
    OK(cse_keyring_add(ring, labelled));
    cse_master_key_free(labelled); /* the keyring holds its own reference */
    OK(cse_keyring_open(ring, menv, &mat));
    CHECK(mat != NULL);
    cse_material_free(mat);
    cse_keyring_free(ring);
    cse_envelope_free(menv);

    /* A public key cannot unwrap; neither can a custom key without an unwrap callback. */
    char *pub_path = path_join(dir, m->public_key);
    cse_master_key *pub = load_pem_key(pub_path, NULL);
    free(pub_path);
    EXPECT(CSE_STATUS_MISSING_PRIVATE_KEY, cse_envelope_open(env, pub, &mat));
    spec.unwrap = NULL;
    cse_master_key *write_only = NULL;
    OK(cse_master_key_new_custom(&spec, &write_only));
    EXPECT(CSE_STATUS_MISSING_PRIVATE_KEY, cse_envelope_open(env, write_only, &mat));
    /* A key of another algorithm. */
    recorder other = {0};
    cse_custom_master_key xspec = recorder_spec(&other, "TEST/XOR");
    cse_master_key *xor_key = NULL;
    OK(cse_master_key_new_custom(&xspec, &xor_key));
    EXPECT(CSE_STATUS_WRAP_ALG_MISMATCH, cse_envelope_open(env, xor_key, &mat));
    CHECK(other.unwrapped == 0);

    cse_master_key_free(xor_key);
    cse_master_key_free(write_only);
    cse_master_key_free(pub);
    cse_master_key_free(failing);
    CHECK(rec.freed == 2 && other.freed == 1);
    cse_master_key_free(wrong);
    cse_envelope_free(bad);
    cse_envelope_free(env);
    free(h);
}

static void failing_callbacks(void) {
    recorder rec = {.fail_wrap = 1};
    cse_custom_master_key spec = recorder_spec(&rec, "TEST/XOR");
    cse_master_key *key = NULL;
    OK(cse_master_key_new_custom(&spec, &key));
    cse_sealed_envelope *sealed = SENTINEL;
    EXPECT(CSE_STATUS_WRAP, cse_sealed_envelope_new(key, &sealed));
    CHECK(sealed == NULL);
    cse_multipart *up = SENTINEL;
    EXPECT(CSE_STATUS_WRAP, cse_multipart_new(key, 16, 32, &up));
    CHECK(up == NULL);
    /* A wrapped value longer than the buffer the library gave. */
    rec.fail_wrap = 0;
    rec.overlong = 1;
    EXPECT(CSE_STATUS_INVALID_HEADER, cse_sealed_envelope_new(key, &sealed));
    expect_no_secret(&rec);
    cse_master_key_free(key);
    CHECK(rec.freed == 1);

    /* No wrap callback: a key that only reads. */
    recorder none = {0};
    spec = recorder_spec(&none, "TEST/XOR");
    spec.wrap = NULL;
    OK(cse_master_key_new_custom(&spec, &key));
    EXPECT(CSE_STATUS_WRAP, cse_sealed_envelope_new(key, &sealed));
    cse_master_key_free(key);

    /* Refused specs: free_ctx is not called, the ctx is still the caller's. */
    recorder refused = {0};
    spec = recorder_spec(&refused, "");
    cse_master_key *out = SENTINEL;
    EXPECT(CSE_STATUS_INVALID_ARGUMENT, cse_master_key_new_custom(&spec, &out));
    CHECK(out == NULL);
    spec = recorder_spec(&refused, "TEST/XOR");
    spec.matdesc = "{\"a\": 1}";
    spec.matdesc_len = 8;
    EXPECT(CSE_STATUS_INVALID_ARGUMENT, cse_master_key_new_custom(&spec, &out));
    CHECK(refused.freed == 0);
}

static void streams(cse_master_key *key) {
    /* A sealer of a declared length: more is refused, less is refused at finish. */
    cse_sealed_envelope *sealed = NULL;
    OK(cse_sealed_envelope_new(key, &sealed));
    OK(cse_sealed_envelope_set_unencrypted_content_length(sealed, 10));
    EXPECT(CSE_STATUS_INVALID_ARGUMENT, cse_sealed_envelope_set_unencrypted_content_md5(sealed, (const uint8_t *)"short", 5));
    cse_sealer *s = NULL;
    OK(cse_sealed_envelope_sealer(sealed, &s));
    /* One sealer per object: a second would start at the same counter (keystream reuse), and
       a length or MD5 set after the sealer was taken would not be the one it seals. */
    static int not_a_sealer;
    cse_sealer *again = (cse_sealer *)&not_a_sealer;
    EXPECT(CSE_STATUS_INVALID_ARGUMENT, cse_sealed_envelope_sealer(sealed, &again));
    CHECK(again == NULL);
    CHECK(strstr(last_error(), "keystream") != NULL);
    EXPECT(CSE_STATUS_INVALID_ARGUMENT, cse_sealed_envelope_set_unencrypted_content_length(sealed, 11));
    /* A free keeps the last error: C code frees, then logs. */
    cse_sealed_envelope_free(NULL);
    CHECK(strstr(last_error(), "sealer") != NULL);
    unsigned char buf[32] = {0};
    bool known = false;
    uint64_t left = 0;
    OK(cse_sealer_remaining(s, &known, &left));
    CHECK(known && left == 10);
    /* A misaligned out-parameter is refused before anything is written through it. */
    static uint64_t words[2];
    uint64_t *misaligned = (uint64_t *)((unsigned char *)words + 1);
    EXPECT(CSE_STATUS_INVALID_ARGUMENT, cse_sealer_remaining(s, &known, misaligned));
    CHECK(strstr(last_error(), "aligned") != NULL);
    CHECK(words[0] == 0 && words[1] == 0);
    EXPECT(CSE_STATUS_EXTENDED, cse_sealer_update_in_place(s, buf, 11));
    OK(cse_sealer_update_in_place(s, buf, 5));
    EXPECT(CSE_STATUS_TRUNCATED, cse_sealer_finish(s, NULL));
    EXPECT(CSE_STATUS_FINISHED, cse_sealer_update_in_place(s, buf, 1));
    expect_message_contains("finished");
    EXPECT(CSE_STATUS_FINISHED, cse_sealer_finish(s, NULL));
    cse_sealer_free(s);
    cse_sealed_envelope_free(sealed);

    /* The object with a declared length and MD5: cut, extended, modified. */
    const vector *v = find_vector(m, "put-md5-length-1000");
    cse_envelope *env = decode_vector(v);
    cse_material *mat = NULL;
    OK(cse_envelope_open(env, key, &mat));
    char *path = path_join(dir, v->ciphertext);
    size_t ct_len = 0;
    unsigned char *ct = read_file(path, &ct_len);
    unsigned char *work = xmalloc(ct_len + 1);
    size_t off = 0, n = 0;
    cse_opener *op = NULL;

    OK(cse_opener_new_whole(env, mat, &op));
    memcpy(work, ct, ct_len);
    OK(cse_opener_update_in_place(op, work, ct_len - 1, &off, &n));
    EXPECT(CSE_STATUS_TRUNCATED, cse_opener_finish(op, NULL));
    bool done = true;
    OK(cse_opener_is_done(op, &done));
    CHECK(!done);
    cse_opener_free(op);

    OK(cse_opener_new_whole(env, mat, &op));
    memcpy(work, ct, ct_len);
    work[ct_len] = 0;
    EXPECT(CSE_STATUS_EXTENDED, cse_opener_update_in_place(op, work, ct_len + 1, &off, &n));
    CHECK(n == 0);
    cse_opener_free(op);

    OK(cse_opener_new_whole(env, mat, &op));
    memcpy(work, ct, ct_len);
    work[500] ^= 1;
    OK(cse_opener_update_in_place(op, work, ct_len, &off, &n));
    EXPECT(CSE_STATUS_CONTENT_MD5_MISMATCH, cse_opener_finish(op, NULL));
    cse_opener_free(op);

    /* The stored length against the declared one. */
    EXPECT(CSE_STATUS_STORED_LENGTH, cse_envelope_check_stored_len(env, ct_len - 1));
    OK(cse_envelope_check_stored_len(env, ct_len));
    CHECK(last_error()[0] == 0); /* a success clears the last error */

    /* Ranges. */
    cse_range_plan *plan = SENTINEL;
    const char *bad[] = {"bytes=abc", "bytes=0-1,5-6", "bytes=5-1", "items=0-1", "bytes=99999999999999999999-"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        EXPECT(CSE_STATUS_INVALID_RANGE, cse_range_plan_new(bad[i], strlen(bad[i]), false, 0, &plan));
        CHECK(plan == NULL);
    }
    EXPECT(CSE_STATUS_RANGE_NOT_SATISFIABLE, cse_range_plan_new("bytes=1000-", 11, true, ct_len, &plan));
    OK(cse_range_plan_new("bytes=100-199", 13, false, 0, &plan));
    cse_body_plan *body = SENTINEL;
    EXPECT(CSE_STATUS_INVALID_RANGE, cse_range_plan_on_response(plan, 500, NULL, 0, false, 0, &body));
    CHECK(body == NULL);
    EXPECT(CSE_STATUS_INVALID_RANGE, cse_range_plan_on_response(plan, 206, "bytes 150-199/1000", 18, true, 50, &body));
    expect_message_contains("does not cover");
    EXPECT(CSE_STATUS_INVALID_RANGE, cse_range_plan_on_response(plan, 206, NULL, 0, true, 50, &body));
    EXPECT(CSE_STATUS_INVALID_RANGE, cse_range_plan_on_response(plan, 200, NULL, 0, false, 0, &body));
    EXPECT(CSE_STATUS_RANGE_NOT_SATISFIABLE, cse_range_plan_on_response(plan, 416, "bytes */50", 10, false, 0, &body));
    cse_range_plan_free(plan);
    OK(cse_range_plan_new("bytes=0-9", 9, true, 1000, &plan));
    EXPECT(CSE_STATUS_INVALID_RANGE, cse_range_plan_on_stored(plan, 999, &body));
    expect_message_contains("different");
    cse_range_plan_free(plan);

    free(work);
    free(ct);
    free(path);
    cse_material_free(mat);
    cse_envelope_free(env);
}

static void multipart_misuse(cse_master_key *key) {
    cse_multipart *up = SENTINEL;
    EXPECT(CSE_STATUS_INVALID_MULTIPART, cse_multipart_new(key, 15, 100, &up));
    CHECK(up == NULL);
    expect_message_contains("multiple of 16");
    EXPECT(CSE_STATUS_INVALID_MULTIPART, cse_multipart_new(key, 16, 0, &up));
    EXPECT(CSE_STATUS_INVALID_MULTIPART, cse_multipart_new(key, 16, 16 * 10001, &up));
    OK(cse_multipart_new(key, 32, 70, &up)); /* parts of 32, 32, 6 */
    cse_part_sealer *ps = SENTINEL;
    EXPECT(CSE_STATUS_INVALID_MULTIPART, cse_multipart_part_sealer(up, 0, &ps));
    CHECK(ps == NULL);
    EXPECT(CSE_STATUS_INVALID_MULTIPART, cse_multipart_part_sealer(up, 4, &ps));
    uint64_t off = 0, len = 0;
    EXPECT(CSE_STATUS_INVALID_MULTIPART, cse_multipart_part_range(up, 4, &off, &len));
    EXPECT(CSE_STATUS_PART_NOT_SEALED, cse_multipart_mark_uploaded(up, 2));
    OK(cse_multipart_part_sealer(up, 3, &ps));
    unsigned char buf[64] = {0};
    EXPECT(CSE_STATUS_PART_LENGTH, cse_part_sealer_update_in_place(ps, buf, 7));
    OK(cse_part_sealer_update_in_place(ps, buf, 5));
    EXPECT(CSE_STATUS_PART_LENGTH, cse_part_sealer_finish(ps, NULL));
    EXPECT(CSE_STATUS_FINISHED, cse_part_sealer_update_in_place(ps, buf, 1));
    cse_part_sealer_free(ps);
    /* The part was handed out; its number is spent even though it was never finished. */
    EXPECT(CSE_STATUS_PART_ALREADY_SEALED, cse_multipart_part_sealer(up, 3, &ps));
    cse_multipart_free(up);

    /* A single-object envelope cannot resume an upload. */
    cse_envelope *env = decode_vector(find_vector(m, "put-16"));
    char *key_path = path_join(dir, m->private_key);
    cse_master_key *right = load_pem_key(key_path, NULL);
    free(key_path);
    EXPECT(CSE_STATUS_INVALID_HEADER, cse_multipart_resume(env, right, &up));
    expect_message_contains("part-size");
    cse_master_key_free(right);
    cse_envelope_free(env);
}

static void status_names(void) {
    CHECK(!strcmp(cse_status_name(CSE_STATUS_OK), "CSE_STATUS_OK"));
    CHECK(!strcmp(cse_status_name(CSE_STATUS_UNWRAP), "CSE_STATUS_UNWRAP"));
    CHECK(!strcmp(cse_status_name(CSE_STATUS_BUFFER_TOO_SMALL), "CSE_STATUS_BUFFER_TOO_SMALL"));
    CHECK(!strcmp(cse_status_name(CSE_STATUS_PANIC), "CSE_STATUS_PANIC"));
    CHECK(!strcmp(cse_status_name(12345), "CSE_STATUS_UNKNOWN"));
    CHECK(!strcmp(cse_status_name(-1), "CSE_STATUS_UNKNOWN"));
}

int main(int argc, char **argv) {
    if (argc < 4) FAIL("usage: errors MANIFEST.txt VECTOR_DIR OTHER_PEM");
    manifest *loaded = load_manifest(argv[1]);
    m = loaded;
    dir = argv[2];
    other_pem = argv[3];
    char *key_path = path_join(dir, m->private_key);
    cse_master_key *key = load_pem_key(key_path, NULL);
    free(key_path);

    null_arguments(key);
    buffers_too_small(key);
    bad_keys();
    bad_headers();
    opaque_unwrap(key);
    failing_callbacks();
    streams(key);
    multipart_misuse(key);
    status_names();

    cse_master_key_free(key);
    free_manifest(loaded);
    printf("errors: %d checks\n", checks_run);
    return 0;
}
