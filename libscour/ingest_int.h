/*
 * ingest_int.h - the delivery engine's state, shared by its two halves:
 * ingest.c (taking entries in, completing them) and ingest_send.c (one
 * _bulk at a time per destination, classifying its items). Not part of the
 * library's interface: only those two files include it.
 */
#ifndef SC_INGEST_INT_H
#define SC_INGEST_INT_H

#include "bulk.h"
#include "ingest.h"

/* Log with the engine's context ("indexer[0]: ..."). */
#define IG_LOG(lvl, g, fmt, ...) log_##lvl("%s: " fmt, (g)->name, __VA_ARGS__)

/* One stream entry in memory. */
typedef struct ig_entry {
    char id[SC_QUEUE_IDLEN]; /* stream id */
    char *payload;           /* owned, NUL-terminated; NULL without an 'e' field */
    size_t len;              /* payload bytes */
    int ops_left;            /* operations not yet accepted or given up */
    int dead;                /* 1: dead-letter it (reason set); 2: written */
    int parked;              /* dropped from memory, not acked */
    char reason[800];        /* dead-letter reason */
    struct ig_entry *next;   /* list in read order */
    struct ig_entry *prev;
} ig_entry;

/* One index operation waiting for its destination. */
typedef struct ig_op {
    ig_entry *e;         /* ref: the entry it came from */
    uint64_t channel_id; /* for re-resolving a gone cluster */
    uint64_t id;         /* message id = _id */
    int64_t version;     /* external version */
    char *doc;           /* owned, one-line JSON */
    size_t doc_len;      /* bytes of doc */
} ig_op;

/* A (cluster, index) destination with its queue of operations. */
typedef struct ig_dest {
    char cluster[SC_CLUSTER_NAME_MAX];
    char index[128];
    ig_op *ops;      /* owned array, oldest first */
    size_t n, cap;   /* used / allocated ops */
    int ensured;     /* io->ensure_index succeeded once */
    int dirty;       /* accepted writes not yet marked (io->ack_mark) */
    int backoff_ms;  /* current backoff; 0 after a success */
    int64_t next_ms; /* earliest time to send (monotonic ms) */
} ig_dest;

struct sc_ingest {
    sc_ingest_io io;     /* copy */
    sc_ingest_metrics m; /* copy; NULL families are skipped */
    char name[64];       /* log context */
    int batch_count;
    uint64_t batch_bytes;
    int retry_base_ms, retry_max_ms;
    int64_t max_deliveries;
    uint64_t inflight_max;
    const volatile sig_atomic_t *stop; /* ref, may be NULL */
    ig_dest *dests;                    /* owned array */
    size_t n_dests;
    ig_entry *head, *tail; /* entries in memory, read order */
    size_t n_entries;
    uint64_t inflight;      /* payload bytes of live (not parked) entries */
    int64_t inflight_delta; /* change of inflight not yet added to the gauge */
    unsigned int rng;       /* jitter */
    sc_buf doc;             /* scratch */
    sc_bulk bulk;           /* scratch */
    sc_buf resp;            /* scratch */
};

/* Count n events at stage st (the events metric), when n > 0. */
void ig_stage(sc_ingest *g, const char *st, double n);
/* Mark e to be dead-lettered with reason fmt/detail (the first reason wins). */
void ig_entry_kill(ig_entry *e, const char *fmt, const char *detail);
/* The destination (cluster, index), created empty if new; NULL when out of
 * memory. May move g->dests. */
ig_dest *ig_dest_get(sc_ingest *g, const char *cluster, const char *index);
/* Append op to d (takes ownership of op->doc) and count it on its entry. */
sc_status ig_dest_push(ig_dest *d, const ig_op *op);
/* Back d off: double its delay (jittered, up to retry_max_ms). */
void ig_backoff(sc_ingest *g, ig_dest *d);

#endif
