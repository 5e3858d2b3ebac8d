/*
 * tools/loadgen.c - an open-loop, constant-rate HTTP load generator: the
 * benchmark uses it to compare the latency of the router against the same
 * query sent straight to OpenSearch, at the same offered load below
 * saturation. (wrk, a closed loop, measures saturation throughput.)
 *
 *   loadgen --rate R --seconds S [options] URL
 *
 * Request i is scheduled at t0 + i/R on the monotonic clock, whatever
 * happened to earlier requests. Latency is completion time minus SCHEDULED
 * time, so when the in-flight cap (or this loop) starts a request late the
 * delay counts (coordinated omission corrected). Requests that are due are
 * started together; nothing is ever sent ahead of its schedule. One thread,
 * a curl multi handle with a pool of --max-inflight easy handles over
 * kept-alive connections, curl_multi_poll woken by a timerfd armed for the
 * next scheduled send.
 *
 * Options:
 *   --rate R            requests per second (required, 0 < R <= 20000)
 *   --seconds S         measured window (required, 0 < S <= 3600)
 *   --warmup S          seconds sent first at the same rate, not recorded
 *                       (default 0, <= 3600)
 *   --max-inflight N    concurrent requests and connections (default 64,
 *                       1..1024)
 *   -H 'Name: value'    request header, repeatable (OpenSearch wants
 *                       -H 'Content-Type: application/json' with a body)
 *   --method GET|POST   (default GET)
 *   --body-file F       POST body, read once into memory (needs POST)
 *   --timeout-ms T      per request (default 10000, 1..600000)
 *   --samples FILE      append the latency in microseconds of every 2xx
 *                       request of the window, one per line, for pooling runs
 *
 * Output: a few human lines on stderr and one JSON line on stdout:
 *   {"rate":R,"seconds":S,"sent":N,"ok":N,"non2xx":N,"errors":N,
 *    "late_starts":N,"achieved_rps":X,"p50_ms":..,"p90_ms":..,"p99_ms":..,
 *    "p999_ms":..,"max_ms":..}
 * sent = requests scheduled in the window = ok + non2xx + errors. late_starts
 * counts those started more than 1 ms after their scheduled time.
 * achieved_rps = requests started / (last start - first scheduled + 1/R).
 * Percentiles are nearest-rank over the ok samples (null when none).
 * Requests in flight at the end are waited for (each bounded by --timeout-ms).
 * When the server is so slow that requests are still waiting for a free
 * slot --timeout-ms after the window's schedule ended, they are not started
 * and count as errors (said on stderr), so a dead server cannot make a run
 * last forever.
 *
 * Exit: 0 every request of the window got a 2xx, 1 some did not (the JSON is
 * still printed), 2 usage error. Warmup failures are only reported on stderr.
 *
 * Not here: HTTPS options, auth helpers, per-request bodies, response
 * checks beyond the status code, SIGINT handling - it is a bench tool.
 */
#include "buf.h"
#include "sc.h"

#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

/* A start this much behind its schedule is a late start. */
#define LATE_US 1000

/* Parsed command line. */
typedef struct opts {
    double rate;             /* requests per second */
    double seconds;          /* measured window */
    double warmup;           /* unrecorded seconds before the window */
    long max_inflight;       /* pool size and connection cap */
    long timeout_ms;         /* per request */
    int post;                /* 1 for POST */
    const char *url;         /* ref: argv */
    const char *body_file;   /* ref: argv; NULL for none */
    const char *samples;     /* ref: argv; NULL for none */
    struct curl_slist *hdrs; /* owned (curl_slist_free_all) */
} opts;

/* One easy handle of the pool and the request it carries. */
typedef struct slot {
    CURL *easy;       /* owned (curl_easy_cleanup) */
    int64_t sched_us; /* scheduled start of the current request */
    int measured;     /* current request is in the measured window */
} slot;

/* Counters of the measured window, plus the ok latencies. */
typedef struct tally {
    uint64_t sent;             /* scheduled in the window */
    uint64_t started;          /* of those, actually started */
    uint64_t ok;               /* 2xx */
    uint64_t non2xx;           /* answered, not 2xx */
    uint64_t errors;           /* transport errors, timeouts, never started */
    uint64_t late;             /* started > LATE_US behind schedule */
    int64_t max_late_us;       /* worst start delay */
    int64_t first_sched;       /* scheduled start of the window's first request */
    int64_t last_start;        /* actual start of the last started request */
    uint64_t warm_failed;      /* warmup requests without a 2xx */
    uint64_t connects;         /* new connections opened (all requests) */
    int64_t *lat_us;           /* owned (free()); ok latencies */
    size_t n_lat;              /* entries in lat_us */
    size_t cap_lat;            /* allocated entries */
    long first_code;           /* first non-2xx status seen */
    char first_err[SC_ERRLEN]; /* first transport error */
} tally;

static void usage(FILE *f)
{
    fprintf(f, "usage: loadgen --rate R --seconds S [options] URL\n"
               "Open-loop constant-rate HTTP load; latency from the scheduled send time.\n"
               "  --rate R            requests per second (0 < R <= 20000)\n"
               "  --seconds S         measured window (0 < S <= 3600)\n"
               "  --warmup S          unrecorded seconds first (default 0)\n"
               "  --max-inflight N    concurrent requests/connections (default 64, 1..1024)\n"
               "  -H 'Name: value'    request header (repeatable)\n"
               "  --method GET|POST   (default GET)\n"
               "  --body-file F       POST body\n"
               "  --timeout-ms T      per request (default 10000)\n"
               "  --samples FILE      append ok latencies (us), one per line\n"
               "Prints one JSON line on stdout. Exit 0 all 2xx, 1 some failed, 2 usage.\n");
}

/* Parse a finite decimal number in (0, max] (or [0, max] when zero_ok). */
static int parse_num(const char *s, double max, int zero_ok, double *out)
{
    char *end;
    double v;
    errno = 0;
    v = strtod(s, &end);
    if (end == s || *end != '\0' || errno != 0 || !isfinite(v) || v > max || v < 0 ||
        (v == 0 && !zero_ok))
        return -1;
    *out = v;
    return 0;
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v;
    errno = 0;
    v = strtol(s, &end, 10);
    if (end == s || *end != '\0' || errno != 0 || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* Returns 0, or 2 after printing why (usage error); -1 for --help. */
static int parse_args(int argc, char **argv, opts *o)
{
    static const struct option longopts[] = {{"rate", required_argument, NULL, 'r'},
                                             {"seconds", required_argument, NULL, 's'},
                                             {"warmup", required_argument, NULL, 'w'},
                                             {"max-inflight", required_argument, NULL, 'n'},
                                             {"method", required_argument, NULL, 'm'},
                                             {"body-file", required_argument, NULL, 'b'},
                                             {"timeout-ms", required_argument, NULL, 't'},
                                             {"samples", required_argument, NULL, 'S'},
                                             {"header", required_argument, NULL, 'H'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    int c, li = -1;

    o->max_inflight = 64;
    o->timeout_ms = 10000;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":H:h", longopts, &li)) != -1) {
        int bad = 0;
        switch (c) {
        case 'r':
            bad = parse_num(optarg, 20000, 0, &o->rate);
            break;
        case 's':
            bad = parse_num(optarg, 3600, 0, &o->seconds);
            break;
        case 'w':
            bad = parse_num(optarg, 3600, 1, &o->warmup);
            break;
        case 'n':
            bad = parse_long(optarg, 1, 1024, &o->max_inflight);
            break;
        case 't':
            bad = parse_long(optarg, 1, 600000, &o->timeout_ms);
            break;
        case 'b':
            o->body_file = optarg;
            break;
        case 'S':
            o->samples = optarg;
            break;
        case 'm':
            if (strcmp(optarg, "GET") == 0)
                o->post = 0;
            else if (strcmp(optarg, "POST") == 0)
                o->post = 1;
            else
                bad = -1;
            break;
        case 'H': {
            const char *colon = strchr(optarg, ':');
            struct curl_slist *n;
            if (colon == NULL || colon == optarg) {
                bad = -1;
                break;
            }
            n = curl_slist_append(o->hdrs, optarg);
            if (n == NULL) {
                fprintf(stderr, "loadgen: out of memory\n");
                return 2;
            }
            o->hdrs = n;
            break;
        }
        case 'h':
            usage(stdout);
            return -1;
        case ':':
            fprintf(stderr, "loadgen: option %s needs a value\n", argv[optind - 1]);
            return 2;
        default:
            fprintf(stderr, "loadgen: unknown option '%s'\n", argv[optind - 1]);
            usage(stderr);
            return 2;
        }
        if (bad) {
            fprintf(stderr, "loadgen: bad value '%s' for %s%s\n", optarg, li >= 0 ? "--" : "-",
                    li >= 0 ? longopts[li].name : "H");
            return 2;
        }
        li = -1;
    }
    if (o->rate == 0 || o->seconds == 0) {
        fprintf(stderr, "loadgen: --rate and --seconds are required\n");
        usage(stderr);
        return 2;
    }
    if (optind != argc - 1) {
        fprintf(stderr, "loadgen: %s\n", optind >= argc ? "missing URL" : "more than one URL");
        usage(stderr);
        return 2;
    }
    o->url = argv[optind];
    if (o->body_file != NULL && !o->post) {
        fprintf(stderr, "loadgen: --body-file needs --method POST\n");
        return 2;
    }
    if (llround(o->rate * o->seconds) < 1) {
        fprintf(stderr, "loadgen: --rate x --seconds is less than one request\n");
        return 2;
    }
    return 0;
}

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
    SC_UNUSED(p);
    SC_UNUSED(ud);
    return size * n;
}

/* Set up one pool handle. body is borrowed for the handle's life. */
static CURL *make_easy(const opts *o, const sc_buf *body, slot *s)
{
    CURL *e = curl_easy_init();
    CURLcode rc = CURLE_OK;
    if (e == NULL)
        return NULL;
    rc |= curl_easy_setopt(e, CURLOPT_URL, o->url);
    rc |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    rc |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, o->timeout_ms);
    rc |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
    rc |= curl_easy_setopt(e, CURLOPT_PRIVATE, (void *)s);
    rc |= curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    if (o->hdrs != NULL)
        rc |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, o->hdrs);
    if (o->post) {
        rc |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
        rc |= curl_easy_setopt(e, CURLOPT_POSTFIELDS, body->data ? body->data : "");
    } else {
        rc |= curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    }
    if (rc != CURLE_OK) {
        curl_easy_cleanup(e);
        return NULL;
    }
    return e;
}

/* Scheduled start of request i. */
static int64_t sched_at(int64_t t0, double rate, uint64_t i)
{
    return t0 + (int64_t)((double)i * 1e6 / rate);
}

static int add_latency(tally *t, int64_t us)
{
    if (t->n_lat == t->cap_lat) {
        size_t ncap = t->cap_lat ? t->cap_lat * 2 : 4096;
        int64_t *n = realloc(t->lat_us, ncap * sizeof *n);
        if (n == NULL)
            return -1;
        t->lat_us = n;
        t->cap_lat = ncap;
    }
    t->lat_us[t->n_lat++] = us;
    return 0;
}

/* Account one finished transfer (done at now). Returns 0, or -1 on ENOMEM. */
static int finish(tally *t, const slot *s, CURLcode res, int64_t now)
{
    long code = 0, conns = 0;
    int ok;
    if (curl_easy_getinfo(s->easy, CURLINFO_NUM_CONNECTS, &conns) == CURLE_OK && conns > 0)
        t->connects += (uint64_t)conns;
    if (res == CURLE_OK)
        curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &code);
    ok = res == CURLE_OK && code >= 200 && code <= 299;
    if (!s->measured) {
        if (!ok)
            t->warm_failed++;
        return 0;
    }
    if (ok) {
        t->ok++;
        return add_latency(t, now - s->sched_us);
    }
    if (res != CURLE_OK) {
        t->errors++;
        if (t->first_err[0] == '\0')
            sc_seterr(t->first_err, sizeof t->first_err, "%s", curl_easy_strerror(res));
    } else {
        t->non2xx++;
        if (t->first_code == 0)
            t->first_code = code;
    }
    return 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile (per mille) of sorted v[0..n), n > 0, in ms. */
static double pct_ms(const int64_t *v, size_t n, unsigned per_mille)
{
    size_t rank = (size_t)(((unsigned long long)n * per_mille + 999) / 1000);
    if (rank < 1)
        rank = 1;
    return (double)v[rank - 1] / 1000.0;
}

/* Append the ok latencies to path. Returns 0 or -1. */
static int write_samples(const char *path, const tally *t)
{
    size_t i;
    int rc = 0;
    FILE *f = fopen(path, "a");
    if (f == NULL)
        return -1;
    for (i = 0; i < t->n_lat && rc == 0; i++)
        if (fprintf(f, "%lld\n", (long long)t->lat_us[i]) < 0)
            rc = -1;
    if (fclose(f) != 0)
        rc = -1;
    return rc;
}

static void print_json(const opts *o, const tally *t, double achieved)
{
    printf("{\"rate\":%.10g,\"seconds\":%.10g,\"sent\":%llu,\"ok\":%llu,\"non2xx\":%llu,"
           "\"errors\":%llu,\"late_starts\":%llu,\"achieved_rps\":%.3f,",
           o->rate, o->seconds, (unsigned long long)t->sent, (unsigned long long)t->ok,
           (unsigned long long)t->non2xx, (unsigned long long)t->errors,
           (unsigned long long)t->late, achieved);
    if (t->n_lat == 0) {
        printf("\"p50_ms\":null,\"p90_ms\":null,\"p99_ms\":null,\"p999_ms\":null,"
               "\"max_ms\":null}\n");
    } else {
        printf(
            "\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"max_ms\":%.3f}\n",
            pct_ms(t->lat_us, t->n_lat, 500), pct_ms(t->lat_us, t->n_lat, 900),
            pct_ms(t->lat_us, t->n_lat, 990), pct_ms(t->lat_us, t->n_lat, 999),
            (double)t->lat_us[t->n_lat - 1] / 1000.0);
    }
    fflush(stdout);
}

/* Arm tfd (absolute CLOCK_MONOTONIC) for the monotonic microsecond at_us. */
static void arm_timer(int tfd, int64_t at_us)
{
    struct itimerspec its;
    memset(&its, 0, sizeof its);
    if (at_us < 1)
        at_us = 1;
    its.it_value.tv_sec = at_us / 1000000;
    its.it_value.tv_nsec = (long)(at_us % 1000000) * 1000;
    (void)timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* The send loop. Returns 0, or -1 on a local failure (message printed). */
static int run(const opts *o, CURLM *multi, slot *slots, int tfd, tally *t)
{
    size_t n_slots = (size_t)o->max_inflight;
    size_t *free_ix = malloc(n_slots * sizeof *free_ix);
    size_t n_free = n_slots, k;
    uint64_t n_warm = (uint64_t)llround(o->warmup * o->rate);
    uint64_t n_meas = (uint64_t)llround(o->seconds * o->rate);
    uint64_t total = n_warm + n_meas, next = 0;
    int64_t t0, give_up_at;
    int rc = 0;

    if (free_ix == NULL) {
        fprintf(stderr, "loadgen: out of memory\n");
        return -1;
    }
    for (k = 0; k < n_slots; k++)
        free_ix[k] = n_slots - 1 - k;
    t->sent = n_meas;
    t0 = sc_now_us();
    t->first_sched = sched_at(t0, o->rate, n_warm);
    give_up_at = sched_at(t0, o->rate, total) + o->timeout_ms * 1000;

    while (next < total || n_free < n_slots) {
        int64_t now = sc_now_us();
        int running, left;
        CURLMsg *m;
        struct curl_waitfd wfd;
        int timeout_ms;

        /* Start everything that is due, as far as free handles allow. */
        while (next < total && n_free > 0 && sched_at(t0, o->rate, next) <= now) {
            slot *s = &slots[free_ix[--n_free]];
            s->sched_us = sched_at(t0, o->rate, next);
            s->measured = next >= n_warm;
            if (s->measured) {
                int64_t late = now - s->sched_us;
                t->started++;
                t->last_start = now;
                if (late > LATE_US)
                    t->late++;
                if (late > t->max_late_us)
                    t->max_late_us = late;
            }
            if (curl_multi_add_handle(multi, s->easy) != CURLM_OK) {
                fprintf(stderr, "loadgen: curl_multi_add_handle failed\n");
                rc = -1;
                goto out;
            }
            next++;
        }
        if (next < total && now > give_up_at) {
            uint64_t first_meas = next > n_warm ? next : n_warm;
            uint64_t dropped = total - first_meas;
            fprintf(stderr,
                    "loadgen: %llu requests still waiting for a free slot %ld ms after "
                    "the schedule ended; not sent, counted as errors\n",
                    (unsigned long long)(total - next), o->timeout_ms);
            t->errors += dropped;
            next = total;
        }

        if (curl_multi_perform(multi, &running) != CURLM_OK) {
            fprintf(stderr, "loadgen: curl_multi_perform failed\n");
            rc = -1;
            goto out;
        }
        now = sc_now_us();
        while ((m = curl_multi_info_read(multi, &left)) != NULL) {
            char *priv = NULL;
            slot *s;
            if (m->msg != CURLMSG_DONE)
                continue;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
            s = (slot *)(void *)priv;
            if (finish(t, s, m->data.result, now) != 0) {
                fprintf(stderr, "loadgen: out of memory\n");
                rc = -1;
            }
            curl_multi_remove_handle(multi, s->easy);
            free_ix[n_free++] = (size_t)(s - slots);
        }
        if (rc != 0)
            goto out;
        if (next >= total && n_free == n_slots)
            break;

        /* Wait for I/O, curl's own timers, or the next scheduled send. */
        timeout_ms = 1000;
        if (next < total && n_free > 0) {
            int64_t due = sched_at(t0, o->rate, next), wait_us = due - sc_now_us();
            if (wait_us <= 0)
                continue;
            arm_timer(tfd, due);
            if (wait_us / 1000 + 1 < timeout_ms)
                timeout_ms = (int)(wait_us / 1000 + 1);
        }
        wfd.fd = tfd;
        wfd.events = CURL_WAIT_POLLIN;
        wfd.revents = 0;
        if (curl_multi_poll(multi, &wfd, 1, timeout_ms, NULL) != CURLM_OK) {
            fprintf(stderr, "loadgen: curl_multi_poll failed\n");
            rc = -1;
            goto out;
        }
        if (wfd.revents != 0) {
            uint64_t expirations;
            (void)!read(tfd, &expirations, sizeof expirations);
        }
    }
out:
    /* On a local failure, detach whatever is still in flight. */
    for (k = 0; rc != 0 && k < n_slots; k++)
        curl_multi_remove_handle(multi, slots[k].easy);
    free(free_ix);
    return rc;
}

int main(int argc, char **argv)
{
    opts o;
    tally t;
    sc_buf body;
    CURLM *multi = NULL;
    slot *slots = NULL;
    int tfd = -1, rc, k;
    double achieved = 0;

    memset(&o, 0, sizeof o);
    memset(&t, 0, sizeof t);
    sc_buf_init(&body, 0);
    rc = parse_args(argc, argv, &o);
    if (rc != 0) {
        curl_slist_free_all(o.hdrs);
        return rc < 0 ? 0 : rc;
    }
    if (o.body_file != NULL && sc_buf_read_file(&body, o.body_file) != SC_OK) {
        fprintf(stderr, "loadgen: cannot read body file %s\n", o.body_file);
        rc = 2;
        goto done;
    }
    if (o.samples != NULL) {
        /* Fail before the run rather than lose it at the end. */
        FILE *f = fopen(o.samples, "a");
        if (f == NULL) {
            fprintf(stderr, "loadgen: cannot open samples file %s: %s\n", o.samples,
                    strerror(errno));
            rc = 2;
            goto done;
        }
        fclose(f);
    }
    if (o.post) {
        struct curl_slist *n = curl_slist_append(o.hdrs, "Expect:");
        if (n == NULL) {
            fprintf(stderr, "loadgen: out of memory\n");
            rc = 1;
            goto done;
        }
        o.hdrs = n;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "loadgen: curl_global_init failed\n");
        rc = 1;
        goto done;
    }
    multi = curl_multi_init();
    slots = calloc((size_t)o.max_inflight, sizeof *slots);
    tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (multi == NULL || slots == NULL || tfd < 0) {
        fprintf(stderr, "loadgen: cannot set up (curl multi, memory or timerfd)\n");
        rc = 1;
        goto cleanup;
    }
    curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, o.max_inflight);
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, o.max_inflight);
    for (k = 0; k < o.max_inflight; k++) {
        slots[k].easy = make_easy(&o, &body, &slots[k]);
        if (slots[k].easy == NULL) {
            fprintf(stderr, "loadgen: cannot set up a curl handle\n");
            rc = 1;
            goto cleanup;
        }
    }

    fprintf(stderr, "loadgen: %s %s at %.10g/s for %.10g s (+%.10g s warmup), max-inflight %ld\n",
            o.post ? "POST" : "GET", o.url, o.rate, o.seconds, o.warmup, o.max_inflight);
    if (run(&o, multi, slots, tfd, &t) != 0) {
        rc = 1;
        goto cleanup;
    }

    if (t.started > 0)
        achieved =
            (double)t.started / ((double)(t.last_start - t.first_sched) / 1e6 + 1.0 / o.rate);
    if (o.samples != NULL && write_samples(o.samples, &t) != 0)
        fprintf(stderr, "loadgen: cannot write samples to %s\n", o.samples);
    if (t.n_lat > 0)
        qsort(t.lat_us, t.n_lat, sizeof *t.lat_us, cmp_i64);
    fprintf(stderr,
            "loadgen: sent %llu ok %llu non2xx %llu errors %llu late_starts %llu "
            "(worst start %.3f ms behind), %llu connections opened\n",
            (unsigned long long)t.sent, (unsigned long long)t.ok, (unsigned long long)t.non2xx,
            (unsigned long long)t.errors, (unsigned long long)t.late,
            (double)t.max_late_us / 1000.0, (unsigned long long)t.connects);
    if (t.first_code != 0)
        fprintf(stderr, "loadgen: first non-2xx status: %ld\n", t.first_code);
    if (t.first_err[0] != '\0')
        fprintf(stderr, "loadgen: first error: %s\n", t.first_err);
    if (t.warm_failed > 0)
        fprintf(stderr, "loadgen: %llu warmup requests failed (not counted)\n",
                (unsigned long long)t.warm_failed);
    print_json(&o, &t, achieved);
    rc = (t.ok == t.sent) ? 0 : 1;

cleanup:
    if (slots != NULL) {
        for (k = 0; k < o.max_inflight; k++)
            if (slots[k].easy != NULL)
                curl_easy_cleanup(slots[k].easy);
    }
    free(slots);
    if (multi != NULL)
        curl_multi_cleanup(multi);
    if (tfd >= 0)
        close(tfd);
    curl_global_cleanup();
done:
    sc_buf_free(&body);
    curl_slist_free_all(o.hdrs);
    free(t.lat_us);
    return rc;
}
