/*
 * promote_job.h - the shape of a promotion job (promote.h): its kind, its
 * target text and the schema of the channel index it creates. Both the
 * policy that queues promotions (promote.c) and the reindex engine that runs
 * them (reindex.h) read it, so it sits below both.
 * No I/O, no global state; every function is thread-safe.
 */
#ifndef SC_PROMOTE_JOB_H
#define SC_PROMOTE_JOB_H

#include "sc.h"

#include <stddef.h>
#include <stdint.h>

/* Primary shards an index may have (Elasticsearch and OpenSearch refuse more). */
#define SC_PROMOTE_SHARDS_MAX 1024
/* Job kind of a promotion. */
#define SC_PROMOTE_KIND "promote"

/* Target text of a promotion job: "<channel_id> shards=<N>" into out.
 * SC_EINVAL for channel 0, shards outside 1..SC_PROMOTE_SHARDS_MAX or a
 * buffer too small. */
sc_status sc_promote_target(uint64_t channel_id, int shards, char *out, size_t len) SC_MUST_USE;
/* Parse a promotion target. SC_EINVAL when it is not exactly that form. */
sc_status sc_promote_target_parse(const char *target, uint64_t *channel_id,
                                  int *shards) SC_MUST_USE;

/* A copy of schema_json (a {"settings":...,"mappings":...} object) with
 * settings.index.number_of_shards = shards. malloc'd, free() it; NULL when
 * the schema is not such an object or out of memory. */
char *sc_promote_schema(const char *schema_json, int shards);

#endif
