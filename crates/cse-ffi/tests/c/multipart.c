/* (c) Multipart: seals the parts of an upload out of order and checks the result.
 *
 * With a custom master key whose wrap callback records what it wraps (the content key and the
 * counter block), the assembled ciphertext is checked against OpenSSL's AES-256-CTR of the
 * whole plaintext: an implementation independent of the library. With the RSA test key, the
 * assembled object is decrypted back through headers encoded and decoded again, whole and
 * ranged across part boundaries. Also: resuming an upload, once-per-part sealing, and the
 * Python SDK's multipart vectors' headers.
 *
 * usage: multipart MANIFEST.txt VECTOR_DIR OTHER_PEM */
#include "common.h"

/* Seals `data` as an upload in parts of `part_size`, in the order `order` (part numbers),
 * each part fed in `chunk`-byte pieces, alternating update and update_in_place. */
static unsigned char *seal_parts(cse_multipart *up, const unsigned char *data, size_t data_len,
                                 const uint32_t *order, uint32_t parts, size_t chunk) {
    unsigned char *ct = xmalloc(data_len);
    uint32_t count = 0;
    OK(cse_multipart_part_count(up, &count));
    CHECK(count == parts);
    for (uint32_t i = 0; i < parts; i++) {
        uint32_t part = order[i];
        uint64_t offset = 0, len = 0;
        OK(cse_multipart_part_range(up, part, &offset, &len));
        CHECK(offset + len <= data_len);
        cse_part_sealer *ps = NULL;
        OK(cse_multipart_part_sealer(up, part, &ps));
        bool known = false;
        uint64_t remaining = 0;
        OK(cse_part_sealer_remaining(ps, &known, &remaining));
        CHECK(known && remaining == len);
        for (uint64_t at = 0; at < len; at += chunk) {
            size_t n = (size_t)(len - at < chunk ? len - at : chunk);
            if ((at / chunk) % 2) {
                memcpy(ct + offset + at, data + offset + at, n);
                OK(cse_part_sealer_update_in_place(ps, ct + offset + at, n));
            } else {
                size_t wrote = 0;
                OK(cse_part_sealer_update(ps, data + offset + at, n, ct + offset + at, n, &wrote));
                CHECK(wrote == n);
            }
        }
        uint64_t sealed_len = 0;
        OK(cse_part_sealer_finish(ps, &sealed_len));
        CHECK(sealed_len == len);
        cse_part_sealer_free(ps);
        /* Never twice: the same part number again would reuse keystream. */
        cse_part_sealer *again = NULL;
        EXPECT(CSE_STATUS_PART_ALREADY_SEALED, cse_multipart_part_sealer(up, part, &again));
        CHECK(again == NULL);
    }
    return ct;
}

/* Encodes `env` as headers and decodes them again, as a GET would see them. */
static cse_envelope *round_trip(const cse_envelope *env) {
    size_t count = 0, text_len = 0;
    EXPECT(CSE_STATUS_BUFFER_TOO_SMALL,
           cse_envelope_encode_headers(env, NULL, 0, NULL, 0, &count, NULL, 0, &text_len));
    cse_header *headers = xmalloc(count * sizeof *headers);
    char *text = xmalloc(text_len);
    OK(cse_envelope_encode_headers(env, NULL, 0, headers, count, &count, text, text_len, &text_len));
    cse_envelope *decoded = NULL;
    OK(cse_envelope_decode(headers, count, NULL, 0, &decoded));
    free(headers);
    free(text);
    return decoded;
}

static void check_recorded_upload(void) {
    enum { DATA = 100003, PART = 16384, PARTS = 7 };
    const uint32_t order[PARTS] = {5, 2, 7, 1, 3, 6, 4};
    unsigned char *data = formula_plaintext(DATA);
    recorder rec = {0};
    cse_custom_master_key spec = recorder_spec(&rec, "TEST/XOR");
    cse_master_key *key = NULL;
    OK(cse_master_key_new_custom(&spec, &key));

    cse_multipart *up = NULL;
    OK(cse_multipart_new(key, PART, DATA, &up));
    CHECK(rec.wrapped_key == 1 && rec.wrapped_iv == 1);
    size_t pending_count = 0;
    uint32_t pending[PARTS];
    OK(cse_multipart_pending_parts(up, pending, PARTS, &pending_count));
    CHECK(pending_count == PARTS && pending[0] == 1 && pending[PARTS - 1] == PARTS);

    unsigned char *ct = seal_parts(up, data, DATA, order, PARTS, 1000);

    /* Independent check: the parts, assembled, are AES-256-CTR of the plaintext under the
     * content key and counter block the key was asked to wrap, as one stream. */
    unsigned char *want = xmalloc(DATA);
    aes256_ctr(rec.key, rec.iv, data, DATA, want);
    CHECK(memcmp(ct, want, DATA) == 0);
    /* As every SDK writes it, counter-block bytes 8..11 are zero. */
    CHECK(rec.iv[8] == 0 && rec.iv[9] == 0 && rec.iv[10] == 0 && rec.iv[11] == 0);

    for (uint32_t i = 0; i < PARTS; i++) {
        bool complete = true;
        OK(cse_multipart_is_complete(up, &complete));
        CHECK(!complete);
        OK(cse_multipart_mark_uploaded(up, order[i]));
    }
    bool complete = false;
    OK(cse_multipart_is_complete(up, &complete));
    CHECK(complete);
    OK(cse_multipart_pending_parts(up, NULL, 0, &pending_count));
    CHECK(pending_count == 0);

    /* The upload's envelope reads back and opens with the same custom key. */
    cse_envelope *env = NULL;
    OK(cse_multipart_envelope(up, &env));
    cse_envelope *read = round_trip(env);
    char alg[32], matdesc[64];
    size_t n = 0;
    OK(cse_envelope_wrap_alg(read, alg, sizeof alg, &n));
    CHECK(!strcmp(alg, "TEST/XOR"));
    OK(cse_envelope_matdesc(read, matdesc, sizeof matdesc, &n));
    CHECK(!strcmp(matdesc, "{\"who\":\"test\"}"));

    /* Resuming: the same material, the parts already sealed marked so, and the last part
     * sealed by the resumed context gives the same bytes. */
    cse_multipart *resumed = NULL;
    OK(cse_multipart_resume(read, key, &resumed));
    for (uint32_t part = 1; part < PARTS; part++) OK(cse_multipart_mark_sealed(resumed, part));
    EXPECT(CSE_STATUS_PART_ALREADY_SEALED, cse_multipart_mark_sealed(resumed, 1));
    EXPECT(CSE_STATUS_PART_NOT_SEALED, cse_multipart_mark_uploaded(resumed, PARTS));
    uint64_t offset = 0, len = 0;
    OK(cse_multipart_part_range(resumed, PARTS, &offset, &len));
    CHECK(offset == (uint64_t)(PARTS - 1) * PART && len == DATA - (PARTS - 1) * PART);
    cse_part_sealer *ps = NULL;
    OK(cse_multipart_part_sealer(resumed, PARTS, &ps));
    unsigned char *last = xmalloc(len);
    memcpy(last, data + offset, len);
    OK(cse_part_sealer_update_in_place(ps, last, len));
    OK(cse_part_sealer_finish(ps, NULL));
    CHECK(memcmp(last, want + offset, len) == 0);
    cse_part_sealer_free(ps);
    free(last);
    cse_multipart_free(resumed);

    cse_envelope_free(read);
    cse_envelope_free(env);
    cse_multipart_free(up);
    CHECK(rec.freed == 0);
    cse_master_key_free(key);
    CHECK(rec.freed == 1); /* free_ctx, once, when the last handle went */
    free(want);
    free(ct);
    free(data);
}

static void check_rsa_upload(cse_master_key *key) {
    enum { DATA = 4000, PART = 512, PARTS = 8 };
    const uint32_t order[PARTS] = {8, 3, 1, 6, 2, 7, 5, 4};
    unsigned char *data = formula_plaintext(DATA);
    cse_multipart *up = NULL;
    OK(cse_multipart_new(key, PART, DATA, &up));
    unsigned char *ct = seal_parts(up, data, DATA, order, PARTS, 100);
    cse_envelope *env = NULL;
    OK(cse_multipart_envelope(up, &env));
    cse_envelope *read = round_trip(env);
    bool known = false;
    uint64_t declared = 0;
    OK(cse_envelope_declared_len(read, &known, &declared));
    CHECK(known && declared == DATA);

    cse_material *mat = NULL;
    OK(cse_envelope_open(read, key, &mat));
    /* Whole. */
    cse_opener *op = NULL;
    OK(cse_opener_new_whole(read, mat, &op));
    unsigned char *plain = xmalloc(DATA);
    size_t wrote = 0;
    OK(cse_opener_update(op, ct, DATA, plain, DATA, &wrote));
    OK(cse_opener_finish(op, NULL));
    CHECK(wrote == DATA && memcmp(plain, data, DATA) == 0);
    cse_opener_free(op);
    /* Ranged, across the boundary of parts 2 and 3, from the stored bytes. */
    cse_range_plan *plan = NULL;
    OK(cse_range_plan_new("bytes=1000-1100", 15, true, DATA, &plan));
    cse_body_plan *body = NULL;
    OK(cse_range_plan_on_stored(plan, DATA, &body));
    cse_body_layout layout;
    OK(cse_body_plan_layout(body, &layout));
    OK(cse_opener_new_ranged(body, mat, &op));
    OK(cse_opener_update(op, ct + layout.body_start, layout.body_len, plain, DATA, &wrote));
    OK(cse_opener_finish(op, NULL));
    CHECK(wrote == 101 && memcmp(plain, data + 1000, 101) == 0);
    cse_opener_free(op);
    cse_body_plan_free(body);
    cse_range_plan_free(plan);

    free(plain);
    cse_material_free(mat);
    cse_envelope_free(read);
    cse_envelope_free(env);
    cse_multipart_free(up);
    free(ct);
    free(data);
}

/* The Python SDK's multipart objects: their headers decode into envelopes that declare the
 * manifest's sizes, and resume into uploads of the manifest's part size. */
static void check_sdk_multipart(const manifest *m, cse_master_key *key) {
    int seen = 0;
    for (size_t i = 0; i < m->count; i++) {
        const vector *v = &m->vectors[i];
        if (strcmp(v->kind, "multipart")) continue;
        seen++;
        cse_header *headers = vector_headers(v);
        cse_envelope *env = NULL;
        OK(cse_envelope_decode(headers, v->header_count, NULL, 0, &env));
        cse_multipart *up = NULL;
        OK(cse_multipart_resume(env, key, &up));
        uint32_t parts = 0;
        OK(cse_multipart_part_count(up, &parts));
        CHECK(parts == (v->plaintext_len + v->part_size - 1) / v->part_size);
        uint64_t offset = 0, len = 0;
        OK(cse_multipart_part_range(up, 2, &offset, &len));
        CHECK(offset == v->part_size && len == v->part_size);
        cse_multipart_free(up);
        cse_envelope_free(env);
        free(headers);
    }
    CHECK(seen == 2);
}

int main(int argc, char **argv) {
    if (argc < 3) FAIL("usage: multipart MANIFEST.txt VECTOR_DIR [OTHER_PEM]");
    manifest *m = load_manifest(argv[1]);
    char *key_path = path_join(argv[2], m->private_key);
    cse_master_key *key = load_pem_key(key_path, NULL);
    check_recorded_upload();
    check_rsa_upload(key);
    check_sdk_multipart(m, key);
    cse_master_key_free(key);
    free(key_path);
    free_manifest(m);
    printf("multipart: %d checks\n", checks_run);
    return 0;
}
