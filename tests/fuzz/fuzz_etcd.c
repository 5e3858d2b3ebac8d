/*
 * fuzz_etcd.c - fuzz target for the etcd v3 JSON gateway parsers
 * (libscour/etcd.c): /v3/kv/range answers and /v3/watch stream lines, which
 * carry the cluster view every indexer and router acts on.
 *
 * The first input byte picks the parser (even: watch line, odd: range
 * answer); the rest is its input.
 *
 * Beyond "no crash, no leak, no UB" it aborts when a contract of etcd.h
 * breaks: a failure carries a reason and leaves nothing owned; a parsed list
 * or batch has non-NULL keys and values for every entry; watch events are
 * PUT or DELETE only (RESYNC/SYNCED are the watcher's own) and carry their
 * kv's mod_revision; freeing zeroes.
 */
#include "etcd.h"
#include "replay.h"
#include "sc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_etcd: invariant broken: %s\n", what);
        abort();
    }
}

static void check_kv(const etcd_kv *kv)
{
    check(kv->key != NULL && kv->value != NULL, "key and value present");
    check(kv->key[kv->key_len] == '\0' && kv->value[kv->value_len] == '\0', "terminated");
}

static void fuzz_watch(const char *s, size_t n)
{
    etcd_watch_batch b;
    sc_status st = etcd_watch_parse_line(s, n, &b);
    size_t i;
    if (st == SC_OK) {
        for (i = 0; i < b.n; i++) {
            check(b.events[i].type == ETCD_EV_PUT || b.events[i].type == ETCD_EV_DELETE,
                  "a stream line carries only PUT and DELETE");
            check_kv(&b.events[i].kv);
            check(b.events[i].revision == b.events[i].kv.mod_revision,
                  "event revision is the kv's");
        }
    } else {
        check(st == SC_ERR || st == SC_EPROTO || st == SC_ENOMEM, "status");
        check(b.err[0] != '\0', "failure without a reason");
    }
    etcd_watch_batch_free(&b);
    check(b.events == NULL && b.n == 0, "free zeroes the batch");
}

static void fuzz_range(const char *s, size_t n)
{
    etcd_kv_list l;
    char err[SC_ERRLEN] = "";
    sc_status st;
    size_t i;
    memset(&l, 0, sizeof(l));
    st = etcd_parse_range(s, n, &l, err, sizeof(err));
    if (st == SC_OK) {
        for (i = 0; i < l.n; i++)
            check_kv(&l.kvs[i]);
    } else {
        check(st == SC_EPROTO || st == SC_ENOMEM, "status");
        check(err[0] != '\0', "failure without a reason");
    }
    etcd_kv_list_free(&l);
    check(l.kvs == NULL && l.n == 0, "free zeroes the list");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] & 1)
        fuzz_range((const char *)data + 1, size - 1);
    else
        fuzz_watch((const char *)data + 1, size - 1);
    return 0;
}

#ifndef SC_LIBFUZZER
int main(int argc, char **argv) { return sc_fuzz_replay("fuzz_etcd", argc, argv); }
#endif
