/*
 * netdelay.c - a userspace stand-in for `tc netem` on kernels built without
 * it: packets that nftables sends to an NFQUEUE are held for a fixed delay
 * (plus optional jitter) and a share of them is dropped, then released in
 * order. tests/hosts runs one per test host (network namespace) on the
 * host's egress, so every link between two hosts gets both ends' delay.
 *
 *   netdelay --queue N --delay-ms D [--jitter-ms J] [--loss-pct P]
 *
 * Only metadata is copied to userspace (NFQNL_COPY_META) and GSO packets are
 * queued whole, so the cost is one verdict per packet. The queue is opened
 * with fail-open: when it is full the kernel lets packets through instead of
 * dropping them, and a stopped netdelay (SIGTERM) releases what it holds.
 * Test tooling, not part of scour: it prints its errors and exits 1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/netfilter.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#define HELD_MAX 65536 /* ring of held packets (a power of two) */

typedef struct held {
    uint32_t id; /* nfqueue packet id */
    int64_t due; /* release time, CLOCK_MONOTONIC microseconds */
} held;

static held g_ring[HELD_MAX];
static unsigned g_head, g_tail; /* g_tail - g_head = packets held */
static int64_t g_delay_us, g_jitter_us, g_last_due;
static unsigned g_loss_ppm;
static uint64_t g_rng = 0x9E3779B97F4A7C15ULL;
static volatile sig_atomic_t g_stop;
static unsigned long g_seen, g_dropped;

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static uint64_t rnd(void)
{
    g_rng ^= g_rng >> 12;
    g_rng ^= g_rng << 25;
    g_rng ^= g_rng >> 27;
    return g_rng * 2685821657736338717ULL;
}

static int on_packet(struct nfq_q_handle *qh, struct nfgenmsg *m, struct nfq_data *d, void *ud)
{
    struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(d);
    uint32_t id;
    int64_t due;
    (void)m;
    (void)ud;
    if (ph == NULL)
        return 0;
    id = ntohl(ph->packet_id);
    g_seen++;
    if (g_loss_ppm > 0 && rnd() % 1000000 < g_loss_ppm) {
        g_dropped++;
        return nfq_set_verdict(qh, id, NF_DROP, 0, NULL);
    }
    if (g_tail - g_head >= HELD_MAX) /* full: let it go now rather than stall */
        return nfq_set_verdict(qh, id, NF_ACCEPT, 0, NULL);
    due = now_us() + g_delay_us + (g_jitter_us > 0 ? (int64_t)(rnd() % (uint64_t)g_jitter_us) : 0);
    if (due < g_last_due) /* jitter never reorders a flow */
        due = g_last_due;
    g_last_due = due;
    g_ring[g_tail % HELD_MAX].id = id;
    g_ring[g_tail % HELD_MAX].due = due;
    g_tail++;
    return 0;
}

static void release(struct nfq_q_handle *qh, int64_t upto)
{
    while (g_head != g_tail && g_ring[g_head % HELD_MAX].due <= upto) {
        (void)nfq_set_verdict(qh, g_ring[g_head % HELD_MAX].id, NF_ACCEPT, 0, NULL);
        g_head++;
    }
}

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static long num_arg(const char *name, const char *v, long lo, long hi)
{
    char *end;
    long n = strtol(v, &end, 10);
    if (*v == '\0' || *end != '\0' || n < lo || n > hi) {
        fprintf(stderr, "netdelay: %s must be %ld..%ld (got '%s')\n", name, lo, hi, v);
        exit(2);
    }
    return n;
}

int main(int argc, char **argv)
{
    struct nfq_handle *h;
    struct nfq_q_handle *qh;
    long queue = -1;
    char buf[65536] __attribute__((aligned));
    int fd;
    struct sigaction sa;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--queue") == 0)
            queue = num_arg("--queue", argv[i + 1], 0, 65535);
        else if (strcmp(argv[i], "--delay-ms") == 0)
            g_delay_us = num_arg("--delay-ms", argv[i + 1], 0, 10000) * 1000;
        else if (strcmp(argv[i], "--jitter-ms") == 0)
            g_jitter_us = num_arg("--jitter-ms", argv[i + 1], 0, 10000) * 1000;
        else if (strcmp(argv[i], "--loss-pct") == 0)
            g_loss_ppm = (unsigned)num_arg("--loss-pct", argv[i + 1], 0, 100) * 10000;
        else
            queue = -2;
    }
    if (queue < 0 || argc % 2 == 0) {
        fprintf(stderr, "usage: netdelay --queue N --delay-ms D [--jitter-ms J] [--loss-pct P]\n");
        return 2;
    }
    g_rng ^= (uint64_t)getpid() << 17 ^ (uint64_t)now_us();
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    h = nfq_open();
    if (h == NULL) {
        fprintf(stderr, "netdelay: nfq_open: %s\n", strerror(errno));
        return 1;
    }
    qh = nfq_create_queue(h, (uint16_t)queue, on_packet, NULL);
    if (qh == NULL) {
        fprintf(stderr, "netdelay: queue %ld: %s\n", queue, strerror(errno));
        nfq_close(h);
        return 1;
    }
    if (nfq_set_mode(qh, NFQNL_COPY_META, 0) < 0 || nfq_set_queue_maxlen(qh, HELD_MAX) < 0) {
        fprintf(stderr, "netdelay: configuring queue %ld: %s\n", queue, strerror(errno));
        return 1;
    }
    (void)nfq_set_queue_flags(qh, NFQA_CFG_F_FAIL_OPEN | NFQA_CFG_F_GSO,
                              NFQA_CFG_F_FAIL_OPEN | NFQA_CFG_F_GSO);
    (void)nfnl_rcvbufsiz(nfq_nfnlh(h), 16 * 1024 * 1024);
    fd = nfq_fd(h);
    fprintf(stderr, "netdelay: queue %ld, delay %ld ms, jitter %ld ms, loss %u ppm\n", queue,
            (long)(g_delay_us / 1000), (long)(g_jitter_us / 1000), g_loss_ppm);

    while (!g_stop) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int64_t t = now_us(), wait_ms = 1000;
        if (g_head != g_tail) {
            int64_t d = g_ring[g_head % HELD_MAX].due - t;
            wait_ms = d <= 0 ? 0 : (d + 999) / 1000;
        }
        if (poll(&p, 1, (int)wait_ms) > 0) {
            for (;;) { /* drain what is there */
                ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
                if (n <= 0)
                    break; /* EAGAIN, or ENOBUFS: the kernel let those pass (fail-open) */
                (void)nfq_handle_packet(h, buf, (int)n);
            }
        }
        release(qh, now_us());
    }
    release(qh, INT64_MAX);
    fprintf(stderr, "netdelay: stopped; %lu packets seen, %lu dropped\n", g_seen, g_dropped);
    nfq_destroy_queue(qh);
    nfq_close(h);
    return 0;
}
