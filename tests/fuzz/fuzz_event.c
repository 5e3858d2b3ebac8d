/*
 * fuzz_event.c - fuzz target for the queue event parser and the document
 * builder (libscour/message.c), the code that takes outside input first.
 *
 * Built with clang -fsanitize=fuzzer -DSC_LIBFUZZER it is a libFuzzer
 * target; without SC_LIBFUZZER it has its own main() that runs the target
 * over each file named on the command line, so gcc (or a plain replay of a
 * crash file) builds and runs it too. See tests/fuzz/README.md.
 *
 * Beyond "no crash, no leak, no UB", it checks invariants and aborts when
 * one breaks: a rejection always carries a reason; an accepted event
 * serialises, re-parses to the same event and serialises to the same bytes;
 * its Elasticsearch document is valid JSON.
 */
#include "buf.h"
#include "message.h"
#include "sc.h"

#include <cJSON.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_event: invariant broken: %s\n", what);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sc_event ev, again;
    sc_buf json, json2, doc;
    char err[SC_ERRLEN] = "";
    cJSON *parsed;
    sc_status st;

    st = sc_event_parse((const char *)data, size, &ev, err, sizeof(err));
    if (st != SC_OK) {
        check(st == SC_EINVAL || st == SC_ENOMEM, "parse status");
        check(err[0] != '\0', "rejection without a reason");
        sc_event_clear(&ev); /* must be safe after a failed parse */
        return 0;
    }

    sc_buf_init(&json, 0);
    sc_buf_init(&json2, 0);
    sc_buf_init(&doc, 0);

    check(sc_event_to_json(&ev, &json) == SC_OK, "serialise");
    check(sc_event_parse(json.data, json.len, &again, err, sizeof(err)) == SC_OK,
          "re-parse of own output");
    check(again.op == ev.op && again.msg.id == ev.msg.id &&
              again.msg.version == ev.msg.version && again.msg.deleted == ev.msg.deleted,
          "round trip keeps identity");
    check(sc_event_to_json(&again, &json2) == SC_OK, "serialise again");
    check(json.len == json2.len && memcmp(json.data, json2.data, json.len) == 0,
          "serialisation is a fixed point");

    check(sc_message_to_doc(&ev.msg, &doc) == SC_OK, "build document");
    parsed = cJSON_ParseWithLength(doc.data, doc.len);
    check(parsed != NULL && cJSON_IsObject(parsed), "document is a JSON object");
    cJSON_Delete(parsed);

    sc_buf_free(&json);
    sc_buf_free(&json2);
    sc_buf_free(&doc);
    sc_event_clear(&again);
    sc_event_clear(&ev);
    return 0;
}

#ifndef SC_LIBFUZZER
/* Replay: run the target over each file given as an argument. */
int main(int argc, char **argv)
{
    int i, failed = 0;
    for (i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        uint8_t *buf = NULL;
        long n;
        if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
            fseek(f, 0, SEEK_SET) != 0) {
            fprintf(stderr, "fuzz_event: cannot read %s\n", argv[i]);
            if (f)
                fclose(f);
            failed = 1;
            continue;
        }
        /* exact-size copy so a sanitizer sees any read past the end */
        buf = malloc(n > 0 ? (size_t)n : 1);
        if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
            fprintf(stderr, "fuzz_event: cannot read %s\n", argv[i]);
            failed = 1;
        } else {
            LLVMFuzzerTestOneInput(buf, (size_t)n);
        }
        free(buf);
        fclose(f);
    }
    if (argc > 1)
        fprintf(stderr, "fuzz_event: ran %d input(s)\n", argc - 1);
    return failed;
}
#endif
