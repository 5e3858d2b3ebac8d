/*
 * digest.h - the per-message verification digest: a small number derived
 * from (id, version, deleted) that the document builder stores in every
 * search document (field "digest") and that PostgreSQL computes for its rows
 * with the SQL expression below, so verify (verify.h) can compare a range of
 * a channel by count and by the sum of digests on both sides without reading
 * a single message.
 *
 * The digest is PostgreSQL's own hashint8extended(id, (version << 1) |
 * deleted), a 64-bit lookup3 hash computed inside the server, reduced to 31
 * bits and shifted into 1..2^31. sc_digest() is the same function in C
 * (tests compare the two on the real server). 0 is never a digest: it marks
 * a tombstone written for an id PostgreSQL does not have (verify's repair),
 * which both sides leave out of their sums.
 *
 * Exactness: search engines sum a long field as a double. A sum of at most
 * SC_DIGEST_MAX_DOCS digests stays below 2^53, so it is exact; verify splits
 * any range holding more documents before it trusts a sum.
 */
#ifndef SC_DIGEST_H
#define SC_DIGEST_H

#include <stdint.h>

/* Largest digest (2^31); digests are 1..SC_DIGEST_MAX. */
#define SC_DIGEST_MAX 2147483648ULL
/* Documents whose digests can be summed exactly in a double (2^22 - 1). */
#define SC_DIGEST_MAX_DOCS 4194303LL
/* Digest of an orphan tombstone (an id PostgreSQL does not have). */
#define SC_DIGEST_ORPHAN 0

/* The digest as PostgreSQL computes it, for a row aliased as m of table
 * messages. Keep in step with sc_digest(). */
#define SC_DIGEST_SQL                                                              \
    "((hashint8extended(m.id, (m.version << 1) | (m.deleted_at IS NOT NULL)::int)" \
    " & 2147483647) + 1)"

/* Digest of a message: 1..SC_DIGEST_MAX. version must be >= 0. */
uint64_t sc_digest(uint64_t id, int64_t version, int deleted);

#endif
