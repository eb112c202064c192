/* (a) Decrypts every object the official Python SDK V2 wrote (testvectors/python-v2) whole,
 * and (b) reads every range case of the manifest through the range planner, three ways: from
 * the stored file, from a server that ignores the range (200 with the whole object), and from
 * a server that honours the planned Range (206). Every outcome is checked against the
 * manifest: lengths, SHA-256 digests, Content-Range, 416s, and the plaintext formula.
 *
 * usage: vectors MANIFEST.txt VECTOR_DIR */
#include "common.h"

static const char *vector_dir;
/* Set under valgrind (CSE_C_TESTS_LIGHT=1 from run.sh), which runs about 50 times slower: the
 * same code paths on less data. The sanitizer run reads everything. */
static int light;

/* A whole read of `v` through one opener, the body fed in `chunk`-byte pieces, in place or
 * into a separate buffer; returns the plaintext. */
static unsigned char *open_whole(const vector *v, cse_material *mat, cse_envelope *env,
                                 const unsigned char *ct, size_t ct_len, size_t chunk,
                                 int in_place, size_t *out_len) {
    cse_opener *op = NULL;
    OK(cse_opener_new_whole(env, mat, &op));
    bool known = false;
    uint64_t remaining = 0;
    OK(cse_opener_remaining(op, &known, &remaining));
    unsigned char *plain = xmalloc(ct_len);
    size_t n = 0;
    for (size_t at = 0; at < ct_len; at += chunk) {
        size_t len = ct_len - at < chunk ? ct_len - at : chunk;
        if (in_place) {
            memcpy(plain + n, ct + at, len);
            size_t off = 99, kept = 99;
            OK(cse_opener_update_in_place(op, plain + n, len, &off, &kept));
            CHECK(off == 0 && kept == len);
            n += kept;
        } else {
            size_t wrote = 0;
            OK(cse_opener_update(op, ct + at, len, plain + n, ct_len - n, &wrote));
            CHECK(wrote == len);
            n += wrote;
        }
    }
    uint64_t total = 0;
    OK(cse_opener_finish(op, &total));
    CHECK(total == v->plaintext_len);
    cse_opener_free(op);
    *out_len = n;
    return plain;
}

static void check_whole(const vector *v, cse_master_key *key) {
    cse_header *headers = vector_headers(v);
    cse_envelope *env = NULL;
    OK(cse_envelope_decode(headers, v->header_count, NULL, 0, &env));
    cse_material *mat = NULL;
    OK(cse_envelope_open(env, key, &mat));

    char *path = path_join(vector_dir, v->ciphertext);
    size_t ct_len = 0;
    unsigned char *ct = read_file(path, &ct_len);
    CHECK(ct_len == v->plaintext_len); /* CTR: the ciphertext is as long as the plaintext */

    /* The declared length, where the headers declare one, is the manifest's. */
    bool known = false;
    uint64_t declared = 0;
    OK(cse_envelope_declared_len(env, &known, &declared));
    if (known) CHECK(declared == v->plaintext_len);
    if (!strcmp(v->kind, "multipart")) CHECK(known);

    const size_t chunks[] = {ct_len ? ct_len : 1, 4096, 1000, 17};
    unsigned char *want = formula_plaintext(v->plaintext_len);
    for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
        /* Small chunks only on small objects, one size only on the large ones. */
        if (chunks[c] < 1000 && ct_len > 70000) continue;
        if (c > 1 && ct_len > 300000) continue;
        for (int in_place = 0; in_place < 2; in_place++) {
            size_t n = 0;
            unsigned char *plain = open_whole(v, mat, env, ct, ct_len, chunks[c], in_place, &n);
            char hex[65];
            sha256_hex(plain, n, hex);
            CHECK(n == v->plaintext_len);
            if (strcmp(hex, v->plaintext_sha256)) FAIL("%s: plaintext SHA-256 %s", v->name, hex);
            CHECK(n == 0 || memcmp(plain, want, n) == 0);
            free(plain);
        }
    }
    free(want);
    free(ct);
    free(path);
    cse_material_free(mat);
    cse_envelope_free(env);
    free(headers);
}

/* An RFC 9110 server of the object `len` bytes long: resolves the Range it is sent (the
 * planner's wire range) into `first..=last`; returns 0 when unsatisfiable. Independent of the
 * library: the test's own reading of RFC 9110 section 14.1.2. */
static int serve_range(const char *range, size_t len, size_t *first, size_t *last) {
    unsigned long long a = 0, b = 0;
    char tail = 0;
    if (sscanf(range, "bytes=-%llu%c", &a, &tail) == 1) {
        if (a == 0 || len == 0) return 0;
        *first = a >= len ? 0 : len - (size_t)a;
        *last = len - 1;
        return 1;
    }
    int fields = sscanf(range, "bytes=%llu-%llu%c", &a, &b, &tail);
    if (fields == 1 && range[strlen(range) - 1] == '-') b = (unsigned long long)-1;
    else if (fields != 2) FAIL("unexpected wire range %s", range);
    if (a >= len) return 0;
    *first = (size_t)a;
    *last = b >= len - 1 ? len - 1 : (size_t)b;
    return 1;
}

/* Reads `body` (`body_len` bytes) through a ranged opener made from `plan`, and checks the
 * plaintext and the plan's Content-Range against the manifest's case. */
static void check_body(const vector *v, const range_case *r, cse_material *mat,
                       cse_body_plan *plan, const unsigned char *body, size_t body_len,
                       const char *how) {
    char cr[64];
    size_t cr_len = 0;
    OK(cse_body_plan_content_range(plan, cr, sizeof cr, &cr_len));
    if (strcmp(cr, r->content_range)) FAIL("%s %s (%s): Content-Range %s", v->name, r->range, how, cr);
    CHECK(cr_len == strlen(r->content_range));
    cse_body_layout info;
    OK(cse_body_plan_layout(plan, &info));
    CHECK(info.keep_len == r->len);
    CHECK(info.body_len == body_len);

    cse_opener *op = NULL;
    OK(cse_opener_new_ranged(plan, mat, &op));
    unsigned char *plain = xmalloc(body_len);
    size_t n = 0;
    /* Uneven pieces, so the dropped head and tail fall inside and across them. */
    for (size_t at = 0, piece = 5; at < body_len; at += piece, piece = piece * 3 % 4099 + 1) {
        size_t len = body_len - at < piece ? body_len - at : piece;
        size_t wrote = 0;
        OK(cse_opener_update(op, body + at, len, plain + n, body_len - n, &wrote));
        n += wrote;
    }
    bool done = false;
    OK(cse_opener_is_done(op, &done));
    CHECK(done);
    uint64_t total = 0;
    OK(cse_opener_finish(op, &total));
    CHECK(total == r->len && n == r->len);
    char hex[65];
    sha256_hex(plain, n, hex);
    if (strcmp(hex, r->sha256)) FAIL("%s %s (%s): SHA-256 %s", v->name, r->range, how, hex);
    free(plain);
    cse_opener_free(op);
}

static void check_ranges(const vector *v, cse_master_key *key) {
    cse_header *headers = vector_headers(v);
    cse_envelope *env = NULL;
    OK(cse_envelope_decode(headers, v->header_count, NULL, 0, &env));
    cse_material *mat = NULL;
    OK(cse_envelope_open(env, key, &mat));
    char *path = path_join(vector_dir, v->ciphertext);
    size_t ct_len = 0;
    unsigned char *ct = read_file(path, &ct_len);
    OK(cse_envelope_check_stored_len(env, ct_len));

    for (size_t i = 0; i < v->range_count; i++) {
        const range_case *r = &v->ranges[i];
        cse_range_plan *plan = NULL;

        /* The stored file: the length is known, so a 416 case fails at planning. */
        if (r->status == 416) {
            EXPECT(CSE_STATUS_RANGE_NOT_SATISFIABLE,
                   cse_range_plan_new(r->range, strlen(r->range), true, ct_len, &plan));
            CHECK(plan == NULL);
        } else {
            CHECK(r->status == 206);
            OK(cse_range_plan_new(r->range, strlen(r->range), true, ct_len, &plan));
            cse_body_plan *body = NULL;
            OK(cse_range_plan_on_stored(plan, ct_len, &body));
            cse_body_layout info;
            OK(cse_body_plan_layout(body, &info));
            CHECK(info.body_start + info.body_len <= ct_len);
            check_body(v, r, mat, body, ct + info.body_start, info.body_len, "stored");
            cse_body_plan_free(body);
            cse_range_plan_free(plan);
        }

        /* Over HTTP, the length unknown: plan, send the wire range, read the answer. */
        plan = NULL;
        cse_status planned = cse_range_plan_new(r->range, strlen(r->range), false, 0, &plan);
        if (planned == CSE_STATUS_RANGE_NOT_SATISFIABLE) {
            /* Only bytes=-0 is refused before any request. */
            CHECK(r->status == 416 && !strcmp(r->range, "bytes=-0"));
            continue;
        }
        OK(planned);
        char wire[64], behavior[32], behavior_header[64];
        size_t wire_len = 0, n = 0;
        OK(cse_range_plan_wire_range(plan, wire, sizeof wire, &wire_len));
        CHECK(wire_len == strlen(wire) && !strncmp(wire, "bytes=", 6));
        OK(cse_range_behavior_header(behavior_header, sizeof behavior_header, &n));
        OK(cse_range_plan_range_behavior(plan, behavior, sizeof behavior, &n));
        CHECK(!strcmp(behavior_header, "x-oss-range-behavior") && !strcmp(behavior, "standard"));

        size_t first = 0, last = 0;
        cse_body_plan *body = NULL;
        if (!serve_range(wire, ct_len, &first, &last)) {
            CHECK(r->status == 416);
            char cr[64];
            snprintf(cr, sizeof cr, "bytes */%zu", ct_len);
            EXPECT(CSE_STATUS_RANGE_NOT_SATISFIABLE,
                   cse_range_plan_on_response(plan, 416, cr, strlen(cr), false, 0, &body));
            CHECK(body == NULL);
        } else if (r->status == 416) {
            /* The wire range starts earlier (rounded down to a block), so the server may
             * answer 206; the requested bytes are still not there. */
            char cr[96];
            snprintf(cr, sizeof cr, "bytes %zu-%zu/%zu", first, last, ct_len);
            EXPECT(CSE_STATUS_RANGE_NOT_SATISFIABLE,
                   cse_range_plan_on_response(plan, 206, cr, strlen(cr), true, last - first + 1, &body));
            CHECK(body == NULL);
        } else {
            CHECK(r->status == 206);
            char cr[96];
            snprintf(cr, sizeof cr, "bytes %zu-%zu/%zu", first, last, ct_len);
            OK(cse_range_plan_on_response(plan, 206, cr, strlen(cr), true, last - first + 1, &body));
            check_body(v, r, mat, body, ct + first, last - first + 1, "206");
            cse_body_plan_free(body);
            if (ct_len > (light ? 4096 : 300000)) {
                cse_range_plan_free(plan);
                continue;
            }
            /* A server (or proxy) that ignores the range and sends the whole object. */
            body = NULL;
            OK(cse_range_plan_on_response(plan, 200, NULL, 0, true, ct_len, &body));
            check_body(v, r, mat, body, ct, ct_len, "200");
            cse_body_plan_free(body);
        }
        cse_range_plan_free(plan);
    }
    free(ct);
    free(path);
    cse_material_free(mat);
    cse_envelope_free(env);
    free(headers);
}

int main(int argc, char **argv) {
    if (argc < 3) FAIL("usage: vectors MANIFEST.txt VECTOR_DIR");
    manifest *m = load_manifest(argv[1]);
    vector_dir = argv[2];
    char *key_path = path_join(vector_dir, m->private_key);
    cse_master_key *key = load_pem_key(key_path, NULL);
    size_t ranges = 0;
    light = getenv("CSE_C_TESTS_LIGHT") != NULL;
    for (size_t i = 0; i < m->count; i++) {
        if (light && m->vectors[i].plaintext_len > 300000) {
            ranges += m->vectors[i].range_count; /* read in the sanitizer run */
            continue;
        }
        check_whole(&m->vectors[i], key);
        check_ranges(&m->vectors[i], key);
        ranges += m->vectors[i].range_count;
    }
    CHECK(m->count >= 11 && ranges >= 200);
    cse_master_key_free(key);
    free(key_path);
    printf("vectors: %zu objects, %zu range cases, %d checks\n", m->count, ranges, checks_run);
    free_manifest(m);
    return 0;
}
