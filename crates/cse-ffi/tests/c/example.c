/* Seals an object with an RSA master key, then opens it again from its headers.
 * Build: cc example.c -Iinclude target/debug/libcse_ffi.a -lpthread -ldl -lm
 * Run:   ./a.out private-key.pem */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cse.h"

/* Prints the failed call and the library's message, and exits. */
#define TRY(call)                                                                    \
    do {                                                                             \
        cse_status status_ = (call);                                                 \
        if (status_ != CSE_STATUS_OK) {                                              \
            char msg_[512];                                                          \
            size_t len_;                                                             \
            cse_last_error_message(msg_, sizeof msg_, &len_);                        \
            fprintf(stderr, "%s: %s: %s\n", #call, cse_status_name(status_), msg_);  \
            exit(1);                                                                 \
        }                                                                            \
    } while (0)

int main(int argc, char **argv) {
    if (argc != 2) return 2;
    char pem[8192];
    FILE *f = fopen(argv[1], "r");
    size_t pem_len = f ? fread(pem, 1, sizeof pem, f) : 0;
    if (f) fclose(f);

    cse_master_key *key;
    TRY(cse_master_key_new_rsa_pem(pem, pem_len, NULL, 0, &key));

    /* Seal: a fresh content key and counter block, wrapped by the master key. */
    const char *text = "hello, object storage";
    size_t len = strlen(text);
    cse_sealed_envelope *sealed;
    TRY(cse_sealed_envelope_new(key, &sealed));
    TRY(cse_sealed_envelope_set_unencrypted_content_length(sealed, len));

    /* The request headers: ask for the sizes, then encode into buffers of those sizes. */
    cse_envelope *envelope;
    TRY(cse_sealed_envelope_envelope(sealed, &envelope));
    size_t count = 0, text_len = 0;
    cse_status sizing = cse_envelope_encode_headers(envelope, NULL, 0, NULL, 0, &count, NULL, 0, &text_len);
    if (sizing != CSE_STATUS_BUFFER_TOO_SMALL) return 1;
    cse_header *headers = malloc(count * sizeof *headers);
    char *header_text = malloc(text_len);
    TRY(cse_envelope_encode_headers(envelope, NULL, 0, headers, count, &count, header_text, text_len, &text_len));
    for (size_t i = 0; i < count; i++) printf("%s: %s\n", headers[i].name, headers[i].value);

    /* The body, sealed in chunks of 8 bytes into a separate buffer. */
    unsigned char body[64];
    cse_sealer *sealer;
    TRY(cse_sealed_envelope_sealer(sealed, &sealer));
    for (size_t at = 0; at < len; at += 8) {
        size_t n = len - at < 8 ? len - at : 8, written;
        TRY(cse_sealer_update(sealer, (const uint8_t *)text + at, n, body + at, sizeof body - at, &written));
    }
    TRY(cse_sealer_finish(sealer, NULL)); /* refuses anything but the declared length */

    /* Open: decode the headers as a GET returns them, unwrap, decrypt in place. */
    cse_envelope *received;
    TRY(cse_envelope_decode(headers, count, NULL, 0, &received));
    cse_material *material;
    TRY(cse_envelope_open(received, key, &material));
    cse_opener *opener;
    TRY(cse_opener_new_whole(received, material, &opener));
    size_t offset, kept;
    TRY(cse_opener_update_in_place(opener, body, len, &offset, &kept));
    TRY(cse_opener_finish(opener, NULL)); /* CSE_STATUS_TRUNCATED if the body was cut */
    printf("%.*s\n", (int)kept, (const char *)body + offset);
    int same = kept == len && memcmp(body + offset, text, len) == 0;

    cse_opener_free(opener);
    cse_material_free(material);
    cse_envelope_free(received);
    cse_sealer_free(sealer);
    free(header_text);
    free(headers);
    cse_envelope_free(envelope);
    cse_sealed_envelope_free(sealed);
    cse_master_key_free(key);
    return same ? 0 : 1;
}
