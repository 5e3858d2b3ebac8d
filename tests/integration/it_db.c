/*
 * it_db.c - integration tests of libscour/db.c and schemas/postgres against
 * the stack's real PostgreSQL (SC_PG_DSN). Safe on a shared stack: every
 * test uses random ids / unique names and deletes its rows at the end.
 * A second raw libpq connection is used only to inspect, clean up, lock rows
 * and terminate the handle's backend.
 */
#include "testlib.h"

#include "db.h"
#include "message.h"

#include <inttypes.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Per-test resources, released by teardown() even when an assertion fails
 * half-way (cmocka longjmps out of the test), so a failing run leaves no
 * rows, locks or connections behind on the shared stack. */
enum { MAX_DBS = 8, MAX_DEFER = 16 };
static sc_db *g_dbs[MAX_DBS];        /* open handles of the current test */
static PGconn *g_raw;                /* the test's raw connection */
static char g_defer[MAX_DEFER][256]; /* cleanup SQL, run by teardown */
static int g_ndefer;

/* A tracked handle with the given statement_timeout (ms). */
static sc_db *open_db_timeout(int statement_timeout_ms)
{
    char err[256] = "";
    sc_db *db = sc_db_create_opts(t_env("SC_PG_DSN"), statement_timeout_ms, err, sizeof(err));
    if (db == NULL)
        fail_msg("sc_db_create_opts: %s", err);
    for (int i = 0; i < MAX_DBS; i++)
        if (g_dbs[i] == NULL) {
            g_dbs[i] = db;
            return db;
        }
    fail_msg("too many handles in one test");
    return NULL;
}

static sc_db *open_db(void) { return open_db_timeout(SC_DB_DEFAULT_STATEMENT_TIMEOUT_MS); }

static void close_db(sc_db *db)
{
    for (int i = 0; i < MAX_DBS; i++)
        if (g_dbs[i] == db)
            g_dbs[i] = NULL;
    sc_db_free(db);
}

static PGconn *raw_open(void)
{
    if (g_raw == NULL) {
        g_raw = PQconnectdb(t_env("SC_PG_DSN"));
        if (PQstatus(g_raw) != CONNECTION_OK)
            fail_msg("raw connect: %s", PQerrorMessage(g_raw));
    }
    return g_raw;
}

/* Register cleanup SQL for the current test (ids are chosen up front). */
static void defer_sql(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void defer_sql(const char *fmt, ...)
{
    va_list ap;
    assert_true(g_ndefer < MAX_DEFER);
    va_start(ap, fmt);
    vsnprintf(g_defer[g_ndefer++], sizeof(g_defer[0]), fmt, ap);
    va_end(ap);
}

static int teardown(void **state)
{
    PGconn *c;
    int bad = 0;
    (void)state;
    /* closing the raw connection first rolls back any open transaction and
     * releases its row locks, so the deletes below cannot block */
    PQfinish(g_raw);
    g_raw = NULL;
    for (int i = 0; i < MAX_DBS; i++) {
        sc_db_free(g_dbs[i]);
        g_dbs[i] = NULL;
    }
    if (g_ndefer == 0)
        return 0;
    c = PQconnectdb(t_env("SC_PG_DSN"));
    for (int i = 0; i < g_ndefer && PQstatus(c) == CONNECTION_OK; i++) {
        PGresult *r = PQexec(c, g_defer[i]);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            print_error("cleanup `%s`: %s", g_defer[i], PQresultErrorMessage(r));
            bad = 1;
        }
        PQclear(r);
    }
    bad |= PQstatus(c) != CONNECTION_OK;
    PQfinish(c);
    g_ndefer = 0;
    return bad ? -1 : 0;
}

/* Run one statement on the raw connection; the result must be OK. */
static PGresult *raw_q(PGconn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static PGresult *raw_q(PGconn *c, const char *fmt, ...)
{
    char sql[2048];
    va_list ap;
    PGresult *r;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof(sql), fmt, ap);
    va_end(ap);
    r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("raw `%s`: %s", sql, PQresultErrorMessage(r));
    return r;
}

#define raw_exec(c, ...) PQclear(raw_q((c), __VA_ARGS__))

/* First column of the first row as an integer. */
static int64_t raw_int(PGconn *c, const char *sql)
{
    PGresult *r = raw_q(c, "%s", sql);
    int64_t v;
    assert_int_equal(PQntuples(r), 1);
    v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return v;
}

#define ST_OK(db, call)                                                            \
    do {                                                                           \
        sc_status st_ = (call);                                                    \
        if (st_ != SC_OK)                                                          \
            fail_msg("%s -> %s: %s", #call, sc_status_str(st_), sc_db_errstr(db)); \
    } while (0)

static void free_msgs(sc_message *m, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sc_message_clear(&m[i]);
    free(m);
}

/* A plain message (static strings, not to be cleared). */
static sc_message plain_msg(uint64_t id, uint64_t channel, uint64_t guild, int64_t version,
                            char *content)
{
    sc_message m;
    memset(&m, 0, sizeof(m));
    m.id = id;
    m.channel_id = channel;
    m.guild_id = guild;
    m.author_id = 42;
    m.author_type = SC_AUTHOR_USER;
    m.content = content;
    m.version = version;
    return m;
}

/* ---- migrations ---- */

static void test_migrations_idempotent(void **state)
{
    const char *dsn = t_env("SC_PG_DSN");
    char cmd[2048];
    PGconn *c;
    (void)state;
    assert_null(strchr(dsn, '\''));
    snprintf(cmd, sizeof(cmd), "'%s' '%s' >/dev/null 2>&1",
             t_repo_path("schemas/postgres/migrate.sh"), dsn);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(system(cmd), 0);
    c = raw_open();
    assert_int_equal(raw_int(c, "SELECT count(*) FROM scour_schema_migrations WHERE"
                                " (version, name) IN ((1, '001_chat.sql'), (2, '002_scour.sql'))"),
                     2);
    assert_int_equal(raw_int(c, "SELECT count(*) FROM scour_schema_migrations"
                                " WHERE version IN (1, 2)"),
                     2);
    assert_int_equal(raw_int(c, "SELECT count(*) FROM unnest(ARRAY['users','guilds',"
                                "'guild_members','channels','channel_members','channel_denies',"
                                "'messages','channel_bindings','reindex_jobs',"
                                "'reindex_job_channels']) t WHERE to_regclass(t) IS NOT NULL"),
                     10);
}

static void test_connect_failure(void **state)
{
    char err[256] = "";
    sc_db *db;
    (void)state;
    db = sc_db_create("host=127.0.0.1 port=1 dbname=x connect_timeout=2", err, sizeof(err));
    assert_null(db);
    assert_true(strlen(err) > 0);
    sc_db_free(NULL);
}

/* ---- messages ---- */

static void test_message_roundtrip(void **state)
{
    sc_db *db = open_db();
    PGconn *c = raw_open();
    uint64_t ch = t_rand_id(), id = t_rand_id(), g = t_rand_id();
    char content[] = "h\xc3\xa9llo \"world\" {a,b} \\ ; \xf0\x9f\x9a\x80";
    char fn1[] = "cat, \"the\" pic.png", ct1[] = "image/png", fn2[] = "notes.txt";
    char et[] = "video", ep[] = "YouTube", eu[] = "https://youtube.com/watch?v=x";
    char et2[] = "link";
    uint64_t mentions[] = {7, 8, UINT64_C(9223372036854775807)};
    uint64_t stickers[] = {555};
    sc_attachment att[2] = {{fn1, ct1, UINT64_C(123456789012)}, {fn2, NULL, 0}};
    sc_embed emb[2] = {{et, ep, eu}, {et2, NULL, NULL}};
    sc_message m = plain_msg(id, ch, g, 1, content), *out = NULL;
    uint64_t ids[3] = {id, t_rand_id(), id};
    size_t n = 0;
    (void)state;
    defer_sql("DELETE FROM messages WHERE channel_id = %" PRIu64, ch);

    m.author_type = SC_AUTHOR_WEBHOOK;
    m.author_id = 77;
    m.mentions = mentions;
    m.n_mentions = 3;
    m.mention_everyone = 1;
    m.attachments = att;
    m.n_attachments = 2;
    m.embeds = emb;
    m.n_embeds = 2;
    m.sticker_ids = stickers;
    m.n_stickers = 1;
    m.pinned = 1;
    ST_OK(db, sc_db_upsert_message(db, &m));

    ST_OK(db, sc_db_fetch_messages(db, ids, 3, &out, &n));
    assert_int_equal(n, 1);
    assert_true(out[0].id == id && out[0].channel_id == ch && out[0].guild_id == g);
    assert_true(out[0].author_id == 77);
    assert_int_equal(out[0].author_type, SC_AUTHOR_WEBHOOK);
    assert_string_equal(out[0].content, content);
    assert_int_equal(out[0].n_mentions, 3);
    assert_true(out[0].mentions[0] == 7 && out[0].mentions[1] == 8 &&
                out[0].mentions[2] == UINT64_C(9223372036854775807));
    assert_true(out[0].mention_everyone);
    assert_int_equal(out[0].n_attachments, 2);
    assert_string_equal(out[0].attachments[0].filename, fn1);
    assert_string_equal(out[0].attachments[0].content_type, "image/png");
    assert_true(out[0].attachments[0].size == UINT64_C(123456789012));
    assert_string_equal(out[0].attachments[1].filename, "notes.txt");
    assert_null(out[0].attachments[1].content_type);
    assert_int_equal(out[0].n_embeds, 2);
    assert_string_equal(out[0].embeds[0].type, "video");
    assert_string_equal(out[0].embeds[0].provider, "YouTube");
    assert_string_equal(out[0].embeds[0].url, eu);
    assert_string_equal(out[0].embeds[1].type, "link");
    assert_null(out[0].embeds[1].provider);
    assert_null(out[0].embeds[1].url);
    assert_int_equal(out[0].n_stickers, 1);
    assert_true(out[0].sticker_ids[0] == 555);
    assert_true(out[0].pinned);
    assert_int_equal(out[0].version, 1);
    assert_false(out[0].deleted);
    free_msgs(out, n);

    /* jsonb really is structured: query into it server-side */
    {
        char sql[256];
        snprintf(sql, sizeof(sql),
                 "SELECT (attachments->0->>'size')::bigint + jsonb_array_length(embeds)"
                 " FROM messages WHERE id = %" PRIu64,
                 id);
        assert_int_equal(raw_int(c, sql), 123456789012LL + 2);
    }

    /* a DM message: guild 0 -> NULL -> 0 again; empty arrays */
    {
        char dm[] = "";
        sc_message d = plain_msg(t_rand_id(), ch, 0, 1, dm);
        ST_OK(db, sc_db_upsert_message(db, &d));
        ST_OK(db, sc_db_fetch_messages(db, &d.id, 1, &out, &n));
        assert_int_equal(n, 1);
        assert_true(out[0].guild_id == 0);
        assert_string_equal(out[0].content, "");
        assert_true(out[0].n_mentions == 0 && out[0].n_attachments == 0 && out[0].n_embeds == 0 &&
                    out[0].n_stickers == 0);
        free_msgs(out, n);
    }

    /* an id that does not fit bigint is bad input, not a crash */
    {
        char x[] = "x";
        sc_message big = plain_msg(UINT64_MAX, ch, 0, 1, x);
        assert_int_equal(sc_db_upsert_message(db, &big), SC_EINVAL);
    }
    /* empty fetch allocates nothing */
    ST_OK(db, sc_db_fetch_messages(db, ids, 0, &out, &n));
    assert_null(out);
    assert_int_equal(n, 0);

    close_db(db);
}

static void test_version_never_regresses(void **state)
{
    sc_db *db = open_db();
    PGconn *c = raw_open();
    uint64_t ch = t_rand_id(), id = t_rand_id();
    char v1[] = "old", v2[] = "new", v3[] = "newer";
    sc_message m2 = plain_msg(id, ch, 1, 2, v2), m1 = plain_msg(id, ch, 1, 1, v1),
               m3 = plain_msg(id, ch, 1, 3, v3), *out = NULL;
    size_t n = 0;
    char sql[256];
    (void)state;
    defer_sql("DELETE FROM messages WHERE channel_id = %" PRIu64, ch);

    ST_OK(db, sc_db_upsert_message(db, &m2));
    assert_int_equal(sc_db_upsert_message(db, &m1), SC_ECONFLICT); /* older */
    assert_int_equal(sc_db_upsert_message(db, &m2), SC_ECONFLICT); /* replay */
    ST_OK(db, sc_db_fetch_messages(db, &id, 1, &out, &n));
    assert_int_equal(n, 1);
    assert_string_equal(out[0].content, "new");
    assert_int_equal(out[0].version, 2);
    free_msgs(out, n);

    ST_OK(db, sc_db_upsert_message(db, &m3));
    ST_OK(db, sc_db_fetch_messages(db, &id, 1, &out, &n));
    assert_string_equal(out[0].content, "newer");
    assert_int_equal(out[0].version, 3);
    free_msgs(out, n);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM messages WHERE id = %" PRIu64
             " AND edited_at IS NOT NULL AND deleted_at IS NULL",
             id);
    assert_int_equal(raw_int(c, sql), 1);

    close_db(db);
}

static void test_deleted_not_hydrated_but_paged(void **state)
{
    sc_db *db = open_db();
    uint64_t ch = t_rand_id(), base = t_rand_id() >> 1;
    uint64_t ids[3] = {base + 1, base + 2, base + 3};
    char a[] = "one", b[] = "two secret", d[] = "three";
    char *texts[3] = {a, b, d};
    sc_message *out = NULL;
    size_t n = 0;
    int64_t count = 0;
    (void)state;
    defer_sql("DELETE FROM messages WHERE channel_id = %" PRIu64, ch);

    for (int i = 0; i < 3; i++) {
        sc_message m = plain_msg(ids[i], ch, 5, 1, texts[i]);
        ST_OK(db, sc_db_upsert_message(db, &m));
    }
    {
        sc_message del = plain_msg(ids[1], ch, 5, 2, b);
        del.deleted = 1;
        ST_OK(db, sc_db_upsert_message(db, &del));
        /* a late replay of the original create does not resurrect it */
        del.deleted = 0;
        del.version = 1;
        assert_int_equal(sc_db_upsert_message(db, &del), SC_ECONFLICT);
    }
    ST_OK(db, sc_db_fetch_messages(db, ids, 3, &out, &n));
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++)
        assert_true(out[i].id != ids[1] && !out[i].deleted);
    free_msgs(out, n);

    ST_OK(db, sc_db_page_messages(db, ch, 0, 0, 100, &out, &n));
    assert_int_equal(n, 3);
    assert_true(out[0].id == ids[0] && out[1].id == ids[1] && out[2].id == ids[2]);
    assert_false(out[0].deleted);
    assert_true(out[1].deleted);
    assert_int_equal(out[1].version, 2);
    assert_string_equal(out[1].content, ""); /* tombstone keeps no content */
    assert_false(out[2].deleted);
    free_msgs(out, n);
    ST_OK(db, sc_db_count_messages(db, ch, 0, &count));
    assert_int_equal(count, 3);

    close_db(db);
}

static void test_keyset_paging_exactly_once(void **state)
{
    enum { N = 57 };
    sc_db *db = open_db();
    uint64_t ch = t_rand_id(), other = t_rand_id(), ids[N], id;
    uint64_t after = 0, seen[N];
    size_t nseen = 0, n = 0;
    int64_t count = 0;
    sc_message *out = NULL;
    char txt[] = "page me";
    (void)state;
    defer_sql("DELETE FROM messages WHERE channel_id IN (%" PRIu64 ", %" PRIu64 ")", ch, other);

    id = t_rand_id() >> 2;
    for (int i = 0; i < N; i++) {
        sc_message m;
        id += 1 + (t_rand_id() % 1000);
        ids[i] = id;
        m = plain_msg(id, ch, 9, 1, txt);
        ST_OK(db, sc_db_upsert_message(db, &m));
        if (i % 10 == 0) { /* noise in another channel, interleaved ids */
            sc_message o = plain_msg(id + 1, other, 9, 1, txt);
            ST_OK(db, sc_db_upsert_message(db, &o));
            id++;
        }
    }
    for (int pages = 0;; pages++) {
        assert_true(pages < 20);
        ST_OK(db, sc_db_page_messages(db, ch, after, 0, 10, &out, &n));
        if (n == 0)
            break;
        assert_true(n <= 10);
        for (size_t i = 0; i < n; i++) {
            assert_true(out[i].channel_id == ch);
            assert_true(out[i].id > after);
            assert_true(nseen < N);
            seen[nseen++] = out[i].id;
            after = out[i].id;
        }
        free_msgs(out, n);
    }
    assert_int_equal(nseen, N);
    for (int i = 0; i < N; i++)
        assert_true(seen[i] == ids[i]); /* every one, once, in order */

    /* upper bound and counts */
    ST_OK(db, sc_db_page_messages(db, ch, 0, ids[20], 100, &out, &n));
    assert_int_equal(n, 20);
    assert_true(out[19].id == ids[19]);
    free_msgs(out, n);
    ST_OK(db, sc_db_count_messages(db, ch, ids[10], &count));
    assert_int_equal(count, N - 10);
    assert_int_equal(sc_db_page_messages(db, ch, 0, 0, 0, &out, &n), SC_EINVAL);

    close_db(db);
}

/* sc_db_fetch_messages_ex: edit time parallel to the rows, 0 = never. */
static void test_fetch_messages_ex_edit_time(void **state)
{
    sc_db *db = open_db();
    PGconn *c = raw_open();
    uint64_t ch = t_rand_id(), base = t_rand_id() >> 1;
    uint64_t ids[4] = {base + 1, base + 2, base + 3, base + 4}; /* edited, plain, deleted, absent */
    char t1[] = "first words", t2[] = "plain", t3[] = "gone", t1b[] = "second words";
    sc_message *out = NULL;
    int64_t *ed = NULL, want, now_ms;
    size_t n = 0;
    char sql[256];
    (void)state;
    defer_sql("DELETE FROM messages WHERE channel_id = %" PRIu64, ch);

    {
        sc_message a = plain_msg(ids[0], ch, 3, 1, t1), b = plain_msg(ids[1], ch, 3, 1, t2),
                   d = plain_msg(ids[2], ch, 3, 1, t3);
        ST_OK(db, sc_db_upsert_message(db, &a));
        ST_OK(db, sc_db_upsert_message(db, &b));
        ST_OK(db, sc_db_upsert_message(db, &d));
        /* before the edit: never edited -> 0 */
        ST_OK(db, sc_db_fetch_messages_ex(db, ids, 2, &out, &n, &ed));
        assert_int_equal(n, 2);
        assert_non_null(ed);
        assert_int_equal(ed[0], 0);
        assert_int_equal(ed[1], 0);
        free_msgs(out, n);
        free(ed);
        a = plain_msg(ids[0], ch, 3, 2, t1b);
        ST_OK(db, sc_db_upsert_message(db, &a));
        d.version = 2;
        d.deleted = 1;
        ST_OK(db, sc_db_upsert_message(db, &d));
    }
    snprintf(
        sql, sizeof(sql),
        "SELECT (extract(epoch FROM edited_at) * 1000)::bigint FROM messages WHERE id = %" PRIu64,
        ids[0]);
    want = raw_int(c, sql);
    now_ms = raw_int(c, "SELECT (extract(epoch FROM now()) * 1000)::bigint");
    assert_true(want > 0 && want <= now_ms && now_ms - want < 60000);

    ST_OK(db, sc_db_fetch_messages_ex(db, ids, 4, &out, &n, &ed));
    assert_int_equal(n, 2); /* deleted and absent rows are skipped, as before */
    assert_non_null(ed);
    for (size_t i = 0; i < n; i++) {
        if (out[i].id == ids[0]) {
            assert_string_equal(out[i].content, "second words");
            assert_int_equal(ed[i], want);
        } else {
            assert_true(out[i].id == ids[1]);
            assert_int_equal(ed[i], 0);
        }
    }
    free_msgs(out, n);
    free(ed);

    /* edited_ms NULL is allowed; the old call gives the same rows */
    ST_OK(db, sc_db_fetch_messages_ex(db, ids, 4, &out, &n, NULL));
    assert_int_equal(n, 2);
    free_msgs(out, n);
    ST_OK(db, sc_db_fetch_messages(db, ids, 4, &out, &n));
    assert_int_equal(n, 2);
    free_msgs(out, n);
    /* nothing found / nothing asked: no arrays */
    ed = (int64_t *)1;
    ST_OK(db, sc_db_fetch_messages_ex(db, &ids[3], 1, &out, &n, &ed));
    assert_int_equal(n, 0);
    assert_null(out);
    assert_null(ed);
    ed = (int64_t *)1;
    ST_OK(db, sc_db_fetch_messages_ex(db, ids, 0, &out, &n, &ed));
    assert_null(ed);

    close_db(db);
}

/* sc_db_page_messages_desc: keyset backwards, newest first, live rows only. */
static void test_page_messages_desc(void **state)
{
    enum { N = 12 };
    sc_db *db = open_db();
    uint64_t ch = t_rand_id(), other = t_rand_id(), base = t_rand_id() >> 2, ids[N];
    uint64_t before = 0, seen[N];
    size_t nseen = 0, n = 0;
    sc_message *out = NULL;
    char txt[] = "back";
    (void)state;
    defer_sql("DELETE FROM messages WHERE channel_id IN (%" PRIu64 ", %" PRIu64 ")", ch, other);

    for (int i = 0; i < N; i++) {
        sc_message m, o;
        ids[i] = base + 10 * (uint64_t)(i + 1);
        m = plain_msg(ids[i], ch, 9, 1, txt);
        ST_OK(db, sc_db_upsert_message(db, &m));
        o = plain_msg(ids[i] + 1, other, 9, 1, txt); /* interleaved noise */
        ST_OK(db, sc_db_upsert_message(db, &o));
    }
    /* delete ids[5], ids[6], ids[7]: a run of tombstones between live rows */
    for (int i = 5; i <= 7; i++) {
        sc_message d = plain_msg(ids[i], ch, 9, 2, txt);
        d.deleted = 1;
        ST_OK(db, sc_db_upsert_message(db, &d));
    }
    /* the 3 live messages right before ids[9]: 8, then over the tombstones 4, 3 */
    ST_OK(db, sc_db_page_messages_desc(db, ch, ids[9], 3, &out, &n));
    assert_int_equal(n, 3);
    assert_true(out[0].id == ids[8] && out[1].id == ids[4] && out[2].id == ids[3]);
    for (size_t i = 0; i < n; i++) {
        assert_false(out[i].deleted);
        assert_true(out[i].channel_id == ch);
        assert_string_equal(out[i].content, "back");
    }
    free_msgs(out, n);
    /* before the first message: nothing */
    ST_OK(db, sc_db_page_messages_desc(db, ch, ids[0], 5, &out, &n));
    assert_int_equal(n, 0);
    assert_null(out);
    /* the whole channel backwards in pages of 2: every live one, once */
    for (int pages = 0;; pages++) {
        assert_true(pages < 20);
        ST_OK(db, sc_db_page_messages_desc(db, ch, before, 2, &out, &n));
        if (n == 0)
            break;
        assert_true(n <= 2);
        for (size_t i = 0; i < n; i++) {
            assert_true(before == 0 || out[i].id < before);
            assert_true(nseen < N);
            seen[nseen++] = out[i].id;
            before = out[i].id;
        }
        free_msgs(out, n);
    }
    assert_int_equal(nseen, N - 3);
    for (size_t i = 0, k = N; i < nseen; i++) {
        do
            k--;
        while (k >= 5 && k <= 7);
        assert_true(seen[i] == ids[k]); /* descending, tombstones skipped */
    }
    assert_int_equal(sc_db_page_messages_desc(db, ch, 0, 0, &out, &n), SC_EINVAL);
    assert_int_equal(sc_db_page_messages_desc(db, ch, 0, 10001, &out, &n), SC_EINVAL);

    close_db(db);
}

/* ---- readability ---- */

static int has(const uint64_t *v, size_t n, uint64_t x)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] == x)
            return 1;
    return 0;
}

static void test_readability_rule(void **state)
{
    sc_db *db = open_db();
    uint64_t g = t_rand_id(), pub = t_rand_id(), priv = t_rand_id(), dm = t_rand_id();
    uint64_t member = t_rand_id(), denied = t_rand_id(), privy = t_rand_id(),
             outsider = t_rand_id();
    uint64_t cand[4] = {pub, priv, dm, t_rand_id() /* unknown channel */};
    /* expected[user][channel] for pub, priv, dm */
    struct {
        uint64_t user;
        int pub, priv, dm;
    } table[] = {
        {member, 1, 0, 1},   /* guild member: public yes, private no, in the DM */
        {denied, 0, 0, 0},   /* member with a deny on the public channel */
        {privy, 1, 1, 0},    /* member with explicit access to the private channel */
        {outsider, 0, 0, 1}, /* not a guild member (even with a private row), in the DM */
    };
    uint64_t *out = NULL, gid = 1;
    size_t n = 0;
    (void)state;
    defer_sql("DELETE FROM channels WHERE id = %" PRIu64, dm);
    defer_sql("DELETE FROM guilds WHERE id = %" PRIu64, g); /* cascades to channels, members */
    defer_sql("DELETE FROM users WHERE id = %" PRIu64, member);

    ST_OK(db, sc_db_upsert_user(db, member, "member"));
    ST_OK(db, sc_db_upsert_guild(db, g, "it-db guild", member));
    ST_OK(db, sc_db_upsert_channel(db, pub, g, "general", "text", "public"));
    ST_OK(db, sc_db_upsert_channel(db, priv, g, "staff", "text", "private"));
    ST_OK(db, sc_db_upsert_channel(db, dm, 0, "", "dm", NULL));
    assert_int_equal(sc_db_upsert_channel(db, t_rand_id(), g, "bad", "dm", NULL), SC_EINVAL);
    assert_int_equal(sc_db_upsert_channel(db, t_rand_id(), 0, "bad", "text", NULL), SC_EINVAL);
    ST_OK(db, sc_db_upsert_member(db, g, member));
    ST_OK(db, sc_db_upsert_member(db, g, denied));
    ST_OK(db, sc_db_upsert_member(db, g, privy));
    ST_OK(db, sc_db_upsert_member(db, g, privy)); /* idempotent */
    ST_OK(db, sc_db_set_channel_access(db, pub, denied, SC_ACCESS_DENY));
    ST_OK(db, sc_db_set_channel_access(db, priv, privy, SC_ACCESS_MEMBER));
    ST_OK(db, sc_db_set_channel_access(db, priv, outsider, SC_ACCESS_MEMBER));
    ST_OK(db, sc_db_set_channel_access(db, dm, member, SC_ACCESS_MEMBER));
    ST_OK(db, sc_db_set_channel_access(db, dm, outsider, SC_ACCESS_MEMBER));
    /* a stray member row on the DM is replaced by a deny, then cleared */
    ST_OK(db, sc_db_set_channel_access(db, dm, denied, SC_ACCESS_MEMBER));
    ST_OK(db, sc_db_set_channel_access(db, dm, denied, SC_ACCESS_DENY));
    ST_OK(db, sc_db_set_channel_access(db, dm, denied, SC_ACCESS_DEFAULT));

    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        ST_OK(db, sc_db_readable_channels(db, table[i].user, 0, cand, 4, &out, &n));
        if (has(out, n, pub) != table[i].pub || has(out, n, priv) != table[i].priv ||
            has(out, n, dm) != table[i].dm ||
            n != (size_t)(table[i].pub + table[i].priv + table[i].dm))
            fail_msg("user row %zu: got %zu channels (pub %d priv %d dm %d)", i, n,
                     has(out, n, pub), has(out, n, priv), has(out, n, dm));
        free(out);
        /* n_candidates 0, guild 0: everything of the user, same answer */
        ST_OK(db, sc_db_readable_channels(db, table[i].user, 0, NULL, 0, &out, &n));
        assert_int_equal(has(out, n, pub), table[i].pub);
        assert_int_equal(has(out, n, priv), table[i].priv);
        assert_int_equal(has(out, n, dm), table[i].dm);
        free(out);
    }
    /* guild filter: whole guild, and candidates restricted to the guild */
    ST_OK(db, sc_db_readable_channels(db, privy, g, NULL, 0, &out, &n));
    assert_int_equal(n, 2);
    assert_true(out[0] == (pub < priv ? pub : priv) && out[1] == (pub < priv ? priv : pub));
    free(out);
    ST_OK(db, sc_db_readable_channels(db, member, g, cand, 4, &out, &n));
    assert_int_equal(n, 1);
    assert_true(out[0] == pub);
    free(out);

    ST_OK(db, sc_db_channel_guild(db, pub, &gid));
    assert_true(gid == g);
    ST_OK(db, sc_db_channel_guild(db, dm, &gid));
    assert_true(gid == 0);
    assert_int_equal(sc_db_channel_guild(db, cand[3], &gid), SC_ENOTFOUND);
    ST_OK(db, sc_db_guild_channels(db, g, &out, &n));
    assert_int_equal(n, 2);
    assert_true(has(out, n, pub) && has(out, n, priv) && out[0] < out[1]);
    free(out);

    close_db(db);
}

/* ---- bindings ---- */

enum { RACE_ROUNDS = 20 };

typedef struct racer {
    sc_db *db;
    pthread_barrier_t *bar;
    const uint64_t *channels;
    const char *cluster;
    sc_binding won[RACE_ROUNDS];
    sc_status st[RACE_ROUNDS];
} racer;

static void *race_main(void *arg)
{
    racer *r = arg;
    char index[64];
    for (int i = 0; i < RACE_ROUNDS; i++) {
        snprintf(index, sizeof(index), "msgs-%s", r->cluster);
        pthread_barrier_wait(r->bar);
        r->st[i] = sc_db_binding_insert_if_absent(r->db, r->channels[i], r->cluster, index,
                                                  SC_BINDING_ACTIVE, &r->won[i]);
    }
    return NULL;
}

static void test_binding_insert_race(void **state)
{
    pthread_barrier_t bar;
    pthread_t th[2];
    racer *rc = calloc(2, sizeof(*rc));
    uint64_t channels[RACE_ROUNDS];
    char ca[64], cb[64];
    sc_binding b;
    int wins_a = 0;
    (void)state;

    assert_non_null(rc);
    t_unique(ca, sizeof(ca), "itdb-race-a");
    t_unique(cb, sizeof(cb), "itdb-race-b");
    defer_sql("DELETE FROM channel_bindings WHERE cluster IN ('%s', '%s')", ca, cb);
    for (int i = 0; i < RACE_ROUNDS; i++)
        channels[i] = t_rand_id();
    pthread_barrier_init(&bar, NULL, 2);
    for (int k = 0; k < 2; k++) {
        rc[k].db = open_db();
        rc[k].bar = &bar;
        rc[k].channels = channels;
        rc[k].cluster = k == 0 ? ca : cb;
        assert_int_equal(pthread_create(&th[k], NULL, race_main, &rc[k]), 0);
    }
    for (int k = 0; k < 2; k++)
        pthread_join(th[k], NULL);
    pthread_barrier_destroy(&bar);

    for (int i = 0; i < RACE_ROUNDS; i++) {
        assert_int_equal(rc[0].st[i], SC_OK);
        assert_int_equal(rc[1].st[i], SC_OK);
        /* both racers agree on one winner, and it is what is stored */
        assert_true(rc[0].won[i].channel_id == channels[i]);
        assert_string_equal(rc[0].won[i].cluster, rc[1].won[i].cluster);
        assert_string_equal(rc[0].won[i].index, rc[1].won[i].index);
        assert_int_equal(rc[0].won[i].generation, 1);
        assert_int_equal(rc[1].won[i].generation, 1);
        assert_int_equal(rc[0].won[i].state, SC_BINDING_ACTIVE);
        ST_OK(rc[0].db, sc_db_binding_get(rc[0].db, channels[i], &b));
        assert_string_equal(b.cluster, rc[0].won[i].cluster);
        wins_a += strcmp(b.cluster, ca) == 0;
    }
    print_message("binding race: cluster a won %d of %d rounds\n", wins_a, RACE_ROUNDS);
    for (int k = 0; k < 2; k++)
        close_db(rc[k].db);
    free(rc);
}

static void test_binding_cas(void **state)
{
    sc_db *db = open_db();
    uint64_t ch = t_rand_id(), *chans = NULL;
    char c1[64], c2[64];
    char toolong[200];
    sc_binding b, w;
    sc_cluster_count *cc = NULL;
    size_t n = 0;
    int found = 0;
    (void)state;

    t_unique(c1, sizeof(c1), "itdb-cas-1");
    t_unique(c2, sizeof(c2), "itdb-cas-2");
    defer_sql("DELETE FROM channel_bindings WHERE channel_id = %" PRIu64, ch);
    assert_int_equal(sc_db_binding_get(db, ch, &b), SC_ENOTFOUND);
    ST_OK(db, sc_db_binding_insert_if_absent(db, ch, c1, "idx-1", SC_BINDING_BUILDING, &w));
    assert_int_equal(w.state, SC_BINDING_BUILDING);
    assert_string_equal(w.prev_cluster, "");
    /* a second insert does not change the stored row */
    ST_OK(db, sc_db_binding_insert_if_absent(db, ch, c2, "idx-2", SC_BINDING_ACTIVE, &w));
    assert_string_equal(w.cluster, c1);
    assert_int_equal(w.generation, 1);

    ST_OK(db, sc_db_binding_update(db, ch, c2, "idx-2", SC_BINDING_MOVING, 1, &b));
    assert_int_equal(b.generation, 2);
    assert_string_equal(b.cluster, c2);
    assert_string_equal(b.index, "idx-2");
    assert_int_equal(b.state, SC_BINDING_MOVING);
    assert_string_equal(b.prev_cluster, c1);
    assert_string_equal(b.prev_index, "idx-1");
    /* stale generation loses, nothing changes */
    assert_int_equal(sc_db_binding_update(db, ch, c1, "idx-x", SC_BINDING_ACTIVE, 1, NULL),
                     SC_ECONFLICT);
    ST_OK(db, sc_db_binding_get(db, ch, &b));
    assert_string_equal(b.cluster, c2);
    assert_int_equal(b.generation, 2);
    /* same place, new state: previous location is kept */
    ST_OK(db, sc_db_binding_update(db, ch, c2, "idx-2", SC_BINDING_ACTIVE, 2, NULL));
    ST_OK(db, sc_db_binding_get(db, ch, &b));
    assert_int_equal(b.generation, 3);
    assert_int_equal(b.state, SC_BINDING_ACTIVE);
    assert_string_equal(b.prev_cluster, c1);
    assert_string_equal(b.prev_index, "idx-1");
    assert_int_equal(sc_db_binding_update(db, t_rand_id(), c1, "i", SC_BINDING_ACTIVE, 1, NULL),
                     SC_ENOTFOUND);
    assert_int_equal(
        sc_db_binding_update(db, ch, c1, "i", (sc_binding_state)99 /* not a state */, 3, NULL),
        SC_EINVAL);
    memset(toolong, 'x', sizeof(toolong) - 1);
    toolong[sizeof(toolong) - 1] = '\0';
    assert_int_equal(
        sc_db_binding_insert_if_absent(db, t_rand_id(), toolong, "i", SC_BINDING_ACTIVE, &w),
        SC_EINVAL);

    ST_OK(db, sc_db_bindings_on_cluster(db, c2, &chans, &n));
    assert_int_equal(n, 1);
    assert_true(chans[0] == ch);
    free(chans);
    ST_OK(db, sc_db_bindings_on_cluster(db, c1, &chans, &n));
    assert_int_equal(n, 0);
    assert_null(chans);
    ST_OK(db, sc_db_binding_counts(db, &cc, &n));
    for (size_t i = 0; i < n; i++) {
        if (strcmp(cc[i].cluster, c2) == 0) {
            found = 1;
            assert_int_equal(cc[i].total, 1);
            assert_int_equal(cc[i].active, 1);
            assert_int_equal(cc[i].moving, 0);
        }
    }
    assert_true(found);
    free(cc);

    close_db(db);
}

/* ---- jobs ---- */

enum { CLAIM_JOBS = 30 };

typedef struct claimer {
    sc_db *db;
    const char *pool; /* to_cluster of this test's jobs */
    char worker[32];
    int64_t got[CLAIM_JOBS];
    int n;
    sc_status last;
} claimer;

static void *claim_main(void *arg)
{
    claimer *cl = arg;
    sc_job j;
    for (;;) {
        cl->last = sc_db_job_claim(cl->db, cl->worker, cl->pool, 0, &j);
        if (cl->last != SC_OK || cl->n >= CLAIM_JOBS)
            break;
        cl->got[cl->n++] = j.id;
    }
    return NULL;
}

static void test_job_claim_skip_locked(void **state)
{
    sc_db *db = open_db();
    PGconn *c = raw_open();
    char pool[64];
    int64_t ids[CLAIM_JOBS], a, b;
    claimer *cl = calloc(2, sizeof(*cl));
    pthread_t th[2];
    sc_job j;
    int64_t t0;
    (void)state;

    assert_non_null(cl);
    t_unique(pool, sizeof(pool), "itdb-claim");
    defer_sql("DELETE FROM reindex_jobs WHERE to_cluster = '%s'", pool);
    for (int i = 0; i < CLAIM_JOBS; i++)
        ST_OK(db, sc_db_job_create(db, "cluster", "src", pool, 7, &ids[i]));
    for (int k = 0; k < 2; k++) {
        cl[k].db = open_db();
        cl[k].pool = pool;
        snprintf(cl[k].worker, sizeof(cl[k].worker), "worker-%d", k);
        assert_int_equal(pthread_create(&th[k], NULL, claim_main, &cl[k]), 0);
    }
    for (int k = 0; k < 2; k++)
        pthread_join(th[k], NULL);
    assert_int_equal(cl[0].last, SC_ENOTFOUND);
    assert_int_equal(cl[1].last, SC_ENOTFOUND);
    assert_int_equal(cl[0].n + cl[1].n, CLAIM_JOBS);
    for (int i = 0; i < CLAIM_JOBS; i++) { /* each job claimed exactly once, by its claimer */
        int times = 0;
        for (int k = 0; k < 2; k++)
            for (int x = 0; x < cl[k].n; x++)
                if (cl[k].got[x] == ids[i]) {
                    times++;
                    ST_OK(db, sc_db_job_get(db, ids[i], &j));
                    assert_int_equal(j.state, SC_JOB_RUNNING);
                    assert_string_equal(j.worker, cl[k].worker);
                    assert_true(j.heartbeat_ms > 0);
                }
        assert_int_equal(times, 1);
    }
    print_message("claims: worker-0 %d, worker-1 %d\n", cl[0].n, cl[1].n);
    for (int k = 0; k < 2; k++)
        close_db(cl[k].db);
    free(cl);

    /* a row locked by someone else is skipped, not waited for */
    ST_OK(db, sc_db_job_create(db, "channel", "1", pool, 0, &a));
    ST_OK(db, sc_db_job_create(db, "channel", "2", pool, 0, &b));
    raw_exec(c, "BEGIN");
    raw_exec(c, "SELECT id FROM reindex_jobs WHERE id = %" PRId64 " FOR UPDATE", a);
    t0 = sc_now_ms();
    ST_OK(db, sc_db_job_claim(db, "w", pool, 0, &j));
    assert_true(j.id == b);
    assert_int_equal(sc_db_job_claim(db, "w", pool, 0, &j), SC_ENOTFOUND);
    assert_true(sc_now_ms() - t0 < 2000);
    raw_exec(c, "COMMIT");
    ST_OK(db, sc_db_job_claim(db, "w", pool, 0, &j));
    assert_true(j.id == a);
    assert_string_equal(j.kind, "channel");
    assert_string_equal(j.target, "1");
    assert_string_equal(j.to_cluster, pool);

    close_db(db);
}

static void test_job_checkpoint_resume(void **state)
{
    sc_db *db = open_db();
    PGconn *c = raw_open();
    char pool[64];
    uint64_t chans[3] = {t_rand_id(), t_rand_id(), t_rand_id()};
    sc_job_channel *jc = NULL, set;
    size_t n = 0;
    int64_t id;
    sc_job j;
    (void)state;

    t_unique(pool, sizeof(pool), "itdb-resume");
    defer_sql("DELETE FROM reindex_jobs WHERE to_cluster = '%s'", pool);
    ST_OK(db, sc_db_job_create(db, "guild", "12345", pool, 30, &id));
    ST_OK(db, sc_db_job_get(db, id, &j));
    assert_int_equal(j.state, SC_JOB_QUEUED);
    assert_int_equal(j.phase, 1);
    assert_int_equal(j.recent_days, 30);
    assert_true(j.created_ms > 0 && j.heartbeat_ms == 0 && j.worker[0] == '\0');
    /* checkpoint on a job nobody runs is refused */
    assert_int_equal(sc_db_job_checkpoint(db, id, chans[0], 1, 1), SC_ECONFLICT);
    ST_OK(db, sc_db_job_channels_add(db, id, chans, 3));
    ST_OK(db, sc_db_job_channels_add(db, id, chans, 3)); /* idempotent */
    ST_OK(db, sc_db_job_claim(db, "w1", pool, 0, &j));
    assert_true(j.id == id);
    ST_OK(db, sc_db_job_progress(db, id, 1, 100));
    ST_OK(db, sc_db_job_checkpoint(db, id, chans[0], 500, 10));
    ST_OK(db, sc_db_job_checkpoint(db, id, chans[1], 600, 2));
    ST_OK(db, sc_db_job_checkpoint(db, id, chans[1], 700, 3));
    close_db(db); /* the worker dies */

    db = open_db();
    ST_OK(db, sc_db_job_get(db, id, &j));
    assert_int_equal(j.state, SC_JOB_RUNNING);
    assert_true(j.checkpoint_id == 700);
    assert_int_equal(j.done, 15);
    assert_int_equal(j.total, 100);
    ST_OK(db, sc_db_job_channels(db, id, &jc, &n));
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++) {
        uint64_t want = jc[i].channel_id == chans[0] ? 500 : jc[i].channel_id == chans[1] ? 700 : 0;
        assert_true(jc[i].checkpoint_id == want);
        assert_int_equal(jc[i].phase, 1);
        assert_false(jc[i].done);
        if (i > 0)
            assert_true(jc[i - 1].channel_id < jc[i].channel_id);
    }
    free(jc);

    /* fresh heartbeat: not stealable; stale: another worker resumes it */
    assert_int_equal(sc_db_job_claim(db, "w2", pool, 60, &j), SC_ENOTFOUND);
    raw_exec(c,
             "UPDATE reindex_jobs SET heartbeat_at = now() - interval '120 seconds'"
             " WHERE id = %" PRId64,
             id);
    ST_OK(db, sc_db_job_claim(db, "w2", pool, 60, &j));
    assert_true(j.id == id);
    assert_string_equal(j.worker, "w2");
    assert_true(j.checkpoint_id == 700);
    assert_int_equal(j.done, 15);

    ST_OK(db, sc_db_job_progress(db, id, 2, -1));
    set.channel_id = chans[0];
    set.phase = 2;
    set.checkpoint_id = 0;
    set.done = 1;
    ST_OK(db, sc_db_job_channel_set(db, id, &set));
    ST_OK(db, sc_db_job_checkpoint(db, id, chans[2], 900, 1));
    ST_OK(db, sc_db_job_channels(db, id, &jc, &n));
    for (size_t i = 0; i < n; i++) {
        if (jc[i].channel_id == chans[0])
            assert_true(jc[i].done && jc[i].phase == 2);
        if (jc[i].channel_id == chans[2])
            assert_true(jc[i].checkpoint_id == 900 && !jc[i].done);
    }
    free(jc);
    ST_OK(db, sc_db_job_get(db, id, &j));
    assert_int_equal(j.phase, 2);
    assert_int_equal(j.total, 100);

    ST_OK(db, sc_db_job_finish(db, id, SC_JOB_FAILED, "cluster c9 unreachable"));
    ST_OK(db, sc_db_job_get(db, id, &j));
    assert_int_equal(j.state, SC_JOB_FAILED);
    assert_string_equal(j.error, "cluster c9 unreachable");
    assert_int_equal(sc_db_job_checkpoint(db, id, chans[2], 950, 1), SC_ECONFLICT);
    assert_int_equal(sc_db_job_finish(db, id, SC_JOB_DONE, NULL), SC_ECONFLICT);
    assert_int_equal(sc_db_job_finish(db, id, (sc_job_state)99 /* not a state */, NULL), SC_EINVAL);
    assert_int_equal(sc_db_job_get(db, -id, &j), SC_ENOTFOUND);
    assert_int_equal(sc_db_job_checkpoint(db, -id, 0, 1, 1), SC_ENOTFOUND);
    assert_int_equal(sc_db_job_create(db, "bogus", NULL, NULL, 0, &id), SC_EINVAL);

    close_db(db);
}

/* sc_db_job_for_channel: newest queued/running job listing the channel. */
static void test_job_for_channel(void **state)
{
    sc_db *db = open_db();
    char pool[64], target[32];
    uint64_t ch = t_rand_id(), other = t_rand_id();
    uint64_t both[2] = {ch, other};
    int64_t a, b, x;
    sc_job j;
    (void)state;

    t_unique(pool, sizeof(pool), "itdb-jobch");
    defer_sql("DELETE FROM reindex_jobs WHERE to_cluster = '%s'", pool);
    assert_int_equal(sc_db_job_for_channel(db, ch, &j), SC_ENOTFOUND);
    /* a job naming the channel only as its target does not list it */
    snprintf(target, sizeof(target), "%" PRIu64, ch);
    ST_OK(db, sc_db_job_create(db, "channel", target, pool, 0, &x));
    assert_int_equal(sc_db_job_for_channel(db, ch, &j), SC_ENOTFOUND);
    ST_OK(db, sc_db_job_finish(db, x, SC_JOB_CANCELLED, NULL));

    ST_OK(db, sc_db_job_create(db, "channel", target, pool, 0, &a));
    ST_OK(db, sc_db_job_channels_add(db, a, &ch, 1));
    ST_OK(db, sc_db_job_for_channel(db, ch, &j));
    assert_true(j.id == a);
    assert_int_equal(j.state, SC_JOB_QUEUED);
    ST_OK(db, sc_db_job_create(db, "guild", "77", pool, 0, &b));
    ST_OK(db, sc_db_job_channels_add(db, b, both, 2));
    ST_OK(db, sc_db_job_for_channel(db, ch, &j)); /* newest wins */
    assert_true(j.id == b);
    assert_string_equal(j.kind, "guild");
    ST_OK(db, sc_db_job_for_channel(db, other, &j));
    assert_true(j.id == b);

    /* an ended job no longer counts: back to a, which runs and progresses */
    ST_OK(db, sc_db_job_finish(db, b, SC_JOB_CANCELLED, NULL));
    assert_int_equal(sc_db_job_for_channel(db, other, &j), SC_ENOTFOUND);
    ST_OK(db, sc_db_job_claim(db, "w", pool, 0, &j));
    assert_true(j.id == a);
    ST_OK(db, sc_db_job_checkpoint(db, a, ch, 999, 123));
    ST_OK(db, sc_db_job_for_channel(db, ch, &j));
    assert_true(j.id == a);
    assert_int_equal(j.state, SC_JOB_RUNNING);
    assert_int_equal(j.done, 123);
    assert_true(j.checkpoint_id == 999);
    ST_OK(db, sc_db_job_finish(db, a, SC_JOB_DONE, NULL));
    assert_int_equal(sc_db_job_for_channel(db, ch, &j), SC_ENOTFOUND);

    close_db(db);
}

/* sc_db_job_claim_id: claim by id - queued, failed, stale or dead-owner
 * running jobs; never a live owner's, a done or a cancelled job. */
static void test_job_claim_id(void **state)
{
    sc_db *db = open_db();
    PGconn *c = raw_open();
    char pool[64];
    int64_t id, ended;
    sc_job j;
    (void)state;

    t_unique(pool, sizeof(pool), "itdb-claimid");
    defer_sql("DELETE FROM reindex_jobs WHERE to_cluster = '%s'", pool);
    ST_OK(db, sc_db_job_create(db, "guild", "4242", pool, 7, &id));
    assert_int_equal(sc_db_job_claim_id(db, -id, "w1", 60, NULL, &j), SC_ENOTFOUND);
    assert_int_equal(sc_db_job_claim_id(db, id, NULL, 60, NULL, &j), SC_EINVAL);

    /* queued -> running by w1, the returned row is the claimed one */
    ST_OK(db, sc_db_job_claim_id(db, id, "w1", 60, NULL, &j));
    assert_true(j.id == id);
    assert_int_equal(j.state, SC_JOB_RUNNING);
    assert_string_equal(j.worker, "w1");
    assert_string_equal(j.kind, "guild");
    assert_string_equal(j.target, "4242");
    assert_int_equal(j.recent_days, 7);
    assert_true(j.heartbeat_ms > 0);

    /* live owner with a fresh heartbeat: not claimable, row untouched */
    assert_int_equal(sc_db_job_claim_id(db, id, "w2", 60, NULL, &j), SC_ECONFLICT);
    assert_int_equal(sc_db_job_claim_id(db, id, "w2", 60, "w9", &j), SC_ECONFLICT);
    ST_OK(db, sc_db_job_get(db, id, &j));
    assert_string_equal(j.worker, "w1");
    /* ... unless the owner is known dead */
    ST_OK(db, sc_db_job_claim_id(db, id, "w2", 60, "w1", &j));
    assert_string_equal(j.worker, "w2");
    /* stale heartbeat: claimable; no heartbeat at all: claimable */
    raw_exec(c,
             "UPDATE reindex_jobs SET heartbeat_at = now() - interval '120 seconds'"
             " WHERE id = %" PRId64,
             id);
    assert_int_equal(sc_db_job_claim_id(db, id, "w3", 300, NULL, &j), SC_ECONFLICT);
    ST_OK(db, sc_db_job_claim_id(db, id, "w3", 60, NULL, &j));
    assert_string_equal(j.worker, "w3");
    raw_exec(c, "UPDATE reindex_jobs SET heartbeat_at = NULL WHERE id = %" PRId64, id);
    ST_OK(db, sc_db_job_claim_id(db, id, "w4", 60, NULL, &j));
    assert_string_equal(j.worker, "w4");

    /* failed: claimable again, and the error is cleared */
    ST_OK(db, sc_db_job_finish(db, id, SC_JOB_FAILED, "boom"));
    ST_OK(db, sc_db_job_claim_id(db, id, "w5", 60, NULL, &j));
    assert_int_equal(j.state, SC_JOB_RUNNING);
    assert_string_equal(j.error, "");
    assert_string_equal(j.worker, "w5");

    /* done and cancelled jobs stay ended */
    ST_OK(db, sc_db_job_finish(db, id, SC_JOB_DONE, NULL));
    assert_int_equal(sc_db_job_claim_id(db, id, "w6", 0, "w5", &j), SC_ECONFLICT);
    ST_OK(db, sc_db_job_create(db, "all", NULL, pool, 0, &ended));
    ST_OK(db, sc_db_job_finish(db, ended, SC_JOB_CANCELLED, NULL));
    assert_int_equal(sc_db_job_claim_id(db, ended, "w6", 0, NULL, &j), SC_ECONFLICT);
    ST_OK(db, sc_db_job_get(db, ended, &j));
    assert_int_equal(j.state, SC_JOB_CANCELLED);
    assert_string_equal(j.worker, "");

    close_db(db);
}

/* sc_db_job_list: newest first, bounded by limit. */
static void test_job_list(void **state)
{
    sc_db *db = open_db();
    char pool[64];
    int64_t ids[3];
    sc_job *jobs = NULL;
    size_t n = 0, found = 0;
    (void)state;

    t_unique(pool, sizeof(pool), "itdb-list");
    defer_sql("DELETE FROM reindex_jobs WHERE to_cluster = '%s'", pool);
    ST_OK(db, sc_db_job_create(db, "channel", "11", pool, 1, &ids[0]));
    ST_OK(db, sc_db_job_create(db, "guild", "22", pool, 2, &ids[1]));
    ST_OK(db, sc_db_job_create(db, "cluster", "c1", pool, 3, &ids[2]));
    ST_OK(db, sc_db_job_finish(db, ids[1], SC_JOB_CANCELLED, NULL));

    /* limit 1: exactly the newest job, at least as new as ours */
    ST_OK(db, sc_db_job_list(db, 1, &jobs, &n));
    assert_int_equal(n, 1);
    assert_true(jobs[0].id >= ids[2]);
    free(jobs);

    /* the full list holds ours, in descending id order, with their fields
     * (other helpers may add jobs concurrently: only ours are checked) */
    ST_OK(db, sc_db_job_list(db, 10000, &jobs, &n));
    assert_true(n >= 3);
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            assert_true(jobs[i - 1].id > jobs[i].id);
        if (strcmp(jobs[i].to_cluster, pool) != 0)
            continue;
        /* ours come newest first: ids[2], ids[1], ids[0] */
        assert_true(jobs[i].id == ids[2 - found]);
        assert_int_equal(jobs[i].recent_days, (int)(3 - found));
        assert_int_equal(jobs[i].state, found == 1 ? SC_JOB_CANCELLED : SC_JOB_QUEUED);
        found++;
    }
    assert_int_equal(found, 3);
    free(jobs);

    assert_int_equal(sc_db_job_list(db, 0, &jobs, &n), SC_EINVAL);
    assert_null(jobs);
    assert_int_equal(n, 0);
    assert_int_equal(sc_db_job_list(db, 10001, &jobs, &n), SC_EINVAL);

    close_db(db);
}

/* A statement stuck behind a lock gives up at statement_timeout. */
static void test_statement_timeout(void **state)
{
    char cl[64];
    sc_db *db = open_db_timeout(300);
    PGconn *c = raw_open();
    uint64_t ch = t_rand_id();
    sc_binding b;
    int64_t t0, took;
    (void)state;

    t_unique(cl, sizeof(cl), "itdb-timeout");
    defer_sql("DELETE FROM channel_bindings WHERE channel_id = %" PRIu64, ch);
    ST_OK(db, sc_db_binding_insert_if_absent(db, ch, cl, "idx", SC_BINDING_ACTIVE, &b));
    raw_exec(c, "BEGIN");
    raw_exec(c, "SELECT 1 FROM channel_bindings WHERE channel_id = %" PRIu64 " FOR UPDATE", ch);
    t0 = sc_now_ms();
    assert_int_equal(sc_db_binding_update(db, ch, cl, "idx2", SC_BINDING_ACTIVE, 1, NULL),
                     SC_ETIMEOUT);
    took = sc_now_ms() - t0;
    assert_true(took >= 250 && took < 3000);
    assert_non_null(strstr(sc_db_errstr(db), "timeout"));
    raw_exec(c, "ROLLBACK");
    /* the handle is still usable and nothing was changed */
    ST_OK(db, sc_db_binding_get(db, ch, &b));
    assert_int_equal(b.generation, 1);
    assert_int_equal(sc_db_reconnects(db), 0);

    close_db(db);
}

/* ---- reconnect ---- */

static void terminate(PGconn *c, int pid)
{
    char sql[128];
    snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%d, 5000)::int", pid);
    assert_int_equal(raw_int(c, sql), 1);
}

static void test_reconnect_after_terminate(void **state)
{
    sc_db *db = open_db();
    PGconn *c = raw_open();
    uint64_t ch = t_rand_id();
    char cl[64];
    sc_binding b;
    sc_message *out = NULL;
    size_t n = 0;
    int pid1, pid2;
    (void)state;

    t_unique(cl, sizeof(cl), "itdb-reconnect");
    defer_sql("DELETE FROM channel_bindings WHERE channel_id = %" PRIu64, ch);
    ST_OK(db, sc_db_binding_insert_if_absent(db, ch, cl, "idx", SC_BINDING_ACTIVE,
                                             &b)); /* prepares get */
    pid1 = sc_db_backend_pid(db);
    assert_true(pid1 > 0);
    terminate(c, pid1);

    /* the same prepared statement works again after the automatic reconnect */
    ST_OK(db, sc_db_binding_get(db, ch, &b));
    assert_string_equal(b.cluster, cl);
    assert_int_equal(sc_db_reconnects(db), 1);
    pid2 = sc_db_backend_pid(db);
    assert_true(pid2 > 0 && pid2 != pid1);

    /* and again, on a statement first used after the reset */
    terminate(c, pid2);
    ST_OK(db, sc_db_fetch_messages(db, &ch, 1, &out, &n));
    assert_int_equal(n, 0);
    assert_int_equal(sc_db_reconnects(db), 2);
    ST_OK(db, sc_db_binding_get(db, ch, &b)); /* re-prepared on the new connection */

    close_db(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_migrations_idempotent, teardown),
        cmocka_unit_test_teardown(test_connect_failure, teardown),
        cmocka_unit_test_teardown(test_message_roundtrip, teardown),
        cmocka_unit_test_teardown(test_version_never_regresses, teardown),
        cmocka_unit_test_teardown(test_deleted_not_hydrated_but_paged, teardown),
        cmocka_unit_test_teardown(test_keyset_paging_exactly_once, teardown),
        cmocka_unit_test_teardown(test_fetch_messages_ex_edit_time, teardown),
        cmocka_unit_test_teardown(test_page_messages_desc, teardown),
        cmocka_unit_test_teardown(test_readability_rule, teardown),
        cmocka_unit_test_teardown(test_binding_insert_race, teardown),
        cmocka_unit_test_teardown(test_binding_cas, teardown),
        cmocka_unit_test_teardown(test_job_claim_skip_locked, teardown),
        cmocka_unit_test_teardown(test_job_checkpoint_resume, teardown),
        cmocka_unit_test_teardown(test_job_for_channel, teardown),
        cmocka_unit_test_teardown(test_job_claim_id, teardown),
        cmocka_unit_test_teardown(test_job_list, teardown),
        cmocka_unit_test_teardown(test_statement_timeout, teardown),
        cmocka_unit_test_teardown(test_reconnect_after_terminate, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
