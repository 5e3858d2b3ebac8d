/*
 * verify.c - the verify/repair engine's handle (see verify.h for what is
 * compared and how repair stays safe next to live indexing): create, free,
 * the last failure, the outcome names.
 *
 * The engine is written in layers, each file one concern, arrows running
 * down only: verify_channel.c (one channel's passes) over verify_compare.c
 * (bucket sums, range splitting, the id diff at the leaves) and
 * verify_stale.c (copies on indices the binding does not name), both over
 * verify_repair.c (the writes) and verify_es.c (the engine's side of every
 * comparison), all over this file. Never prints.
 */
#include "verify_int.h"

#include <stdlib.h>

const char *sc_verify_outcome_str(sc_verify_outcome o)
{
    switch (o) {
    case SC_VERIFY_AGREE:
        return "agree";
    case SC_VERIFY_DRIFT:
        return "drift";
    case SC_VERIFY_REPAIRED:
        return "repaired";
    }
    return "?";
}

sc_verifier *sc_verifier_create(const sc_verify_opts *o, char *err, size_t errlen)
{
    sc_verifier *v;
    if (o == NULL || o->db == NULL || o->rx == NULL || o->view == NULL) {
        sc_seterr(err, errlen, "verify: db, rx and view are required");
        return NULL;
    }
    if ((o->fanout != 0 && (o->fanout < 2 || o->fanout > 64)) ||
        (o->leaf != 0 && (o->leaf < 1 || o->leaf > 5000))) {
        sc_seterr(err, errlen, "verify: fanout must be 2..64 and leaf 1..5000");
        return NULL;
    }
    v = calloc(1, sizeof *v);
    if (v == NULL) {
        sc_seterr(err, errlen, "verify: out of memory");
        return NULL;
    }
    v->db = o->db;
    v->rx = o->rx;
    v->view = o->view;
    v->repair = o->repair;
    v->fanout = o->fanout ? o->fanout : 16;
    v->leaf = o->leaf ? o->leaf : 100;
    v->stop = o->stop;
    sc_buf_init(&v->body, 0);
    sc_buf_init(&v->resp, 0);
    return v;
}

void sc_verifier_free(sc_verifier *v)
{
    if (v == NULL)
        return;
    sc_buf_free(&v->body);
    sc_buf_free(&v->resp);
    free(v);
}

const char *sc_verifier_errstr(const sc_verifier *v)
{
    return v != NULL ? v->errstr : "verify: no handle";
}
