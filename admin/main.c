/*
 * admin/main.c - the `admin` program: cluster registration commands, the
 * health agent and one-shot healing. Parses the command line and config,
 * then dispatches; the commands live in clusters.c and agent.c.
 *
 *   admin clusters add NAME URL [--capacity N] [--credentials REF] [--static]
 *   admin clusters drain|undrain NAME
 *   admin clusters remove NAME [--force]
 *   admin clusters list
 *   admin agent [--cluster NAME=URL ...] [--adopt] [--once]
 *   admin heal
 *   admin console [--console-listen-port N]
 */
#include "admin.h"

#include "log.h"
#include "prog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: admin [options] COMMAND ...\n"
    "commands:\n"
    "  clusters add NAME URL [--capacity N] [--credentials REF] [--static]\n"
    "                           record a cluster for the agent to check and register\n"
    "                           (--static: register now, without lease, always live)\n"
    "  clusters drain NAME      stop assigning new channels to NAME\n"
    "  clusters undrain NAME    let NAME take new channels again\n"
    "  clusters remove NAME [--force]\n"
    "                           forget NAME (refused while channels are bound, unless --force)\n"
    "  clusters list            table: name, url, state, live, load, channels, docs\n"
    "  agent [--cluster NAME=URL ...] [--adopt] [--once]\n"
    "                           health-check the clusters given (--adopt: and every one added\n"
    "                           with `clusters add`), keep their leases, refresh load, heal\n"
    "  heal                     run one healing pass now (clusters not live count as dead)\n"
    "  console                  the web console and its JSON admin API on\n"
    "                           console_listen_addr:console_listen_port (needs console_secret)\n"
    "options:\n";

static const sc_prog_opts prog = {
    .name = "admin",
    .program = SC_PROG_ADMIN,
    .usage = usage_text,
    .version = "admin (scour) 0.1",
    .need_args = true,
    .missing_args = NULL,
    .signals = SC_PROG_SIGNALS_FLAG,
};

/* Take our own flags out of argv (into a) so sc_config_load sees only its
 * options. Returns 0 or 2 (usage error, printed). */
static int take_flags(int *argc, char **argv, admin_args *a)
{
    int i, o = 1;
    for (i = 1; i < *argc; i++) {
        const char *s = argv[i];
        const char *val = NULL;
        int which = 0; /* 1 cluster, 2 credentials */
        if (strcmp(s, "--") == 0) {
            while (i < *argc)
                argv[o++] = argv[i++];
            break;
        }
        if (strcmp(s, "--static") == 0) {
            a->is_static = 1;
            continue;
        }
        if (strcmp(s, "--force") == 0) {
            a->force = 1;
            continue;
        }
        if (strcmp(s, "--once") == 0) {
            a->once = 1;
            continue;
        }
        if (strcmp(s, "--adopt") == 0) {
            a->adopt = 1;
            continue;
        }
        if (strncmp(s, "--cluster=", 10) == 0) {
            which = 1;
            val = s + 10;
        } else if (strcmp(s, "--cluster") == 0) {
            which = 1;
        } else if (strncmp(s, "--credentials=", 14) == 0) {
            which = 2;
            val = s + 14;
        } else if (strcmp(s, "--credentials") == 0) {
            which = 2;
        } else {
            if (strncmp(s, "--capacity", 10) == 0 && (s[10] == '\0' || s[10] == '='))
                a->capacity_set = 1;
            argv[o++] = argv[i];
            continue;
        }
        if (val == NULL) {
            if (i + 1 >= *argc) {
                fprintf(stderr, "admin: %s: missing value\n", s);
                return 2;
            }
            val = argv[++i];
        }
        if (which == 1) {
            if (a->nflag_clusters >= ADMIN_MAX_FLAG_CLUSTERS) {
                fprintf(stderr, "admin: too many --cluster (max %d)\n", ADMIN_MAX_FLAG_CLUSTERS);
                return 2;
            }
            a->flag_clusters[a->nflag_clusters++] = val;
        } else {
            a->credentials = val;
        }
    }
    *argc = o;
    argv[o] = NULL;
    return 0;
}

int main(int argc, char **argv)
{
    admin_args a;
    sc_config_cli cli;
    sc_buf msg;
    sc_prog_action act;
    int rc;

    memset(&a, 0, sizeof a);
    memset(&cli, 0, sizeof cli);
    if ((rc = take_flags(&argc, argv, &a)) != 0)
        return rc;
    act = sc_prog_start(&prog, argc, argv, &a.cfg, &cli, &msg);
    fputs(msg.data != NULL ? msg.data : "", act == SC_PROG_EXIT_OK ? stdout : stderr);
    if (act != SC_PROG_RUN) {
        rc = (int)act;
        goto out;
    }
    a.words = cli.args;
    a.nwords = cli.nargs;

    if (strcmp(a.words[0], "clusters") == 0) {
        rc = admin_clusters(&a);
    } else if (strcmp(a.words[0], "agent") == 0) {
        rc = a.nwords == 1 ? admin_agent(&a) : 2;
        if (a.nwords != 1)
            fprintf(stderr, "admin agent: unexpected argument '%s'\n", a.words[1]);
    } else if (strcmp(a.words[0], "console") == 0) {
        rc = admin_console(&a);
    } else if (strcmp(a.words[0], "heal") == 0) {
        rc = a.nwords == 1 ? admin_heal(&a) : 2;
        if (a.nwords != 1)
            fprintf(stderr, "admin heal: unexpected argument '%s'\n", a.words[1]);
    } else {
        fprintf(stderr, "admin: unknown command '%s' (try --help)\n", a.words[0]);
        rc = 2;
    }
out:
    sc_buf_free(&msg);
    sc_config_cli_free(&cli);
    sc_config_free(&a.cfg);
    return rc;
}
