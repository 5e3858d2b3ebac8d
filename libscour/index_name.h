/*
 * index_name.h - the one rule for Elasticsearch/OpenSearch index names that
 * scour accepts, shared by config validation (index_name, --check-config)
 * and the runtime clients (es.c, reindex, router), so a name that passes
 * --check-config never fails later at the cluster.
 *
 * The rule is a whitelist, stricter than the servers' own blacklist (which
 * also allows e.g. '!', '$', '%', non-ASCII): 1-255 bytes of [a-z0-9._+-],
 * not starting with '_', '-' or '+', and not "." or "..". Every name it
 * passes is valid on both servers and safe in a URL path unescaped.
 * Search targets (pattern mode) may also hold '*' and ','.
 *
 * A big channel promoted to an index of its own gets the name
 * sc_index_name_channel() makes from the configured base name.
 *
 * Not here: aliases or date math; scour never sends either.
 */
#ifndef SC_INDEX_NAME_H
#define SC_INDEX_NAME_H

#include "sc.h"

#include <stddef.h>
#include <stdint.h>

/* Longest index name either server accepts, in bytes. */
#define SC_INDEX_NAME_MAX 255

/* SC_OK when name follows the rule above (pattern non-zero: '*' and ','
 * allowed too), else SC_EINVAL with the reason in err (which quotes at most
 * 64 bytes of the name and names the first offending character). err may be
 * NULL. name NULL is SC_EINVAL. */
sc_status sc_index_name_check(const char *name, int pattern, char *err, size_t errlen) SC_MUST_USE;

/* A big channel's own index (docs/reindex.md, "Big channels"):
 * "<base>-ch-<channel_id>", written to out (outlen bytes). SC_OK when the
 * result follows the rule above; SC_EINVAL (reason in err, may be NULL)
 * for a bad base, channel_id 0, or a name that would be too long or not fit
 * in out. */
sc_status sc_index_name_channel(const char *base, uint64_t channel_id, char *out, size_t outlen,
                                char *err, size_t errlen) SC_MUST_USE;

/* Non-zero when name is the own index of a channel under base
 * ("<base>-ch-<digits>", the digits a non-zero id without leading zeros);
 * the id goes to *channel_id (may be NULL). */
int sc_index_name_is_channel(const char *name, const char *base, uint64_t *channel_id);

#endif
