/*
 * jobsql.c - the two job statements the `reindex` program needs that db.h
 * does not offer (yet): claim one job BY ID (`reindex resume JOB`, and a
 * one-shot command running the job it just created) and list jobs
 * (`reindex status`). They use their own short-lived libpq connection.
 * When db.c gains sc_db_job_claim_id / sc_db_job_list, this file goes.
 */
#include "rx.h"

#include <libpq-fe.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static PGconn *connect_db(const char *dsn, char *err, size_t errlen)
{
    PGconn *c = PQconnectdb(dsn);
    if (c == NULL || PQstatus(c) != CONNECTION_OK) {
        sc_seterr(err, errlen, "postgres: %s", c != NULL ? PQerrorMessage(c) : "out of memory");
        PQfinish(c);
        return NULL;
    }
    PQclear(PQexec(c, "SET statement_timeout = 10000"));
    return c;
}

int rx_job_claim_id(const char *dsn, int64_t id, const char *worker, const char *dead_worker,
                    int stale_s, char *err, size_t errlen)
{
    char ids[32], stales[16];
    const char *p[4];
    PGconn *c;
    PGresult *r;
    int rc;
    snprintf(ids, sizeof ids, "%" PRId64, id);
    snprintf(stales, sizeof stales, "%d", stale_s);
    p[0] = ids;
    p[1] = worker;
    p[2] = stales;
    p[3] = dead_worker; /* NULL -> SQL NULL */
    if ((c = connect_db(dsn, err, errlen)) == NULL)
        return -1;
    r = PQexecParams(c,
                     "UPDATE reindex_jobs SET state = 'running', worker = $2::text, error = NULL,"
                     " heartbeat_at = now(), updated_at = now()"
                     " WHERE id = $1::bigint AND (state IN ('queued', 'failed')"
                     "   OR (state = 'running' AND (heartbeat_at IS NULL"
                     "       OR heartbeat_at < now() - make_interval(secs => $3::int)"
                     "       OR worker = $4::text)))"
                     " RETURNING id",
                     4, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        sc_seterr(err, errlen, "claim job %" PRId64 ": %s", id, PQerrorMessage(c));
        rc = -1;
    } else {
        rc = PQntuples(r) == 1;
    }
    PQclear(r);
    PQfinish(c);
    return rc;
}

int rx_job_list(const char *dsn, int limit, char *err, size_t errlen)
{
    char lim[16];
    const char *p[1];
    PGconn *c;
    PGresult *r;
    int i, n;
    snprintf(lim, sizeof lim, "%d", limit);
    p[0] = lim;
    if ((c = connect_db(dsn, err, errlen)) == NULL)
        return -1;
    r = PQexecParams(c,
                     "SELECT id, kind, coalesce(target, ''), coalesce(to_cluster, ''), state, phase,"
                     " done, total, coalesce(worker, ''),"
                     " coalesce(extract(epoch FROM now() - heartbeat_at)::bigint::text, '-'),"
                     " coalesce(error, '')"
                     " FROM reindex_jobs ORDER BY id DESC LIMIT $1::int",
                     1, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        sc_seterr(err, errlen, "list jobs: %s", PQerrorMessage(c));
        PQclear(r);
        PQfinish(c);
        return -1;
    }
    n = PQntuples(r);
    printf("%-8s %-8s %-24s %-12s %-10s %-5s %-22s %-24s %-6s %s\n", "JOB", "KIND", "TARGET", "TO",
           "STATE", "PHASE", "DONE/TOTAL", "WORKER", "BEAT", "ERROR");
    for (i = 0; i < n; i++) {
        char prog[64];
        long long done = atoll(PQgetvalue(r, i, 6)), total = atoll(PQgetvalue(r, i, 7));
        snprintf(prog, sizeof prog, "%lld/%lld (%.0f%%)", done, total,
                 total > 0 ? 100.0 * (double)(done > total ? total : done) / (double)total : 0.0);
        printf("%-8s %-8s %-24.24s %-12.12s %-10s %-5s %-22s %-24.24s %-6s %s\n", PQgetvalue(r, i, 0),
               PQgetvalue(r, i, 1), PQgetvalue(r, i, 2), PQgetvalue(r, i, 3), PQgetvalue(r, i, 4),
               PQgetvalue(r, i, 5), prog, PQgetvalue(r, i, 8), PQgetvalue(r, i, 9),
               PQgetvalue(r, i, 10));
    }
    if (n == 0)
        printf("(no jobs)\n");
    PQclear(r);
    PQfinish(c);
    return 0;
}
