/*
 * promtext.h - a reader of the Prometheus text exposition format (0.0.4),
 * enough to take what scour's own programs expose (libscour/metrics.c) back
 * in: every sample line as name, labels and value. The console scrapes the
 * indexers' and the router's /metrics with it.
 *
 * Not here: HELP/TYPE semantics, timestamps (ignored), exemplars, the
 * OpenMetrics format.
 */
#ifndef SC_PROMTEXT_H
#define SC_PROMTEXT_H

#include "sc.h"

#include <stddef.h>

#define SC_PROM_MAX_LABELS 4

/* One sample line. */
typedef struct sc_prom_sample {
    char name[96];                         /* metric name, e.g. scour_indexer_events_total */
    int nlabels;                           /* labels used */
    char label[SC_PROM_MAX_LABELS][32];    /* label names */
    char value_of[SC_PROM_MAX_LABELS][64]; /* label values (unescaped, truncated) */
    double value;                          /* sample value (+Inf, NaN accepted) */
} sc_prom_sample;

/* Parse text[0..len). Comment and blank lines are skipped; a line that is
 * not a sample, or a name or label that does not fit, is skipped too and
 * counted in *bad (may be NULL). *out is malloc'd (free()), NULL when *n is
 * 0. Returns SC_OK or SC_ENOMEM. */
sc_status sc_prom_parse(const char *text, size_t len, sc_prom_sample **out, size_t *n,
                        size_t *bad) SC_MUST_USE;

/* The value of label name in s, or NULL. */
const char *sc_prom_label(const sc_prom_sample *s, const char *name);

/* Sum of the samples named name whose label lname equals lvalue (lname NULL:
 * every sample of that name). 0 when there is none. */
double sc_prom_sum(const sc_prom_sample *s, size_t n, const char *name, const char *lname,
                   const char *lvalue);

#endif
