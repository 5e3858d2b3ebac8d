/*
 * tools/bulk-ceiling.c - the "ceiling" the indexer is measured against: how
 * fast one cluster accepts the indexer's own documents when nothing else is
 * in the way (no Redis, no parsing, no binding lookups during the clock).
 *
 *   bulk-ceiling [options] ES_URL INDEX [EVENTS.jsonl]      (default: stdin)
 *
 * It reads queue events (JSON lines, schemas/events/), builds each document
 * exactly as the indexer does (sc_event_parse, sc_message_to_doc) and the
 * NDJSON bodies with sc_bulk_add_index in batches of --batch-count /
 * --batch-bytes (the indexer's options, same defaults), holding every body
 * in memory. Only then does the clock start: --workers threads (the indexer's
 * worker count), each with its own keep-alive es_client, POST the bodies to
 * _bulk until none is left. Items answered 429/5xx are sent again (the whole
 * body, as external versions make that safe) after a short pause.
 *
 * Output: a few human lines on stderr and one machine line on stdout:
 *   RESULT events=N bodies=N bytes=N seconds=S events_per_s=R cpu_s=C
 *          cpu_ms_per_1k=M conflicts=N rejected=N retries=N build_s=S
 * cpu_s is this process's user+system time during the timed phase.
 *
 * Options (besides the common scour options --workers, --batch-count,
 * --batch-bytes, --es-*, --index-schema; see docs/config.md):
 *   --create   create INDEX first from --index-schema (replicas and refresh
 *              interval from --es-replicas / --es-refresh-interval)
 *   --refresh  refresh INDEX after the timed phase (not timed)
 *   --print-query CHANNEL_ID TEXT
 *              print instead the _search body the router sends to a cluster
 *              for a channel search of TEXT (sc_search_req_parse +
 *              sc_query_build, default limit), so the "direct OpenSearch"
 *              baseline of the benchmark asks exactly the same question
 * Exit: 0 ok, 1 a request or document failed, 2 usage/config error.
 *
 * Not here: Redis, PostgreSQL, bindings - this is deliberately the bare
 * write path. The benchmark (bench/run.sh) compares the indexer against it.
 */
#include "buf.h"
#include "bulk.h"
#include "clients.h"
#include "config.h"
#include "es.h"
#include "esdoc.h"
#include "event.h"
#include "query.h"
#include "sc.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* One prepared _bulk body. */
typedef struct body {
    char *data; /* owned (free()); NDJSON, ends in '\n' */
    size_t len; /* bytes */
    size_t ops; /* actions in it */
} body;

/* State shared by the sender threads. */
typedef struct run {
    const sc_config *cfg;    /* ref: options (timeouts, auth) */
    const char *url;         /* ref: cluster base URL (argv) */
    body *bodies;            /* ref: every prepared body */
    size_t n_bodies;         /* entries in bodies */
    atomic_size_t next;      /* next body to send */
    pthread_barrier_t start; /* all clients connected: start the clock */
    atomic_ullong conflicts; /* items answered 409 */
    atomic_ullong rejected;  /* items answered 4xx (not 409/429) */
    atomic_ullong retries;   /* bodies sent again after 429/5xx */
    atomic_int failed;       /* a request failed for good */
    char err[SC_ERRLEN];     /* first failure (guarded by err_mu) */
    pthread_mutex_t err_mu;  /* protects err */
} run;

static void run_fail(run *r, const char *fmt, const char *a, const char *b)
{
    pthread_mutex_lock(&r->err_mu);
    if (r->err[0] == '\0')
        sc_seterr(r->err, sizeof r->err, fmt, a, b);
    pthread_mutex_unlock(&r->err_mu);
    atomic_store(&r->failed, 1);
}

static es_client *make_client(const sc_config *cfg, const char *url, char *err, size_t errlen)
{
    es_opts o;
    sc_clients_base_opts(cfg, &o);
    o.url = url;
    return es_client_create(&o, err, errlen);
}

static void *sender(void *arg)
{
    run *r = arg;
    char err[SC_ERRLEN];
    sc_buf resp;
    es_client *es = make_client(r->cfg, r->url, err, sizeof err);

    sc_buf_init(&resp, 0);
    if (es == NULL) {
        run_fail(r, "client: %s%s", err, "");
    } else if (es_request(es, "GET", "/", NULL, 0, NULL, NULL) != SC_OK) {
        /* Connect before the clock starts, as a running indexer already is. */
        run_fail(r, "connect: %s%s", es_errstr(es), "");
    }
    pthread_barrier_wait(&r->start);
    while (es != NULL && !atomic_load(&r->failed)) {
        size_t i = atomic_fetch_add(&r->next, 1);
        int attempt;
        if (i >= r->n_bodies)
            break;
        for (attempt = 0;; attempt++) {
            long st = 0;
            sc_bulk_result res;
            sc_status s = es_bulk(es, r->bodies[i].data, r->bodies[i].len, &resp, &st);
            if (s != SC_OK) {
                if ((st == 429 || st >= 500 || s == SC_ETIMEOUT || s == SC_ECONN) && attempt < 20) {
                    atomic_fetch_add(&r->retries, 1);
                    usleep(100000);
                    continue;
                }
                run_fail(r, "bulk: %s%s", es_errstr(es), "");
                break;
            }
            s = sc_bulk_parse(resp.data, resp.len, r->bodies[i].ops, &res, err, sizeof err);
            if (s != SC_OK) {
                sc_bulk_result_free(&res);
                run_fail(r, "bulk response: %s%s", err, "");
                break;
            }
            atomic_fetch_add(&r->conflicts, res.n_conflict);
            atomic_fetch_add(&r->rejected, res.n_reject);
            if (res.n_reject > 0) {
                size_t k;
                for (k = 0; k < res.n; k++) {
                    if (res.items[k].cls == SC_BULK_REJECT) {
                        run_fail(r, "document rejected: %s: %s", res.items[k].error_type,
                                 res.items[k].reason);
                        break;
                    }
                }
            }
            if (res.n_retry > 0 && attempt < 20) {
                sc_bulk_result_free(&res);
                atomic_fetch_add(&r->retries, 1);
                usleep(100000);
                continue;
            }
            if (res.n_retry > 0)
                run_fail(r, "bulk: items still failing after %s retries%s", "20", "");
            sc_bulk_result_free(&res);
            break;
        }
    }
    sc_buf_free(&resp);
    es_client_free(es);
    return NULL;
}

static double cpu_seconds(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0.0;
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

/* Take a finished body out of b into the list. Returns 0, or -1 on ENOMEM. */
static int push_body(body **list, size_t *n, size_t *cap, sc_bulk *b)
{
    body *nb;
    if (sc_bulk_count(b) == 0)
        return 0;
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 256;
        nb = realloc(*list, ncap * sizeof **list);
        if (nb == NULL)
            return -1;
        *list = nb;
        *cap = ncap;
    }
    (*list)[*n].ops = sc_bulk_count(b);
    (*list)[*n].len = sc_bulk_bytes(b);
    (*list)[*n].data = sc_buf_steal(&b->body);
    if ((*list)[*n].data == NULL)
        return -1;
    (*n)++;
    sc_bulk_reset(b);
    return 0;
}

/* Read every event from f and build the bodies. Returns 0 or 1 (message printed). */
static int build_bodies(FILE *f, const sc_config *cfg, const char *index, body **out, size_t *n_out,
                        size_t *events_out, size_t *bytes_out)
{
    char *line = NULL;
    size_t linecap = 0, cap = 0, lineno = 0;
    ssize_t len;
    sc_bulk b;
    sc_buf doc;
    char err[SC_ERRLEN];
    int rc = 0;

    sc_bulk_init(&b, 0);
    sc_buf_init(&doc, 0);
    *out = NULL;
    *n_out = *events_out = *bytes_out = 0;
    while ((len = getline(&line, &linecap, f)) >= 0) {
        sc_event ev;
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (len == 0)
            continue;
        if (sc_event_parse(line, (size_t)len, &ev, err, sizeof err) != SC_OK) {
            fprintf(stderr, "bulk-ceiling: line %zu: %s\n", lineno, err);
            rc = 1;
            break;
        }
        sc_buf_reset(&doc);
        if (sc_message_to_doc(&ev.msg, &doc) != SC_OK ||
            sc_bulk_add_index(&b, index, ev.msg.id, ev.msg.version, doc.data, doc.len) != SC_OK) {
            fprintf(stderr, "bulk-ceiling: line %zu: cannot build the document\n", lineno);
            sc_event_clear(&ev);
            rc = 1;
            break;
        }
        sc_event_clear(&ev);
        (*events_out)++;
        if (sc_bulk_full(&b, (size_t)cfg->batch_count, (size_t)cfg->batch_bytes)) {
            *bytes_out += sc_bulk_bytes(&b);
            if (push_body(out, n_out, &cap, &b) != 0) {
                fprintf(stderr, "bulk-ceiling: out of memory\n");
                rc = 1;
                break;
            }
        }
    }
    if (rc == 0) {
        *bytes_out += sc_bulk_bytes(&b);
        if (push_body(out, n_out, &cap, &b) != 0) {
            fprintf(stderr, "bulk-ceiling: out of memory\n");
            rc = 1;
        }
    }
    free(line);
    sc_buf_free(&doc);
    sc_bulk_free(&b);
    return rc;
}

static int create_index(const sc_config *cfg, const char *url, const char *index)
{
    char err[SC_ERRLEN];
    sc_buf schema;
    sc_status st;
    int rc = 0;
    es_client *es = make_client(cfg, url, err, sizeof err);

    if (es == NULL) {
        fprintf(stderr, "bulk-ceiling: %s\n", err);
        return 1;
    }
    sc_buf_init(&schema, 1 << 20);
    st = sc_buf_read_file(&schema, cfg->index_schema);
    if (st == SC_ENOTFOUND) {
        fprintf(stderr, "bulk-ceiling: cannot open index schema %s\n", cfg->index_schema);
        sc_buf_free(&schema);
        es_client_free(es);
        return 2;
    }
    if (st != SC_OK)
        rc = 1;
    if (rc == 0 && es_ensure_index(es, index, schema.data ? schema.data : "") != SC_OK) {
        fprintf(stderr, "bulk-ceiling: create index %s: %s\n", index, es_errstr(es));
        rc = 1;
    }
    sc_buf_free(&schema);
    es_client_free(es);
    return rc;
}

/* --print-query: the router's per-cluster body for a channel search. */
static int print_query(const char *channel, const char *text)
{
    sc_query_param p = {"content", text};
    sc_search_req *req = NULL;
    char err[SC_ERRLEN];
    uint64_t ch;
    sc_buf out;
    int rc = 0;

    if (sc_parse_u64(channel, &ch) != SC_OK) {
        fprintf(stderr, "bulk-ceiling: bad channel id '%s'\n", channel);
        return 2;
    }
    if (sc_search_req_parse(&p, 1, SC_SEARCH_CHANNEL, NULL, &req, err, sizeof err) != SC_OK) {
        fprintf(stderr, "bulk-ceiling: %s\n", err);
        return 2;
    }
    sc_buf_init(&out, 0);
    if (sc_query_build(req, &ch, 1, (size_t)req->offset + req->limit, &out) != SC_OK) {
        fprintf(stderr, "bulk-ceiling: cannot build the query\n");
        rc = 1;
    } else {
        printf("%s\n", out.data);
    }
    sc_buf_free(&out);
    sc_search_req_free(req);
    return rc;
}

static const char usage_text[] =
    "usage: bulk-ceiling [options] ES_URL INDEX [EVENTS.jsonl]\n"
    "Time raw _bulk writes of the indexer's documents to one cluster (the ceiling).\n"
    "  --create   create INDEX from --index-schema first\n"
    "  --refresh  refresh INDEX afterwards (untimed)\n"
    "   or: bulk-ceiling --print-query CHANNEL_ID TEXT   (the router's _search body)\n"
    "options (the indexer's: --workers, --batch-count, --batch-bytes, --es-*):\n";

int main(int argc, char **argv)
{
    sc_config cfg;
    sc_config_cli cli;
    char err[SC_ERRLEN];
    int i, o = 1, want_create = 0, want_refresh = 0, rc = 0;
    const char *url, *index;
    FILE *in = stdin;
    body *bodies = NULL;
    size_t n_bodies = 0, events = 0, bytes = 0, k;
    double t0, t_built, cpu0, cpu1, wall;
    int64_t us0, us1;
    pthread_t *th = NULL;
    run r;

    if (argc == 4 && strcmp(argv[1], "--print-query") == 0)
        return print_query(argv[2], argv[3]);
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--create") == 0)
            want_create = 1;
        else if (strcmp(argv[i], "--refresh") == 0)
            want_refresh = 1;
        else
            argv[o++] = argv[i];
    }
    argc = o;
    argv[argc] = NULL;
    memset(&cli, 0, sizeof cli);
    if (sc_config_load(&cfg, argc, argv, &cli, err, sizeof err) != SC_OK) {
        fprintf(stderr, "bulk-ceiling: %s\n", err);
        sc_config_cli_free(&cli);
        sc_config_free(&cfg);
        return 2;
    }
    if (cli.help) {
        sc_buf h;
        sc_buf_init(&h, 0);
        fputs(usage_text, stdout);
        if (sc_config_help(&h, SC_PROG_INDEXER) == SC_OK && h.data != NULL)
            fputs(h.data, stdout);
        sc_buf_free(&h);
        goto done;
    }
    if (sc_config_validate(&cfg, SC_PROG_INDEXER, err, sizeof err) != SC_OK) {
        fprintf(stderr, "bulk-ceiling: %s\n", err);
        rc = 2;
        goto done;
    }
    if (cli.nargs < 2 || cli.nargs > 3) {
        fputs(usage_text, stderr);
        rc = 2;
        goto done;
    }
    url = cli.args[0];
    index = cli.args[1];
    if (!es_index_name_ok(index, 0)) {
        fprintf(stderr, "bulk-ceiling: bad index name '%s'\n", index);
        rc = 2;
        goto done;
    }
    if (cli.nargs == 3 && strcmp(cli.args[2], "-") != 0) {
        in = fopen(cli.args[2], "r");
        if (in == NULL) {
            fprintf(stderr, "bulk-ceiling: cannot open %s\n", cli.args[2]);
            rc = 2;
            goto done;
        }
    }
    if (want_create && (rc = create_index(&cfg, url, index)) != 0)
        goto done;

    t0 = (double)sc_now_us() / 1e6;
    rc = build_bodies(in, &cfg, index, &bodies, &n_bodies, &events, &bytes);
    if (in != stdin)
        fclose(in);
    if (rc != 0)
        goto done;
    t_built = (double)sc_now_us() / 1e6;
    fprintf(stderr, "bulk-ceiling: %zu events in %zu bodies (%.1f MiB) built in %.2f s\n", events,
            n_bodies, (double)bytes / 1048576.0, t_built - t0);

    memset(&r, 0, sizeof r);
    r.cfg = &cfg;
    r.url = url;
    r.bodies = bodies;
    r.n_bodies = n_bodies;
    atomic_init(&r.next, 0);
    pthread_mutex_init(&r.err_mu, NULL);
    pthread_barrier_init(&r.start, NULL, (unsigned)cfg.workers + 1);
    th = calloc((size_t)cfg.workers, sizeof *th);
    if (th == NULL) {
        fprintf(stderr, "bulk-ceiling: out of memory\n");
        rc = 1;
        goto done;
    }
    for (i = 0; i < cfg.workers; i++) {
        if (pthread_create(&th[i], NULL, sender, &r) != 0) {
            /* Cannot meet the barrier count any more: fail hard, at start-up. */
            fprintf(stderr, "bulk-ceiling: cannot start thread %d\n", i);
            exit(1);
        }
    }
    pthread_barrier_wait(&r.start);
    cpu0 = cpu_seconds();
    us0 = sc_now_us();
    for (i = 0; i < cfg.workers; i++)
        pthread_join(th[i], NULL);
    us1 = sc_now_us();
    cpu1 = cpu_seconds();
    wall = (double)(us1 - us0) / 1e6;
    pthread_barrier_destroy(&r.start);
    pthread_mutex_destroy(&r.err_mu);

    if (atomic_load(&r.failed)) {
        fprintf(stderr, "bulk-ceiling: %s\n", r.err);
        rc = 1;
    }
    if (rc == 0 && want_refresh) {
        es_client *es = make_client(&cfg, url, err, sizeof err);
        if (es == NULL || es_refresh(es, index) != SC_OK) {
            fprintf(stderr, "bulk-ceiling: refresh: %s\n", es ? es_errstr(es) : err);
            rc = 1;
        }
        es_client_free(es);
    }
    fprintf(stderr,
            "bulk-ceiling: %zu events with %d workers in %.3f s = %.0f events/s, cpu %.2f s\n",
            events, cfg.workers, wall, wall > 0 ? (double)events / wall : 0.0, cpu1 - cpu0);
    printf("RESULT events=%zu bodies=%zu bytes=%zu seconds=%.4f events_per_s=%.1f cpu_s=%.3f "
           "cpu_ms_per_1k=%.2f conflicts=%llu rejected=%llu retries=%llu build_s=%.3f workers=%d "
           "batch_count=%d\n",
           events, n_bodies, bytes, wall, wall > 0 ? (double)events / wall : 0.0, cpu1 - cpu0,
           events ? (cpu1 - cpu0) * 1e6 / (double)events : 0.0,
           (unsigned long long)atomic_load(&r.conflicts),
           (unsigned long long)atomic_load(&r.rejected),
           (unsigned long long)atomic_load(&r.retries), t_built - t0, cfg.workers, cfg.batch_count);

done:
    for (k = 0; k < n_bodies; k++)
        free(bodies[k].data);
    free(bodies);
    free(th);
    sc_config_cli_free(&cli);
    sc_config_free(&cfg);
    return rc;
}
