/*
 * db_message.c - the messages table: a message row read into sc_message and
 * written from it (attachments and embeds as jsonb), hydration by id, and
 * the pages and counts reindex and verify read. See db.h for the contract.
 */
#include "db_int.h"

#include <inttypes.h>
#include <stdio.h>

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

/* Columns of a message row, in the order row_to_message() reads them. */
#define MSG_COLS                                                              \
    "id, channel_id, coalesce(guild_id, 0), author_id, author_type, content," \
    " array_to_string(mentions, ','), mention_everyone, attachments::text,"   \
    " embeds::text, array_to_string(sticker_ids, ','), pinned, version,"      \
    " deleted_at IS NOT NULL"

static const sc_db_stmt ST_UPSERT_MESSAGE = {
    "sc_upsert_message", 14,
    "INSERT INTO messages AS m (id, channel_id, guild_id, author_id, author_type, content,"
    " mentions, mention_everyone, attachments, embeds, sticker_ids, pinned, version,"
    " edited_at, deleted_at)"
    " VALUES ($1::bigint, $2::bigint, NULLIF($3::bigint, 0), $4::bigint, $5::text, $6::text,"
    " $7::bigint[], $8::boolean, $9::jsonb, $10::jsonb, $11::bigint[], $12::boolean,"
    " $13::bigint,"
    " CASE WHEN $13::bigint > 1 AND NOT $14::boolean THEN now() END,"
    " CASE WHEN $14::boolean THEN now() END)"
    " ON CONFLICT (id) DO UPDATE SET channel_id = EXCLUDED.channel_id,"
    " guild_id = EXCLUDED.guild_id, author_id = EXCLUDED.author_id,"
    " author_type = EXCLUDED.author_type, content = EXCLUDED.content,"
    " mentions = EXCLUDED.mentions, mention_everyone = EXCLUDED.mention_everyone,"
    " attachments = EXCLUDED.attachments, embeds = EXCLUDED.embeds,"
    " sticker_ids = EXCLUDED.sticker_ids, pinned = EXCLUDED.pinned,"
    " version = EXCLUDED.version,"
    " edited_at = CASE WHEN $14::boolean THEN m.edited_at ELSE now() END,"
    " deleted_at = CASE WHEN $14::boolean THEN coalesce(m.deleted_at, now()) END"
    " WHERE m.version < EXCLUDED.version"};

/* MSG_COLS then the edit time in ms (column 14, 0 = never edited) */
static const sc_db_stmt ST_FETCH_MESSAGES_EX = {
    "sc_fetch_messages_ex", 1,
    "SELECT " MSG_COLS ","
    " coalesce((extract(epoch FROM edited_at) * 1000)::bigint, 0) FROM messages"
    " WHERE id = ANY($1::bigint[]) AND deleted_at IS NULL"};

static const sc_db_stmt ST_PAGE_MESSAGES = {
    "sc_page_messages", 4,
    "SELECT " MSG_COLS " FROM messages"
    " WHERE channel_id = $1::bigint AND id > $2::bigint AND id < $3::bigint"
    " ORDER BY id LIMIT $4::int"};

static const sc_db_stmt ST_PAGE_MESSAGES_DESC = {
    "sc_page_messages_desc", 3,
    "SELECT " MSG_COLS " FROM messages"
    " WHERE channel_id = $1::bigint AND id < $2::bigint AND deleted_at IS NULL"
    " ORDER BY id DESC LIMIT $3::int"};

static const sc_db_stmt ST_COUNT_MESSAGES = {
    "sc_count_messages", 2,
    "SELECT count(*) FROM messages WHERE channel_id = $1::bigint AND id >= $2::bigint"};

/* "1,2,3" (array_to_string) into a malloc'd array. */
static sc_status parse_id_list(sc_db *db, const char *s, uint64_t **out, size_t *n)
{
    size_t count = 1, k = 0;
    uint64_t *ids;
    *out = NULL;
    *n = 0;
    if (s == NULL || *s == '\0')
        return SC_OK;
    for (const char *p = s; *p != '\0'; p++)
        count += *p == ',';
    ids = malloc(count * sizeof(*ids));
    if (ids == NULL)
        return SC_ENOMEM;
    while (*s != '\0') {
        char tok[24];
        size_t len = strcspn(s, ",");
        if (len == 0 || len >= sizeof(tok))
            goto bad;
        memcpy(tok, s, len);
        tok[len] = '\0';
        if (sc_parse_u64(tok, &ids[k]) != SC_OK)
            goto bad;
        k++;
        s += len;
        if (*s == ',')
            s++;
    }
    *out = ids;
    *n = k;
    return SC_OK;
bad:
    free(ids);
    sc_seterr(db->errstr, sizeof(db->errstr), "bad id list from server");
    return SC_EPROTO;
}

static char *json_dup_str(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) && v->valuestring != NULL ? strdup(v->valuestring) : NULL;
}

static sc_status parse_attachments(sc_db *db, const char *text, sc_message *m)
{
    cJSON *arr = cJSON_Parse(text);
    int n;
    sc_status st = SC_OK;
    if (!cJSON_IsArray(arr)) {
        cJSON_Delete(arr);
        sc_seterr(db->errstr, sizeof(db->errstr), "attachments is not a JSON array");
        return SC_EPROTO;
    }
    n = cJSON_GetArraySize(arr);
    if (n > 0) {
        m->attachments = calloc((size_t)n, sizeof(*m->attachments));
        if (m->attachments == NULL) {
            st = SC_ENOMEM;
            goto out;
        }
    }
    for (int i = 0; i < n; i++) {
        const cJSON *o = cJSON_GetArrayItem(arr, i);
        const cJSON *size = cJSON_GetObjectItemCaseSensitive(o, "size");
        sc_attachment *a = &m->attachments[m->n_attachments++];
        a->filename = json_dup_str(o, "filename");
        if (a->filename == NULL)
            a->filename = strdup("");
        a->content_type = json_dup_str(o, "content_type");
        a->size = cJSON_IsNumber(size) ? sc_u64_from_double(size->valuedouble) : 0;
        if (a->filename == NULL) {
            st = SC_ENOMEM;
            goto out;
        }
    }
out:
    cJSON_Delete(arr);
    if (st == SC_ENOMEM)
        sc_seterr(db->errstr, sizeof(db->errstr), "out of memory");
    return st;
}

static sc_status parse_embeds(sc_db *db, const char *text, sc_message *m)
{
    cJSON *arr = cJSON_Parse(text);
    int n;
    if (!cJSON_IsArray(arr)) {
        cJSON_Delete(arr);
        sc_seterr(db->errstr, sizeof(db->errstr), "embeds is not a JSON array");
        return SC_EPROTO;
    }
    n = cJSON_GetArraySize(arr);
    if (n > 0) {
        m->embeds = calloc((size_t)n, sizeof(*m->embeds));
        if (m->embeds == NULL) {
            cJSON_Delete(arr);
            sc_seterr(db->errstr, sizeof(db->errstr), "out of memory");
            return SC_ENOMEM;
        }
    }
    for (int i = 0; i < n; i++) {
        const cJSON *o = cJSON_GetArrayItem(arr, i);
        sc_embed *e = &m->embeds[m->n_embeds++];
        e->type = json_dup_str(o, "type");
        e->provider = json_dup_str(o, "provider");
        e->url = json_dup_str(o, "url");
    }
    cJSON_Delete(arr);
    return SC_OK;
}

/* Row i of a MSG_COLS result into *m (zeroed first). On error *m is cleared. */
static sc_status row_to_message(sc_db *db, const PGresult *r, int i, sc_message *m)
{
    sc_status st;
    memset(m, 0, sizeof(*m));
    if ((st = col_u64(db, r, i, 0, &m->id)) != SC_OK ||
        (st = col_u64(db, r, i, 1, &m->channel_id)) != SC_OK ||
        (st = col_u64(db, r, i, 2, &m->guild_id)) != SC_OK ||
        (st = col_u64(db, r, i, 3, &m->author_id)) != SC_OK)
        goto fail;
    if (sc_author_type_parse(PQgetvalue(r, i, 4), &m->author_type) != SC_OK) {
        sc_seterr(db->errstr, sizeof(db->errstr), "bad author_type '%s'", PQgetvalue(r, i, 4));
        st = SC_EPROTO;
        goto fail;
    }
    m->content = strdup(PQgetvalue(r, i, 5));
    if (m->content == NULL) {
        st = SC_ENOMEM;
        goto fail;
    }
    if ((st = parse_id_list(db, PQgetvalue(r, i, 6), &m->mentions, &m->n_mentions)) != SC_OK)
        goto fail;
    m->mention_everyone = col_bool(r, i, 7);
    if ((st = parse_attachments(db, PQgetvalue(r, i, 8), m)) != SC_OK ||
        (st = parse_embeds(db, PQgetvalue(r, i, 9), m)) != SC_OK ||
        (st = parse_id_list(db, PQgetvalue(r, i, 10), &m->sticker_ids, &m->n_stickers)) != SC_OK)
        goto fail;
    m->pinned = col_bool(r, i, 11);
    if ((st = col_i64(db, r, i, 12, &m->version)) != SC_OK)
        goto fail;
    m->deleted = col_bool(r, i, 13);
    return SC_OK;
fail:
    if (st == SC_ENOMEM)
        sc_seterr(db->errstr, sizeof(db->errstr), "out of memory");
    sc_message_clear(m);
    return st;
}

/* Every row of a MSG_COLS result into a malloc'd array. */
static sc_status rows_to_messages(sc_db *db, const PGresult *r, sc_message **out, size_t *nout)
{
    int rows = PQntuples(r);
    sc_message *msgs;
    if (rows == 0)
        return SC_OK;
    msgs = calloc((size_t)rows, sizeof(*msgs));
    if (msgs == NULL) {
        sc_seterr(db->errstr, sizeof(db->errstr), "out of memory");
        return SC_ENOMEM;
    }
    for (int i = 0; i < rows; i++) {
        sc_status st = row_to_message(db, r, i, &msgs[i]);
        if (st != SC_OK) {
            for (int k = 0; k < i; k++)
                sc_message_clear(&msgs[k]);
            free(msgs);
            return st;
        }
    }
    *out = msgs;
    *nout = (size_t)rows;
    return SC_OK;
}

/* ---- writing a message ---- */

static sc_status attachments_json(const sc_message *m, char **out)
{
    cJSON *arr = cJSON_CreateArray();
    if (arr == NULL)
        return SC_ENOMEM;
    for (size_t i = 0; i < m->n_attachments; i++) {
        const sc_attachment *a = &m->attachments[i];
        cJSON *o = cJSON_CreateObject();
        if (o == NULL || !cJSON_AddItemToArray(arr, o) ||
            cJSON_AddStringToObject(o, "filename", a->filename != NULL ? a->filename : "") ==
                NULL ||
            (a->content_type != NULL &&
             cJSON_AddStringToObject(o, "content_type", a->content_type) == NULL) ||
            cJSON_AddNumberToObject(o, "size", (double)a->size) == NULL) {
            cJSON_Delete(arr);
            return SC_ENOMEM;
        }
    }
    *out = cJSON_PrintUnformatted(arr);
    cJSON_Delete(arr);
    return *out != NULL ? SC_OK : SC_ENOMEM;
}

static sc_status embeds_json(const sc_message *m, char **out)
{
    cJSON *arr = cJSON_CreateArray();
    if (arr == NULL)
        return SC_ENOMEM;
    for (size_t i = 0; i < m->n_embeds; i++) {
        const sc_embed *e = &m->embeds[i];
        cJSON *o = cJSON_CreateObject();
        if (o == NULL || !cJSON_AddItemToArray(arr, o) ||
            (e->type != NULL && cJSON_AddStringToObject(o, "type", e->type) == NULL) ||
            (e->provider != NULL && cJSON_AddStringToObject(o, "provider", e->provider) == NULL) ||
            (e->url != NULL && cJSON_AddStringToObject(o, "url", e->url) == NULL)) {
            cJSON_Delete(arr);
            return SC_ENOMEM;
        }
    }
    *out = cJSON_PrintUnformatted(arr);
    cJSON_Delete(arr);
    return *out != NULL ? SC_OK : SC_ENOMEM;
}

sc_status sc_db_upsert_message(sc_db *db, const sc_message *m)
{
    idbuf id, ch, g, au, ver;
    sc_buf mentions, stickers;
    char *att = NULL, *emb = NULL;
    const char *p[14];
    PGresult *r = NULL;
    sc_status st;

    if (m == NULL || m->id == 0 || m->channel_id == 0 || m->version <= 0) {
        sc_seterr(db->errstr, sizeof(db->errstr), "message needs id, channel_id and version > 0");
        return SC_EINVAL;
    }
    sc_buf_init(&mentions, 0);
    sc_buf_init(&stickers, 0);
    if (m->deleted) {
        /* A tombstone keeps its identity, not its content. */
        static const sc_message empty;
        if (db_id_array(&mentions, NULL, 0) != SC_OK || db_id_array(&stickers, NULL, 0) != SC_OK ||
            attachments_json(&empty, &att) != SC_OK || embeds_json(&empty, &emb) != SC_OK) {
            st = SC_ENOMEM;
            goto out;
        }
    } else if (db_id_array(&mentions, m->mentions, m->n_mentions) != SC_OK ||
               db_id_array(&stickers, m->sticker_ids, m->n_stickers) != SC_OK ||
               attachments_json(m, &att) != SC_OK || embeds_json(m, &emb) != SC_OK) {
        st = SC_ENOMEM;
        goto out;
    }
    p[0] = u64s(&id, m->id);
    p[1] = u64s(&ch, m->channel_id);
    p[2] = u64s(&g, m->guild_id);
    p[3] = u64s(&au, m->author_id);
    p[4] = sc_author_type_str(m->author_type);
    p[5] = m->deleted || m->content == NULL ? "" : m->content;
    p[6] = mentions.data;
    p[7] = m->mention_everyone && !m->deleted ? "t" : "f";
    p[8] = att;
    p[9] = emb;
    p[10] = stickers.data;
    p[11] = m->pinned && !m->deleted ? "t" : "f";
    p[12] = i64s(&ver, m->version);
    p[13] = m->deleted ? "t" : "f";
    st = db_run(db, &ST_UPSERT_MESSAGE, p, &r);
    if (st == SC_OK && cmd_rows(r) == 0) {
        sc_seterr(db->errstr, sizeof(db->errstr),
                  "message %" PRIu64 ": stored version is newer or equal to %" PRId64, m->id,
                  m->version);
        st = SC_ECONFLICT;
    }
out:
    if (st == SC_ENOMEM)
        sc_seterr(db->errstr, sizeof(db->errstr), "out of memory");
    PQclear(r);
    cJSON_free(att);
    cJSON_free(emb);
    sc_buf_free(&mentions);
    sc_buf_free(&stickers);
    return st;
}


/* ---- hydration ---- */

sc_status sc_db_fetch_messages(sc_db *db, const uint64_t *ids, size_t n, sc_message **out,
                               size_t *nout)
{
    return sc_db_fetch_messages_ex(db, ids, n, out, nout, NULL);
}

sc_status sc_db_fetch_messages_ex(sc_db *db, const uint64_t *ids, size_t n, sc_message **out,
                                  size_t *nout, int64_t **edited_ms)
{
    sc_buf arr;
    const char *p[1];
    PGresult *r = NULL;
    int64_t *ed = NULL;
    sc_status st;

    *out = NULL;
    *nout = 0;
    if (edited_ms != NULL)
        *edited_ms = NULL;
    if (n == 0)
        return SC_OK;
    if (id_array_param(db, &arr, ids, n) != SC_OK) {
        sc_buf_free(&arr);
        return SC_ENOMEM;
    }
    p[0] = arr.data;
    st = db_run(db, &ST_FETCH_MESSAGES_EX, p, &r);
    sc_buf_free(&arr);
    if (st == SC_OK && edited_ms != NULL && PQntuples(r) > 0) {
        int rows = PQntuples(r);
        ed = calloc((size_t)rows, sizeof(*ed));
        if (ed == NULL) {
            sc_seterr(db->errstr, sizeof(db->errstr), "out of memory");
            st = SC_ENOMEM;
        }
        for (int i = 0; st == SC_OK && i < rows; i++)
            st = col_i64(db, r, i, 14, &ed[i]);
    }
    if (st == SC_OK)
        st = rows_to_messages(db, r, out, nout);
    PQclear(r);
    if (st != SC_OK) {
        free(ed);
        return st;
    }
    if (edited_ms != NULL)
        *edited_ms = ed;
    return SC_OK;
}

/* ---- reindex reading ---- */

/* Run a keyset page statement (limit 1..10000) into messages. */
static sc_status run_page(sc_db *db, const sc_db_stmt *stmt, const char *const *p, int limit,
                          sc_message **out, size_t *n)
{
    PGresult *r = NULL;
    sc_status st;
    *out = NULL;
    *n = 0;
    if (limit < 1 || limit > 10000) {
        sc_seterr(db->errstr, sizeof(db->errstr), "page limit %d outside 1..10000", limit);
        return SC_EINVAL;
    }
    st = db_run(db, stmt, p, &r);
    if (st == SC_OK)
        st = rows_to_messages(db, r, out, n);
    PQclear(r);
    return st;
}

sc_status sc_db_page_messages(sc_db *db, uint64_t channel_id, uint64_t after_id, uint64_t before_id,
                              int limit, sc_message **out, size_t *n)
{
    idbuf a, b, c, d;
    const char *p[4];

    p[0] = u64s(&a, channel_id);
    p[1] = u64s(&b, after_id);
    p[2] = before_id != 0 ? u64s(&c, before_id) : i64s(&c, INT64_MAX);
    p[3] = i64s(&d, limit);
    return run_page(db, &ST_PAGE_MESSAGES, p, limit, out, n);
}

sc_status sc_db_page_messages_desc(sc_db *db, uint64_t channel_id, uint64_t before_id, int limit,
                                   sc_message **out, size_t *n)
{
    idbuf a, b, c;
    const char *p[3];

    p[0] = u64s(&a, channel_id);
    p[1] = before_id != 0 ? u64s(&b, before_id) : i64s(&b, INT64_MAX);
    p[2] = i64s(&c, limit);
    return run_page(db, &ST_PAGE_MESSAGES_DESC, p, limit, out, n);
}

sc_status sc_db_count_messages(sc_db *db, uint64_t channel_id, uint64_t min_id, int64_t *count)
{
    idbuf a, b;
    const char *p[2] = {u64s(&a, channel_id), u64s(&b, min_id)};
    return db_one(db, &ST_COUNT_MESSAGES, p, read_i64, count,
                  "count of channel %" PRIu64 ": no row", channel_id);
}
