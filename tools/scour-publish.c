/*
 * scour-publish - play the chat service: read message events as JSON lines
 * (stdin or --input FILE), validate each with sc_event_parse, optionally
 * upsert the message row into PostgreSQL (--write-db), and XADD each good
 * event to the stream. A bad line is reported with its line number on
 * stderr and skipped; the good ones are still published.
 *
 * Exit codes: 0 all lines published; 1 some line was bad or a publish
 * failed; 2 usage error or a backend unreachable at start.
 */
#include "log.h"
#include "event.h"
#include "publish.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: scour-publish [options] < events.jsonl\n"
               "  --input=FILE          read events from FILE instead of stdin\n"
               "  --stream=KEY          stream key (default scour:events)\n"
               "  --redis-host=HOST     (default 127.0.0.1)\n"
               "  --redis-port=PORT     (default 6379)\n"
               "  --redis-password=PW   (default none)\n"
               "  --redis-user=USER     Redis ACL user for AUTH (default: the default user)\n"
               "  --write-db            also upsert each message row into PostgreSQL\n"
               "  --pg-dsn=DSN          libpq conninfo (default 'host=127.0.0.1 dbname=scour')\n"
               "  --quiet               no summary line\n"
               "  --help\n");
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {{"input", required_argument, NULL, 'i'},
                                             {"stream", required_argument, NULL, 's'},
                                             {"redis-host", required_argument, NULL, 'H'},
                                             {"redis-port", required_argument, NULL, 'P'},
                                             {"redis-password", required_argument, NULL, 'w'},
                                             {"redis-user", required_argument, NULL, 'u'},
                                             {"write-db", no_argument, NULL, 'd'},
                                             {"pg-dsn", required_argument, NULL, 'D'},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *input = NULL, *stream = "scour:events", *host = "127.0.0.1", *pw = NULL;
    const char *ruser = NULL;
    const char *dsn = "host=127.0.0.1 dbname=scour";
    int port = 6379, write_db = 0, quiet = 0, c;
    sc_publisher_opts po;
    sc_publisher *p;
    char err[SC_ERRLEN];
    FILE *in = stdin;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long lineno = 0, good = 0, bad = 0, failed = 0;

    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'i':
            input = optarg;
            break;
        case 's':
            stream = optarg;
            break;
        case 'H':
            host = optarg;
            break;
        case 'P': {
            char *end;
            long v = strtol(optarg, &end, 10);
            port = (*optarg != '\0' && *end == '\0' && v > 0 && v <= 65535) ? (int)v : -1;
            break;
        }
        case 'w':
            pw = optarg;
            break;
        case 'u':
            ruser = optarg;
            break;
        case 'd':
            write_db = 1;
            break;
        case 'D':
            dsn = optarg;
            break;
        case 'q':
            quiet = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc || port <= 0 || port > 65535) {
        if (port <= 0 || port > 65535)
            fprintf(stderr, "scour-publish: --redis-port must be a number from 1 to 65535\n");
        usage(stderr);
        return 2;
    }
    if (input != NULL && (in = fopen(input, "r")) == NULL) {
        fprintf(stderr, "scour-publish: cannot open %s\n", input);
        return 2;
    }
    memset(&po, 0, sizeof po);
    po.redis.host = host;
    po.redis.port = port;
    po.redis.password = pw;
    po.redis.user = ruser;
    po.stream = stream;
    po.pg_dsn = write_db ? dsn : NULL;
    p = sc_publisher_create(&po, err, sizeof err);
    if (p == NULL) {
        fprintf(stderr, "scour-publish: %s\n", err);
        if (in != stdin)
            fclose(in);
        return 2;
    }
    while ((len = getline(&line, &cap, in)) != -1) {
        sc_event ev;
        sc_status st;
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (len == 0)
            continue;
        memset(&ev, 0, sizeof ev);
        if (sc_event_parse(line, (size_t)len, &ev, err, sizeof err) != SC_OK) {
            fprintf(stderr, "scour-publish: line %ld: %s\n", lineno, err);
            bad++;
            continue;
        }
        st = write_db ? sc_publish_message_and_event(p, &ev, NULL) : sc_publish_event(p, &ev, NULL);
        if (st != SC_OK) {
            fprintf(stderr, "scour-publish: line %ld: %s\n", lineno, sc_publisher_errstr(p));
            failed++;
        } else {
            good++;
        }
        sc_event_clear(&ev);
    }
    free(line);
    if (in != stdin)
        fclose(in);
    sc_publisher_free(p);
    if (!quiet)
        printf("published %ld, invalid %ld, failed %ld\n", good, bad, failed);
    return (bad > 0 || failed > 0) ? 1 : 0;
}
