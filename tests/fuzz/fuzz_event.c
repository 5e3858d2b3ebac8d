/*
 * fuzz_event.c - fuzz target for the queue event parser and the document
 * builder (libscour/event.c, libscour/esdoc.c), the code that takes outside input first.
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
#include "replay.h"
#include "esdoc.h"
#include "event.h"
#include "sc.h"

#include <cJSON.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


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
int main(int argc, char **argv) { return sc_fuzz_replay("fuzz_event", argc, argv); }
#endif
