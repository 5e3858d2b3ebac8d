/*
 * fuzz_bulk.c - fuzz target for the _bulk response parser (libscour/bulk.c),
 * the answer every indexer and reindex write trusts to decide what is acked,
 * retried or dead-lettered.
 *
 * Input: the first byte is the number of actions the request carried
 * (0-255); the rest is the response body.
 *
 * Beyond "no crash, no leak, no UB" it aborts when the parser's contract
 * (bulk.h) breaks: SC_OK gives exactly `expected` items whose class counters
 * add up and agree with each item's status; SC_ERR and SC_EPROTO give no
 * items and a reason; an item's class is the classification of its status.
 */
#include "bulk.h"
#include "replay.h"
#include "sc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_bulk: invariant broken: %s\n", what);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sc_bulk_result r;
    char err[SC_ERRLEN] = "";
    size_t expected, i, ok = 0, conflict = 0, retry = 0, reject = 0;
    sc_status st;

    if (size < 1)
        return 0;
    expected = data[0];
    st = sc_bulk_parse((const char *)data + 1, size - 1, expected, &r, err, sizeof(err));
    if (st == SC_OK) {
        check(r.n == expected, "SC_OK with the expected item count");
        check(expected == 0 || r.items != NULL, "items present");
        for (i = 0; i < r.n; i++) {
            const sc_bulk_item *it = &r.items[i];
            check(it->cls == sc_bulk_classify(it->status), "item class follows its status");
            check(memchr(it->error_type, '\0', sizeof(it->error_type)) != NULL,
                  "error_type terminated");
            check(memchr(it->reason, '\0', sizeof(it->reason)) != NULL, "reason terminated");
            switch (it->cls) {
            case SC_BULK_OK:
                ok++;
                break;
            case SC_BULK_CONFLICT:
                conflict++;
                break;
            case SC_BULK_RETRY:
                retry++;
                break;
            case SC_BULK_REJECT:
                reject++;
                break;
            }
        }
        check(ok == r.n_ok && conflict == r.n_conflict && retry == r.n_retry &&
                  reject == r.n_reject,
              "class counters agree with the items");
    } else {
        check(st == SC_ERR || st == SC_EPROTO || st == SC_ENOMEM, "status");
        check(r.n == 0 && r.items == NULL, "no items on failure");
        check(err[0] != '\0', "failure without a reason");
        if (st == SC_ERR)
            check(r.req_cls == sc_bulk_classify(r.req_status), "request class follows its status");
    }
    sc_bulk_result_free(&r);
    check(r.items == NULL && r.n == 0, "free zeroes the result");
    return 0;
}

#ifndef SC_LIBFUZZER
int main(int argc, char **argv) { return sc_fuzz_replay("fuzz_bulk", argc, argv); }
#endif
