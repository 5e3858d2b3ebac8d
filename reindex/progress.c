/*
 * reindex/progress.c - the progress display of a job run from the command
 * line (channel/guild/cluster/all, resume, promote): a bar redrawn in place
 * when stderr is a terminal, a plain line every second or 10,000 messages
 * otherwise. Progress goes to stderr; results and tables go to stdout.
 * Not here: the worker's threads, which log instead of showing progress.
 */
#include "rx.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* State of the progress display (one per thread that shows progress). */
typedef struct rx_display {
    int tty;           /* stderr is a terminal: redraw a bar in place */
    int64_t last_ms;   /* monotonic ms of the last line/redraw */
    int64_t last_done; /* done at the last plain line */
} rx_display;

static void fmt_eta(char *buf, size_t len, double s)
{
    if (s < 0 || s > 1e7)
        snprintf(buf, len, "--:--");
    else if (s >= 3600)
        snprintf(buf, len, "%d:%02d:%02d", (int)(s / 3600), (int)((long)s % 3600) / 60,
                 (int)((long)s % 60));
    else
        snprintf(buf, len, "%d:%02d", (int)(s / 60), (int)((long)s % 60));
}

static void show_progress(const sc_reindex_progress *p, void *arg)
{
    rx_display *d = arg;
    int64_t now = sc_now_ms();
    double rate = p->elapsed_ms > 0 ? (double)p->run_done * 1000.0 / (double)p->elapsed_ms : 0.0;
    int64_t left = p->total > p->done ? p->total - p->done : 0;
    double pct = p->total > 0
                     ? 100.0 * (double)(p->done > p->total ? p->total : p->done) / (double)p->total
                     : 100.0;
    char eta[32];
    fmt_eta(eta, sizeof eta, rate > 0 ? (double)left / rate : (left == 0 ? 0 : -1));
    if (d->tty) {
        char bar[31];
        int i, fill = (int)(pct * 30 / 100);
        if (!p->final && now - d->last_ms < 200)
            return;
        for (i = 0; i < 30; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[30] = '\0';
        fprintf(stderr,
                "\r[%s] %" PRId64 "/%" PRId64
                " %5.1f%% phase %d ch %zu/%zu %.0f msg/s ETA %s\033[K",
                bar, p->done, p->total, pct, p->phase, p->channel_index + (p->n_channels > 0),
                p->n_channels, rate, eta);
        if (p->final)
            fputc('\n', stderr);
        fflush(stderr);
        d->last_ms = now;
        return;
    }
    if (!p->final && now - d->last_ms < 1000 && p->done - d->last_done < 10000)
        return;
    fprintf(stderr,
            "reindex: job %" PRId64 " phase %d: %" PRId64 "/%" PRId64
            " (%.1f%%) channel %zu/%zu, %.0f msg/s, eta %s\n",
            p->job_id, p->phase, p->done, p->total, pct, p->channel_index + (p->n_channels > 0),
            p->n_channels, rate, eta);
    d->last_ms = now;
    d->last_done = p->done;
}

void rx_progress_attach(sc_reindex_opts *xo)
{
    static rx_display display; /* only the main thread shows progress */
    memset(&display, 0, sizeof display);
    display.tty = isatty(STDERR_FILENO);
    xo->progress = show_progress;
    xo->progress_arg = &display;
}
