/* Helpers shared by the C tests: checks that exit nonzero, file reading, SHA-256 and
 * AES-256-CTR from OpenSSL (an implementation independent of the library under test), and the
 * manifest of the Python SDK vectors, flattened by run.sh into tab-separated lines. */
#ifndef CSE_TEST_COMMON_H
#define CSE_TEST_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "cse.h"

static int checks_run = 0;

#define FAIL(...)                                                                    \
    do {                                                                             \
        fprintf(stderr, "%s:%d: FAILED: ", __FILE__, __LINE__);                      \
        fprintf(stderr, __VA_ARGS__);                                                \
        fprintf(stderr, "\n");                                                       \
        exit(1);                                                                     \
    } while (0)

#define CHECK(cond)                                                                  \
    do {                                                                             \
        checks_run++;                                                                \
        if (!(cond)) FAIL("%s", #cond);                                              \
    } while (0)

/* The call must return `want`; on a mismatch, print the library's last error. */
#define EXPECT(want, call)                                                           \
    do {                                                                             \
        checks_run++;                                                                \
        cse_status got_ = (call);                                                    \
        if (got_ != (want)) {                                                        \
            char msg_[1024] = "";                                                    \
            size_t n_ = 0;                                                           \
            cse_last_error_message(msg_, sizeof msg_, &n_);                          \
            FAIL("%s returned %s, expected %s (%s)", #call, cse_status_name(got_),   \
                 cse_status_name(want), msg_);                                       \
        }                                                                            \
    } while (0)

#define OK(call) EXPECT(CSE_STATUS_OK, call)

/* The thread's last error message, in a static buffer. */
static inline const char *last_error(void) {
    static char msg[2048];
    size_t n = 0;
    if (cse_last_error_message(msg, sizeof msg, &n) != CSE_STATUS_OK) FAIL("last error unreadable");
    return msg;
}

static inline void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) FAIL("out of memory");
    return p;
}

/* The whole file at `path`; `*len` receives its length. */
static inline unsigned char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) FAIL("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = xmalloc((size_t)n + 1);
    if (n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n) FAIL("cannot read %s", path);
    fclose(f);
    buf[n] = 0;
    *len = (size_t)n;
    return buf;
}

static inline char *path_join(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = xmalloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* Lower-case hex SHA-256 of `data` into `hex` (65 bytes). */
static inline void sha256_hex(const unsigned char *data, size_t len, char hex[65]) {
    unsigned char digest[32];
    unsigned int n = 0;
    if (!EVP_Digest(data, len, digest, &n, EVP_sha256(), NULL) || n != 32) FAIL("EVP_Digest");
    for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", digest[i]);
}

/* AES-256-CTR of `in` from counter block `iv` (OpenSSL increments all 128 bits, big-endian,
 * as the format does). */
static inline void aes256_ctr(const unsigned char key[32], const unsigned char iv[16],
                       const unsigned char *in, size_t len, unsigned char *out) {
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, m = 0;
    if (!ctx || !EVP_EncryptInit_ex(ctx, EVP_aes_256_ctr(), NULL, key, iv)) FAIL("EVP init");
    if (len > 0 && !EVP_EncryptUpdate(ctx, out, &n, in, (int)len)) FAIL("EVP update");
    if (!EVP_EncryptFinal_ex(ctx, out + n, &m) || (size_t)(n + m) != len) FAIL("EVP final");
    EVP_CIPHER_CTX_free(ctx);
}

/* The vectors' plaintext: byte i is i % 251 (testvectors/python-v2/README.md). */
static inline unsigned char *formula_plaintext(size_t len) {
    unsigned char *p = xmalloc(len);
    for (size_t i = 0; i < len; i++) p[i] = (unsigned char)(i % 251);
    return p;
}

/* ---- the flattened manifest (see run.sh) ---- */

typedef struct {
    char range[64];
    int status;
    char content_range[64]; /* "" for none */
    size_t len;
    char sha256[65]; /* "" for none */
} range_case;

typedef struct {
    char name[64];
    char kind[16];
    size_t plaintext_len;
    char plaintext_sha256[65];
    char ciphertext[128];
    size_t part_size; /* 0 unless multipart */
    size_t header_count;
    char *header_names[16];
    char *header_values[16];
    size_t range_count;
    range_case ranges[40];
} vector;

typedef struct {
    char private_key[128];
    char public_key[128];
    size_t count;
    vector vectors[16];
} manifest;

static inline char *xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = xmalloc(n);
    memcpy(p, s, n);
    return p;
}

static inline void copy_field(char *dst, size_t cap, const char *src) {
    if (strlen(src) >= cap) FAIL("manifest field too long: %s", src);
    strcpy(dst, src);
}

/* Splits `line` at tabs into at most `max` fields; returns the count. */
static inline int split_tabs(char *line, char **fields, int max) {
    int n = 0;
    line[strcspn(line, "\n")] = 0;
    while (n < max) {
        fields[n++] = line;
        char *tab = strchr(line, '\t');
        if (!tab) break;
        *tab = 0;
        line = tab + 1;
    }
    return n;
}

static inline manifest *load_manifest(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) FAIL("cannot open %s", path);
    manifest *m = calloc(1, sizeof *m);
    if (!m) FAIL("out of memory");
    char line[8192];
    vector *v = NULL;
    while (fgets(line, sizeof line, f)) {
        char *fld[8];
        int n = split_tabs(line, fld, 8);
        if (!strcmp(fld[0], "keys") && n == 3) {
            copy_field(m->private_key, sizeof m->private_key, fld[1]);
            copy_field(m->public_key, sizeof m->public_key, fld[2]);
        } else if (!strcmp(fld[0], "vector") && n == 7) {
            if (m->count == 16) FAIL("too many vectors");
            v = &m->vectors[m->count++];
            copy_field(v->name, sizeof v->name, fld[1]);
            copy_field(v->kind, sizeof v->kind, fld[2]);
            v->plaintext_len = strtoull(fld[3], NULL, 10);
            copy_field(v->plaintext_sha256, sizeof v->plaintext_sha256, fld[4]);
            copy_field(v->ciphertext, sizeof v->ciphertext, fld[5]);
            v->part_size = strtoull(fld[6], NULL, 10);
        } else if (!strcmp(fld[0], "header") && n == 3 && v) {
            if (v->header_count == 16) FAIL("too many headers");
            v->header_names[v->header_count] = xstrdup(fld[1]);
            v->header_values[v->header_count++] = xstrdup(fld[2]);
        } else if (!strcmp(fld[0], "range") && n == 6 && v) {
            if (v->range_count == 40) FAIL("too many ranges");
            range_case *r = &v->ranges[v->range_count++];
            copy_field(r->range, sizeof r->range, fld[1]);
            r->status = atoi(fld[2]);
            copy_field(r->content_range, sizeof r->content_range, strcmp(fld[3], "-") ? fld[3] : "");
            r->len = strtoull(fld[4], NULL, 10);
            copy_field(r->sha256, sizeof r->sha256, strcmp(fld[5], "-") ? fld[5] : "");
        } else {
            FAIL("bad manifest line: %s", fld[0]);
        }
    }
    fclose(f);
    if (m->count == 0) FAIL("no vectors in %s", path);
    return m;
}

static inline void free_manifest(manifest *m) {
    for (size_t i = 0; i < m->count; i++)
        for (size_t h = 0; h < m->vectors[i].header_count; h++) {
            free(m->vectors[i].header_names[h]);
            free(m->vectors[i].header_values[h]);
        }
    free(m);
}

static inline const vector *find_vector(const manifest *m, const char *name) {
    for (size_t i = 0; i < m->count; i++)
        if (!strcmp(m->vectors[i].name, name)) return &m->vectors[i];
    FAIL("no vector %s", name);
}

/* The vector's headers as the library takes them. */
static inline cse_header *vector_headers(const vector *v) {
    cse_header *h = xmalloc(v->header_count * sizeof *h);
    for (size_t i = 0; i < v->header_count; i++) {
        h[i].name = v->header_names[i];
        h[i].name_len = strlen(v->header_names[i]);
        h[i].value = v->header_values[i];
        h[i].value_len = strlen(v->header_values[i]);
    }
    return h;
}

static inline cse_master_key *load_pem_key(const char *path, const char *matdesc) {
    size_t len = 0;
    unsigned char *pem = read_file(path, &len);
    cse_master_key *key = NULL;
    OK(cse_master_key_new_rsa_pem((const char *)pem, len, matdesc, matdesc ? strlen(matdesc) : 0,
                                  &key));
    CHECK(key != NULL);
    free(pem);
    return key;
}

/* ---- a recording custom master key: "wraps" by XOR with 0x5c and keeps what it wrapped (the
 * content key and counter block), so a test can check sealed bytes with OpenSSL; `fail_wrap`,
 * `fail_unwrap` and `overlong` make it fail on purpose ---- */
typedef struct {
    unsigned char key[32];
    unsigned char iv[16];
    int wrapped_key, wrapped_iv, unwrapped, freed;
    int fail_wrap, fail_unwrap, overlong;
} recorder;

static inline int32_t record_wrap(void *ctx, const uint8_t *plain, size_t plain_len, uint8_t *out,
                                  size_t out_cap, size_t *out_len) {
    recorder *r = ctx;
    if (r->fail_wrap) return 7;
    if (plain_len == 32) memcpy(r->key, plain, 32), r->wrapped_key++;
    else if (plain_len == 16) memcpy(r->iv, plain, 16), r->wrapped_iv++;
    else return 1;
    if (out_cap < plain_len) return 1;
    for (size_t i = 0; i < plain_len; i++) out[i] = plain[i] ^ 0x5c;
    *out_len = r->overlong ? out_cap + 1 : plain_len;
    return 0;
}

static inline int32_t record_unwrap(void *ctx, const uint8_t *wrapped, size_t wrapped_len,
                                    uint8_t *out, size_t out_len) {
    recorder *r = ctx;
    r->unwrapped++;
    if (r->fail_unwrap || wrapped_len != out_len) return 1;
    for (size_t i = 0; i < out_len; i++) out[i] = wrapped[i] ^ 0x5c;
    return 0;
}

static inline void record_free(void *ctx) { ((recorder *)ctx)->freed++; }

static inline cse_custom_master_key recorder_spec(recorder *r, const char *wrap_alg) {
    cse_custom_master_key spec = {
        .ctx = r, .wrap_alg = wrap_alg, .wrap_alg_len = strlen(wrap_alg),
        .matdesc = "{\"who\":\"test\"}", .matdesc_len = 14, .wrap = record_wrap,
        .unwrap = record_unwrap, .free_ctx = record_free,
    };
    return spec;
}

#endif
