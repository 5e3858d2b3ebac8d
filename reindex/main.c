/*
 * reindex/main.c - the `reindex` program: parse and check the command line
 * and config, build the shared cluster view, dispatch to a command (start.c,
 * worker.c, status.c, verify.c, promote.c).
 *
 *   reindex channel ID...   rebuild (or with --to, move) these channels
 *   reindex guild ID        every channel of a guild
 *   reindex cluster NAME    every channel bound to NAME
 *   reindex all             every bound channel
 *   reindex worker [--once] run queued jobs (also those queued by self-healing)
 *   reindex status [JOB]    jobs and their progress
 *   reindex resume JOB      continue a stopped or failed job from its cursors
 *   reindex verify WHAT     compare PostgreSQL with the index (--repair fixes it)
 *   reindex promote CHANNEL give a big channel an index of its own (--shards N, --to)
 *
 * Exit codes: 0 ok, 1 runtime failure, 2 usage/config error or an unknown
 * channel, guild, cluster or job; verify: 3 drift found (repaired or not).
 */
#include "rx.h"

#include "log.h"
#include "prog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: reindex [options] COMMAND ...\n"
    "commands:\n"
    "  channel ID...       rebuild these channels from PostgreSQL (with --to: move them)\n"
    "  guild ID            every channel of the guild\n"
    "  cluster NAME        every channel bound to NAME (onto their bindings, or --to another)\n"
    "  all                 every bound channel\n"
    "  worker [--once]     claim and run queued jobs (--once: run what is queued, then exit)\n"
    "  status [JOB]        list jobs with progress, or one job with its channels\n"
    "  resume JOB          continue a stopped or failed job where it stopped\n"
    "  verify channel ID...|guild ID|cluster NAME|all\n"
    "                      compare PostgreSQL with the search index (exit 0 agree, 3 drift)\n"
    "  promote CHANNEL [--shards N] [--to CLUSTER]\n"
    "                      move a big channel to an index of its own with N primary shards\n"
    "                      (default big_channel_shards) on CLUSTER (default: most free room)\n"
    "program flags:\n"
    "  --once              see worker\n"
    "  --purge-delay-ms=N  wait between a move's switch and the purge of the old copy [2000]\n"
    "  --repair            verify: rewrite drifting ranges, tombstone extras, purge stale copies\n"
    "  --json              verify: one JSON object per channel on stdout\n"
    "  --shards=N          promote: primary shards of the channel's index, 1..1024\n"
    "options:\n";

static const sc_prog_opts prog = {
    .name = "reindex",
    .program = SC_PROG_REINDEX,
    .usage = usage_text,
    .version = "reindex (scour) 0.1",
    .need_args = true,
    .missing_args = "no command given",
    .signals = SC_PROG_SIGNALS_FLAG,
};

/* Take our own flags out of argv so sc_config_load sees only its options.
 * Returns 0 or 2 (usage error, printed). */
static int take_flags(int *argc, char **argv, rx_args *a)
{
    int i, o = 1;
    for (i = 1; i < *argc; i++) {
        const char *s = argv[i];
        const char *val = NULL;
        if (strcmp(s, "--") == 0) {
            while (i < *argc)
                argv[o++] = argv[i++];
            break;
        }
        if (strcmp(s, "--once") == 0) {
            a->once = 1;
            continue;
        }
        if (strcmp(s, "--repair") == 0) {
            a->repair = 1;
            continue;
        }
        if (strcmp(s, "--json") == 0) {
            a->json = 1;
            continue;
        }
        if (strncmp(s, "--shards=", 9) == 0 || strcmp(s, "--shards") == 0) {
            uint64_t v;
            if (s[8] == '=')
                val = s + 9;
            else if (i + 1 >= *argc) {
                fprintf(stderr, "reindex: --shards: missing value\n");
                return 2;
            } else
                val = argv[++i];
            if (sc_parse_u64(val, &v) != SC_OK || v < 1 || v > 1024) {
                fprintf(stderr, "reindex: --shards: '%s' is not a shard count 1..1024\n", val);
                return 2;
            }
            a->shards = (int)v;
            continue;
        }
        if (strncmp(s, "--purge-delay-ms=", 17) == 0) {
            val = s + 17;
        } else if (strcmp(s, "--purge-delay-ms") == 0) {
            if (i + 1 >= *argc) {
                fprintf(stderr, "reindex: --purge-delay-ms: missing value\n");
                return 2;
            }
            val = argv[++i];
        } else {
            argv[o++] = argv[i];
            continue;
        }
        {
            uint64_t v;
            if (sc_parse_u64(val, &v) != SC_OK || v > 3600000) {
                fprintf(stderr, "reindex: --purge-delay-ms: '%s' is not 0..3600000\n", val);
                return 2;
            }
            a->purge_delay_ms = (int)v;
        }
    }
    *argc = o;
    argv[o] = NULL;
    return 0;
}

static int id_ok(const char *s)
{
    uint64_t v;
    return sc_parse_u64(s, &v) == SC_OK && v != 0 && v <= INT64_MAX;
}

/* Syntax of the command words and flags, before any I/O: 0, or 2 with a
 * message on stderr. */
static int args_check(const rx_args *a)
{
    const char *cmd = a->words[0];
    int i;
    if (strcmp(cmd, "channel") == 0) {
        if (a->nwords < 2) {
            fprintf(stderr, "reindex channel: give at least one channel id\n");
            return 2;
        }
        for (i = 1; i < a->nwords; i++) {
            if (!id_ok(a->words[i])) {
                fprintf(stderr, "reindex channel: '%s' is not a channel id\n", a->words[i]);
                return 2;
            }
        }
    } else if (strcmp(cmd, "promote") == 0) {
        if (a->nwords != 2 || !id_ok(a->words[1])) {
            fprintf(stderr, "reindex promote: give exactly one channel id (reindex promote "
                            "CHANNEL [--shards N] [--to CLUSTER])\n");
            return 2;
        }
    } else if (strcmp(cmd, "guild") == 0 || strcmp(cmd, "resume") == 0) {
        if (a->nwords != 2 || !id_ok(a->words[1])) {
            fprintf(stderr, "reindex %s: give exactly one %s id\n", cmd,
                    cmd[0] == 'g' ? "guild" : "job");
            return 2;
        }
    } else if (strcmp(cmd, "cluster") == 0) {
        if (a->nwords != 2 || !sc_cluster_name_ok(a->words[1])) {
            fprintf(stderr, "reindex cluster: give exactly one valid cluster name\n");
            return 2;
        }
    } else if ((strcmp(cmd, "all") == 0 || strcmp(cmd, "worker") == 0) && a->nwords != 1) {
        fprintf(stderr, "reindex %s: unexpected argument '%s'\n", cmd, a->words[1]);
        return 2;
    } else if (strcmp(cmd, "verify") == 0) {
        const char *what = a->nwords >= 2 ? a->words[1] : "";
        int ok = 0;
        if (strcmp(what, "channel") == 0) {
            ok = a->nwords >= 3;
            for (i = 2; i < a->nwords; i++)
                ok &= id_ok(a->words[i]);
        } else if (strcmp(what, "guild") == 0) {
            ok = a->nwords == 3 && id_ok(a->words[2]);
        } else if (strcmp(what, "cluster") == 0) {
            ok = a->nwords == 3 && sc_cluster_name_ok(a->words[2]);
        } else if (strcmp(what, "all") == 0) {
            ok = a->nwords == 2;
        }
        if (!ok) {
            fprintf(stderr, "reindex verify: give channel ID..., guild ID, cluster NAME or all\n");
            return 2;
        }
        if (a->cfg.to[0] != '\0' || a->cfg.dry_run) {
            fprintf(stderr, "reindex verify: --to and --dry-run do not apply (verify changes "
                            "nothing without --repair)\n");
            return 2;
        }
    }
    if (a->cfg.to[0] != '\0' && !sc_cluster_name_ok(a->cfg.to)) {
        fprintf(stderr, "reindex: --to: '%s' is not a valid cluster name\n", a->cfg.to);
        return 2;
    }
    if (a->cfg.to[0] != '\0' && (strcmp(cmd, "worker") == 0 || strcmp(cmd, "resume") == 0)) {
        fprintf(stderr, "reindex %s: --to applies only when starting a job\n", cmd);
        return 2;
    }
    return 0;
}

static char *read_file(const char *path, char *err, size_t errlen)
{
    sc_buf b;
    sc_status st;
    sc_buf_init(&b, 16u << 20);
    st = sc_buf_read_file(&b, path);
    if (st != SC_OK) {
        sc_buf_free(&b);
        sc_seterr(err, errlen, "index_schema %s: %s", path,
                  st == SC_ENOMEM ? "too large" : "cannot open");
        return NULL;
    }
    if (b.len == 0) {
        sc_buf_free(&b);
        sc_seterr(err, errlen, "index_schema %s: empty", path);
        return NULL;
    }
    return sc_buf_steal(&b);
}

/* The cluster view of the config: etcd (3 s per request) and the static
 * clusters. */
static void view_opts(const rx_args *a, sc_cluster_view_opts *vo)
{
    memset(vo, 0, sizeof *vo);
    vo->etcd_url = a->cfg.etcd_url;
    vo->ns = a->cfg.namespace;
    vo->static_list = a->cfg.clusters;
    vo->etcd_timeout_ms = 3000;
}

static int run_command(const rx_args *a)
{
    const char *cmd = a->words[0];
    char err[SC_ERRLEN];
    char *schema = NULL;
    sc_cluster_view *view = NULL;
    sc_cluster_view_opts vo;
    int rc;

    if (strcmp(cmd, "channel") != 0 && strcmp(cmd, "guild") != 0 && strcmp(cmd, "cluster") != 0 &&
        strcmp(cmd, "all") != 0 && strcmp(cmd, "worker") != 0 && strcmp(cmd, "resume") != 0 &&
        strcmp(cmd, "verify") != 0 && strcmp(cmd, "status") != 0 && strcmp(cmd, "promote") != 0) {
        fprintf(stderr, "reindex: unknown command '%s' (try --help)\n", cmd);
        return 2;
    }
    if ((a->repair || a->json) && strcmp(cmd, "verify") != 0) {
        fprintf(stderr, "reindex %s: --repair and --json apply only to verify\n", cmd);
        return 2;
    }
    if (a->shards != 0 && strcmp(cmd, "promote") != 0) {
        fprintf(stderr, "reindex %s: --shards applies only to promote\n", cmd);
        return 2;
    }
    if (strcmp(cmd, "status") == 0) {
        /* the jobs from PostgreSQL; the promoted channels from the clusters */
        view_opts(a, &vo);
        if (a->nwords == 1 && (view = sc_cluster_view_create(&vo, err, sizeof err)) == NULL)
            fprintf(stderr, "reindex: cluster view: %s (promoted channels not shown)\n", err);
        rc = rx_cmd_status(a, view);
        sc_cluster_view_free(view);
        return rc;
    }
    if ((rc = args_check(a)) != 0)
        return rc;
    schema = read_file(a->cfg.index_schema, err, sizeof err);
    if (schema == NULL) {
        fprintf(stderr, "reindex: %s\n", err);
        return 2;
    }
    view_opts(a, &vo);
    view = sc_cluster_view_create(&vo, err, sizeof err);
    if (view == NULL) {
        fprintf(stderr, "reindex: cluster view: %s\n", err);
        free(schema);
        return 1;
    }
    if (strcmp(cmd, "worker") == 0)
        rc = rx_cmd_worker(a, schema, view);
    else if (strcmp(cmd, "resume") == 0)
        rc = rx_cmd_resume(a, schema, view);
    else if (strcmp(cmd, "verify") == 0)
        rc = rx_cmd_verify(a, schema, view);
    else if (strcmp(cmd, "promote") == 0)
        rc = rx_cmd_promote(a, schema, view);
    else
        rc = rx_cmd_start(a, schema, view);
    sc_cluster_view_free(view);
    free(schema);
    return rc;
}

int main(int argc, char **argv)
{
    rx_args a;
    sc_config_cli cli;
    sc_buf msg;
    sc_prog_action act;
    int rc;

    memset(&a, 0, sizeof a);
    memset(&cli, 0, sizeof cli);
    a.purge_delay_ms = 2000;
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
    rc = run_command(&a);
out:
    sc_buf_free(&msg);
    sc_config_cli_free(&cli);
    sc_config_free(&a.cfg);
    return rc;
}
