/*
 * fuzz_query.c - fuzz target for the search router's parsers of outside
 * input: the search request parser and query builder plus highlighting
 * (libscour/query.c), the bearer-token verifier (jwt.c) and the cluster
 * response parser and merger (merge.c).
 *
 * The first input byte picks the target (mod 3); the rest is its input:
 *   0  request: lines "key=value" (a line without '=' is a key with an empty
 *      value); bit 7 of the first byte selects the channel endpoint.
 *   1  JWT: the bytes are the token, verified with secret "k".
 *   2  response: the bytes are one cluster's _search response body.
 *
 * Built with clang -fsanitize=fuzzer -DSC_LIBFUZZER it is a libFuzzer
 * target; without SC_LIBFUZZER it has its own main() that runs the target
 * over each file named on the command line, so gcc builds it too (see
 * tests/fuzz/README.md; link query.c, merge.c, jwt.c, cJSON and libcrypto).
 *
 * Beyond "no crash, no leak, no UB" it aborts when an invariant breaks: a
 * rejection carries a reason; the response parser and its cJSON reference
 * give the same status, message and hits; an accepted request builds a body
 * that is a JSON object with the deleted filter; highlights are a JSON array; a merged
 * page is no longer than its limit and in order.
 */
#include "buf.h"
#include "replay.h"
#include "jwt.h"
#include "merge.h"
#include "query.h"
#include "sc.h"

#include <cjson/cJSON.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LINES 700


static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_query: invariant broken: %s\n", what);
        abort();
    }
}

static void fuzz_request(const char *s, size_t n, sc_search_endpoint ep)
{
    static sc_query_param p[MAX_LINES];
    char *copy = malloc(n + 1), *line, *save = NULL;
    size_t np = 0;
    sc_search_req *r = NULL;
    char err[SC_ERRLEN] = "";
    sc_status st;
    static const uint64_t chans[] = {1, 2, 3};

    check(copy != NULL, "malloc");
    memcpy(copy, s, n);
    copy[n] = '\0';
    for (line = strtok_r(copy, "\n", &save); line != NULL && np < MAX_LINES;
         line = strtok_r(NULL, "\n", &save)) {
        char *eq = strchr(line, '=');
        p[np].key = line;
        p[np].value = "";
        if (eq != NULL) {
            *eq = '\0';
            p[np].value = eq + 1;
        }
        np++;
    }
    st = sc_search_req_parse(p, np, ep, NULL, &r, err, sizeof(err));
    if (st != SC_OK) {
        check(st == SC_EINVAL || st == SC_ENOMEM, "parse status");
        check(err[0] != '\0', "rejection without a reason");
        check(r == NULL, "no request on failure");
    } else {
        sc_buf b;
        cJSON *j, *q;
        sc_hl_term t[SC_QUERY_MAX_TERMS];
        size_t nt;
        check(r->limit >= 1 && r->limit <= SC_QUERY_MAX_LIMIT, "limit range");
        check(r->offset <= SC_QUERY_MAX_OFFSET, "offset range");
        sc_buf_init(&b, 0);
        check(sc_query_build(r, chans, 3, r->offset + r->limit, &b) == SC_OK, "build");
        j = cJSON_ParseWithLength(b.data, b.len);
        check(j != NULL && cJSON_IsObject(j), "body is a JSON object");
        q = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "query"), "bool"),
            "must_not");
        check(cJSON_IsArray(q) && cJSON_GetArraySize(q) >= 1, "must_not present");
        check(cJSON_GetObjectItemCaseSensitive(j, "script") == NULL, "no script");
        cJSON_Delete(j);
        /* highlight the input itself */
        sc_buf_reset(&b);
        nt = sc_query_highlight_terms(r, t, SC_QUERY_MAX_TERMS);
        check(sc_highlight(copy, t, nt, &b) == SC_OK, "highlight");
        j = cJSON_ParseWithLength(b.data, b.len);
        check(j != NULL && cJSON_IsArray(j), "highlight is a JSON array");
        cJSON_Delete(j);
        sc_buf_free(&b);
        sc_search_req_free(r);
    }
    free(copy);
}

static void fuzz_jwt(const char *s, size_t n)
{
    char *tok = malloc(n + 1);
    sc_jwt_claims c;
    char err[SC_ERRLEN] = "";
    sc_status st;
    check(tok != NULL, "malloc");
    memcpy(tok, s, n);
    tok[n] = '\0';
    st = sc_jwt_verify(tok, "k", 1790000000, &c, err, sizeof(err));
    if (st == SC_OK) {
        /* whatever verified must re-sign and verify to the same subject */
        sc_buf b;
        sc_jwt_claims c2;
        sc_buf_init(&b, 0);
        check(sc_jwt_sign_hs256(c.user_id, "k", c.exp, &b) == SC_OK, "sign");
        check(sc_jwt_verify(b.data, "k", 1790000000, &c2, err, sizeof(err)) == SC_OK &&
                  c2.user_id == c.user_id,
              "re-signed token verifies");
        sc_buf_free(&b);
    } else {
        check(err[0] != '\0', "rejection without a reason");
    }
    free(tok);
}

static void fuzz_response(const char *s, size_t n)
{
    sc_cluster_result res[2];
    sc_merge_page page;
    char err[SC_ERRLEN] = "";
    char err2[SC_ERRLEN] = "";
    sc_status st = sc_cluster_result_parse(s, n, &res[0], err, sizeof(err));
    /* the fast path must answer exactly as the cJSON reference does */
    sc_status st2 = sc_cluster_result_parse_cjson(s, n, &res[1], err2, sizeof(err2));
    check(st == st2 && strcmp(err, err2) == 0, "fast and cJSON parse agree on the status");
    check(res[0].n == res[1].n && res[0].total == res[1].total &&
              res[0].total_gte == res[1].total_gte && res[0].incomplete == res[1].incomplete &&
              res[0].failed == res[1].failed,
          "fast and cJSON parse agree on the result");
    for (size_t i = 0; i < res[0].n; i++)
        check(res[0].hits[i].id == res[1].hits[i].id &&
                  res[0].hits[i].channel_id == res[1].hits[i].channel_id &&
                  memcmp(&res[0].hits[i].score, &res[1].hits[i].score, sizeof(double)) == 0,
              "fast and cJSON parse agree on every hit");
    sc_cluster_result_clear(&res[1]);
    if (st != SC_OK) {
        check(res[0].failed && res[0].hits == NULL, "failed result is empty");
        check(err[0] != '\0', "rejection without a reason");
    }
    memset(&res[1], 0, sizeof(res[1]));
    res[1].failed = 1;
    for (int mode = 0; mode < 3; mode++) {
        sc_sort_by by = mode == 2 ? SC_SORT_RELEVANCE : SC_SORT_TIMESTAMP;
        sc_sort_order ord = mode == 1 ? SC_ORDER_ASC : SC_ORDER_DESC;
        check(sc_merge(res, 2, by, ord, 1, 5, &page) == SC_OK, "merge");
        check(page.n <= 5 && page.failed >= 1 && page.partial, "page bounds");
        for (size_t i = 1; i < page.n; i++) {
            const sc_hit *a = &page.hits[i - 1], *b = &page.hits[i];
            if (by == SC_SORT_RELEVANCE)
                check(a->score > b->score || (a->score == b->score && a->id > b->id),
                      "relevance order");
            else
                check(ord == SC_ORDER_ASC ? a->id < b->id : a->id > b->id, "id order");
        }
        sc_merge_page_clear(&page);
    }
    sc_cluster_result_clear(&res[0]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s;
    if (size == 0)
        return 0;
    s = (const char *)data + 1;
    switch (data[0] % 3) {
    case 0:
        fuzz_request(s, size - 1, (data[0] & 0x80) ? SC_SEARCH_CHANNEL : SC_SEARCH_GUILD);
        break;
    case 1:
        fuzz_jwt(s, size - 1);
        break;
    default:
        fuzz_response(s, size - 1);
        break;
    }
    return 0;
}

#ifndef SC_LIBFUZZER
int main(int argc, char **argv) { return sc_fuzz_replay("fuzz_query", argc, argv); }
#endif
