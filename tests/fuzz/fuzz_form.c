/*
 * fuzz_form.c - fuzz target for request-target decoding (libscour/form.c):
 * the input is what follows the method on a request line, split at '?' the
 * way the router does; the path is %XX-decoded, the query split into pairs
 * and the pairs handed to the search-parameter parser (query.c).
 *
 * Beyond "no crash, no leak, no UB" it aborts when a contract of form.h
 * breaks: decoding never grows the text; an accepted split has no control
 * byte in any key or value and every pair lies inside the buffer; a refused
 * one names a key without control bytes.
 */
#include "form.h"
#include "query.h"
#include "replay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CAP 96

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_form: invariant broken: %s\n", what);
        abort();
    }
}

static int has_ctl(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

static int inside(const char *p, const char *buf, size_t n) { return p >= buf && p <= buf + n; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1), *q, bad[64];
    size_t plen, n = 0;
    int ctl = 0;
    sc_query_param pairs[CAP];
    sc_status st;
    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    q = strchr(buf, '?');
    plen = q != NULL ? (size_t)(q - buf) : strlen(buf);
    if (q != NULL)
        *q++ = '\0';
    check(sc_form_decode(buf, plen, 0, &ctl) <= plen, "decoding grew the path");
    check(ctl || !has_ctl(buf), "control byte in the path not flagged");
    if (q != NULL) {
        size_t qlen = strlen(q);
        st = sc_form_split(q, pairs, CAP, &n, bad, sizeof(bad));
        if (st == SC_OK) {
            sc_search_opts so;
            sc_search_req *req = NULL;
            char err[256];
            check(n <= CAP, "more pairs than the cap");
            for (size_t i = 0; i < n; i++) {
                check(inside(pairs[i].key, q, qlen), "key outside the buffer");
                check(pairs[i].value[0] == '\0' || inside(pairs[i].value, q, qlen),
                      "value outside the buffer");
                check(!has_ctl(pairs[i].key) && !has_ctl(pairs[i].value),
                      "control byte in an accepted pair");
            }
            memset(&so, 0, sizeof(so));
            so.max_channel_ids = 16;
            for (int ep = 0; ep < 2; ep++) {
                if (sc_search_req_parse(pairs, n, ep ? SC_SEARCH_CHANNEL : SC_SEARCH_GUILD, &so,
                                        &req, err, sizeof(err)) == SC_OK)
                    sc_search_req_free(req);
                req = NULL;
            }
        } else if (st == SC_EINVAL) {
            check(!has_ctl(bad), "the refused key holds a control byte");
        } else {
            check(st == SC_ERR && n == CAP, "SC_ERR without a full array");
        }
    }
    free(buf);
    return 0;
}

#ifndef SC_LIBFUZZER
int main(int argc, char **argv) { return sc_fuzz_replay("fuzz_form", argc, argv); }
#endif
