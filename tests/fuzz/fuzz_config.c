/*
 * fuzz_config.c - fuzz target for the config file parser (libscour/config.c):
 * the input is a whole config file, loaded the way every program loads
 * `--config FILE`, then validated and dumped.
 *
 * Beyond "no crash, no leak, no UB" it aborts when a contract of config.h
 * breaks: a rejection carries a reason that names the file; an accepted file
 * dumps (sc_config_dump), and that dump, loaded again as a file, is accepted
 * and dumps to the same bytes (what --check-config prints can be fed back).
 */
#include "buf.h"
#include "config.h"
#include "replay.h"
#include "sc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_config: invariant broken: %s\n", what);
        abort();
    }
}

/* Load data as a config file through a memfd; returns the status. */
static sc_status load(const void *data, size_t n, sc_config *c, char *err, size_t errlen)
{
    char path[64], arg0[] = "fuzz", arg1[] = "--config";
    char *argv[4];
    sc_status st;
    int fd = memfd_create("fuzz_config", 0);
    check(fd >= 0, "memfd_create");
    check(n == 0 || write(fd, data, n) == (ssize_t)n, "write");
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    argv[0] = arg0;
    argv[1] = arg1;
    argv[2] = path;
    argv[3] = NULL;
    st = sc_config_load(c, 3, argv, NULL, err, errlen);
    close(fd);
    return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sc_config c, c2;
    char err[SC_ERRLEN] = "";
    sc_buf d1, d2;
    sc_status st;

    st = load(data, size, &c, err, sizeof(err));
    if (st != SC_OK) {
        check(st == SC_EINVAL || st == SC_ENOTFOUND || st == SC_ENOMEM, "status");
        check(strstr(err, "/proc/self/fd/") != NULL, "a rejection names the file");
        sc_config_free(&c);
        return 0;
    }
    err[0] = '\0';
    if (sc_config_validate(&c, SC_PROG_ALL, err, sizeof(err)) != SC_OK)
        check(err[0] != '\0', "a failed validation says why");
    sc_buf_init(&d1, 0);
    sc_buf_init(&d2, 0);
    check(sc_config_dump(&c, &d1, SC_PROG_ALL) == SC_OK, "dump");
    st = load(d1.data, d1.len, &c2, err, sizeof(err));
    if (st != SC_OK)
        fprintf(stderr, "fuzz_config: the dump does not load: %s\n%s", err, d1.data);
    check(st == SC_OK, "a dump loads again");
    check(sc_config_dump(&c2, &d2, SC_PROG_ALL) == SC_OK, "dump again");
    check(d1.len == d2.len && memcmp(d1.data, d2.data, d1.len) == 0, "a dump reloads to itself");
    sc_buf_free(&d1);
    sc_buf_free(&d2);
    sc_config_free(&c);
    sc_config_free(&c2);
    return 0;
}

#ifndef SC_LIBFUZZER
int main(int argc, char **argv) { return sc_fuzz_replay("fuzz_config", argc, argv); }
#endif
