/*
 * dirty.h - the dirty marks of refresh on read: after a _bulk to a
 * (cluster, index) is accepted, the indexer sets "<ns>:dirty:<cluster>:
 * <index>" to a fresh mark; the router, seeing a mark on an index it is
 * about to search, refreshes the index first and then replaces the mark by
 * its clean twin with a compare-and-set (SC_DIRTY_CLEAN_LUA), so a bulk
 * accepted while the refresh ran keeps its own mark. See docs/router.md
 * "Refresh on read".
 *
 * Mark values, one line:
 *   "d<wall_ms>.<token>"  dirty: written at wall_ms; token (16 hex digits)
 *                         makes every mark unique
 *   "c<wall_ms>.<token>"  clean: the refresh of that mark is done
 * A value that does not parse reads as clean. Keys carry a TTL
 * (refresh_mark_ttl_s); a dirty mark older than the TTL is ignored.
 *
 * Not here: sending the commands (ingest_worker.c, router/fresh.c).
 */
#ifndef SC_DIRTY_H
#define SC_DIRTY_H

#include "sc.h"

#include <stddef.h>
#include <stdint.h>

#define SC_DIRTY_KEY_MAX 400
#define SC_DIRTY_VAL_MAX 48

/* The mark key of (cluster, index) under namespace ns, into buf. */
void sc_dirty_key(const char *ns, const char *cluster, const char *index, char *buf, size_t len);

/* A new dirty mark written at wall_ms with token, into buf (>= SC_DIRTY_VAL_MAX). */
void sc_dirty_value(int64_t wall_ms, uint64_t token, char *buf, size_t len);

typedef enum sc_dirty_state {
    SC_DIRTY_CLEAN = 0, /* no key, a clean value, or one that does not parse */
    SC_DIRTY_DIRTY = 1, /* a dirty mark younger than the TTL: refresh first */
    SC_DIRTY_STALE = 2  /* a dirty mark older than the TTL: ignored */
} sc_dirty_state;

/* What value v (NULL = no key) says at wall time now_ms with ttl_s. */
sc_dirty_state sc_dirty_parse(const char *v, int64_t now_ms, int ttl_s);

/* Lua for EVAL with KEYS[1] = the key, ARGV[1] = the dirty value read,
 * ARGV[2] = TTL seconds: when the key still holds ARGV[1], set it to the
 * clean twin ('d' -> 'c') with the TTL and return 1; else return 0. */
extern const char SC_DIRTY_CLEAN_LUA[];

#endif
