/*
 * render.c - Discord-shaped message objects for search answers, and the
 * context messages around a hit (read from PostgreSQL, never from the
 * index, so they show the current text).
 *
 * Ids are JSON strings (64-bit snowflakes do not survive JavaScript
 * numbers), timestamps ISO 8601 in UTC: `timestamp` derived from the
 * snowflake, `edited_timestamp` from the row's edited_at (null if never).
 * Not here: choosing which messages to show (search.c).
 */
#include "router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TRY(x)                   \
    do {                         \
        sc_status try_st_ = (x); \
        if (try_st_ != SC_OK)    \
            return try_st_;      \
    } while (0)

void rt_snowflake_iso(uint64_t id, char *buf, size_t len)
{
    rt_ms_iso(sc_snowflake_to_ms(id), buf, len);
}

/* Write v as `width` decimal digits (zero-padded) at p. */
static void digits(char *p, unsigned v, int width)
{
    while (width-- > 0) {
        p[width] = (char)('0' + v % 10);
        v /= 10;
    }
}

/* Hand-rolled instead of gmtime_r + strftime + snprintf: a search answer
 * formats two timestamps per message, and this is on every request's path.
 * Civil date from days since 1970-01-01 (H. Hinnant's days_from_civil
 * inverse, proleptic Gregorian). */
void rt_ms_iso(int64_t ms, char *buf, size_t len)
{
    char tmp[40];
    int64_t days, z, era, doe, yoe, y, doy, mp, d, m, sod;
    if (len == 0)
        return;
    if (ms < 0)
        ms = 0;
    if (ms > 253402300799999LL) /* 9999-12-31T23:59:59.999: keep 4-digit years */
        ms = 253402300799999LL;
    days = ms / 86400000;
    sod = (ms % 86400000) / 1000;
    z = days + 719468;
    era = z / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    /* "YYYY-MM-DDTHH:MM:SS.mmm000+00:00" */
    memcpy(tmp, "0000-00-00T00:00:00.000000+00:00", 33);
    digits(tmp, (unsigned)y, 4);
    digits(tmp + 5, (unsigned)m, 2);
    digits(tmp + 8, (unsigned)d, 2);
    digits(tmp + 11, (unsigned)(sod / 3600), 2);
    digits(tmp + 14, (unsigned)(sod / 60 % 60), 2);
    digits(tmp + 17, (unsigned)(sod % 60), 2);
    digits(tmp + 20, (unsigned)(ms % 1000), 3);
    if (len > 33)
        len = 33;
    memcpy(buf, tmp, len - 1);
    buf[len - 1] = '\0';
}

/* A snowflake as a JSON string, without printf (hot path). */
static sc_status put_id(sc_buf *out, uint64_t id)
{
    char tmp[24];
    size_t i = sizeof(tmp);
    tmp[--i] = '"';
    do {
        tmp[--i] = (char)('0' + id % 10);
        id /= 10;
    } while (id != 0);
    tmp[--i] = '"';
    return sc_buf_append(out, tmp + i, sizeof(tmp) - i);
}

/* "key": "str" or null. */
static sc_status put_opt_str(sc_buf *out, const char *s)
{
    return s != NULL ? sc_buf_json_str(out, s) : sc_buf_puts(out, "null");
}

sc_status rt_render_message(sc_buf *out, const sc_message *m, int64_t edited_ms, int hit,
                            const sc_hl_term *hl, size_t nhl)
{
    char ts[48], ets[48];
    TRY(sc_buf_puts(out, "{\"id\":"));
    TRY(put_id(out, m->id));
    TRY(sc_buf_puts(out, ",\"channel_id\":"));
    TRY(put_id(out, m->channel_id));
    TRY(sc_buf_puts(out, ",\"guild_id\":"));
    TRY(m->guild_id != 0 ? put_id(out, m->guild_id) : sc_buf_puts(out, "null"));
    TRY(sc_buf_puts(out, ",\"author\":{\"id\":"));
    TRY(put_id(out, m->author_id));
    TRY(sc_buf_puts(out, "},\"author_type\":"));
    TRY(sc_buf_json_str(out, sc_author_type_str(m->author_type)));
    TRY(sc_buf_puts(out, ",\"content\":"));
    TRY(sc_buf_json_str(out, m->content != NULL ? m->content : ""));
    TRY(sc_buf_puts(out, ",\"mentions\":["));
    for (size_t i = 0; i < m->n_mentions; i++) {
        TRY(sc_buf_puts(out, i ? ",{\"id\":" : "{\"id\":"));
        TRY(put_id(out, m->mentions[i]));
        TRY(sc_buf_puts(out, "}"));
    }
    TRY(sc_buf_puts(out, m->mention_everyone ? "],\"mention_everyone\":true,\"attachments\":["
                                             : "],\"mention_everyone\":false,\"attachments\":["));
    for (size_t i = 0; i < m->n_attachments; i++) {
        const sc_attachment *a = &m->attachments[i];
        TRY(sc_buf_puts(out, i ? ",{\"filename\":" : "{\"filename\":"));
        TRY(put_opt_str(out, a->filename));
        TRY(sc_buf_puts(out, ",\"content_type\":"));
        TRY(put_opt_str(out, a->content_type));
        TRY(sc_buf_printf(out, ",\"size\":%llu}", (unsigned long long)a->size));
    }
    TRY(sc_buf_puts(out, "],\"embeds\":["));
    for (size_t i = 0; i < m->n_embeds; i++) {
        const sc_embed *e = &m->embeds[i];
        TRY(sc_buf_puts(out, i ? ",{\"type\":" : "{\"type\":"));
        TRY(put_opt_str(out, e->type));
        TRY(sc_buf_puts(out, ",\"url\":"));
        TRY(put_opt_str(out, e->url));
        if (e->provider != NULL) {
            TRY(sc_buf_puts(out, ",\"provider\":{\"name\":"));
            TRY(sc_buf_json_str(out, e->provider));
            TRY(sc_buf_puts(out, "}"));
        }
        TRY(sc_buf_puts(out, "}"));
    }
    rt_snowflake_iso(m->id, ts, sizeof(ts));
    TRY(sc_buf_puts(out, m->pinned ? "],\"pinned\":true,\"timestamp\":\""
                                   : "],\"pinned\":false,\"timestamp\":\""));
    TRY(sc_buf_puts(out, ts));
    TRY(sc_buf_puts(out, "\",\"edited_timestamp\":"));
    if (edited_ms > 0) {
        rt_ms_iso(edited_ms, ets, sizeof(ets));
        TRY(sc_buf_puts(out, "\""));
        TRY(sc_buf_puts(out, ets));
        TRY(sc_buf_puts(out, "\""));
    } else {
        TRY(sc_buf_puts(out, "null"));
    }
    if (hit) {
        TRY(sc_buf_puts(out, ",\"hit\":true,\"highlights\":"));
        TRY(sc_highlight(m->content != NULL ? m->content : "", hl, nhl, out));
    }
    return sc_buf_puts(out, "}");
}

/* Free an array of messages. */
static void msgs_free(sc_message *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sc_message_clear(&v[i]);
    free(v);
}

/* Append the non-deleted messages of src to dst (moving them), at most
 * `room` of them; the rest are cleared. src is freed. */
static void take_live(sc_message *dst, size_t *nd, size_t room, sc_message *src, size_t n,
                      int from_end)
{
    for (size_t k = 0; k < n; k++) {
        size_t i = from_end ? n - 1 - k : k;
        if (!src[i].deleted && *nd < room) {
            dst[(*nd)++] = src[i];
            memset(&src[i], 0, sizeof(src[i]));
        } else {
            sc_message_clear(&src[i]);
        }
    }
    free(src);
}

/* Messages right before hit_id, newest first: one keyset page read
 * backwards (sc_db_page_messages_desc skips deleted rows, so `each` rows
 * are `each` visible messages however far back they lie). */
static sc_status context_before(sc_db *db, uint64_t ch, uint64_t hit_id, size_t each,
                                sc_message *dst, size_t *nd)
{
    sc_message *v = NULL;
    size_t n = 0;
    sc_status st =
        sc_db_page_messages_desc(db, ch, hit_id, each > 10000 ? 10000 : (int)each, &v, &n);
    if (st != SC_OK)
        return st;
    take_live(dst, nd, each, v, n, 0);
    return SC_OK;
}

/* Messages right after hit_id, oldest first. */
static sc_status context_after(sc_db *db, uint64_t ch, uint64_t hit_id, size_t each,
                               sc_message *dst, size_t *nd)
{
    uint64_t cursor = hit_id;
    for (int iter = 0; iter < 5 && *nd < each; iter++) {
        sc_message *v = NULL;
        size_t n = 0;
        uint64_t last;
        sc_status st = sc_db_page_messages(db, ch, cursor, 0, 50, &v, &n);
        if (st != SC_OK)
            return st;
        if (n == 0) {
            free(v);
            break;
        }
        last = v[n - 1].id;
        take_live(dst, nd, each, v, n, 0);
        if (n < 50)
            break;
        cursor = last;
    }
    return SC_OK;
}

sc_status rt_context(sc_db *db, uint64_t channel_id, uint64_t hit_id, size_t each,
                     sc_message **before, size_t *nbefore, sc_message **after, size_t *nafter)
{
    sc_status st;
    *before = *after = NULL;
    *nbefore = *nafter = 0;
    if (each == 0)
        return SC_OK;
    *before = calloc(each, sizeof(sc_message));
    *after = calloc(each, sizeof(sc_message));
    if (*before == NULL || *after == NULL) {
        free(*before);
        free(*after);
        *before = *after = NULL;
        return SC_ENOMEM;
    }
    st = context_before(db, channel_id, hit_id, each, *before, nbefore);
    if (st == SC_OK)
        st = context_after(db, channel_id, hit_id, each, *after, nafter);
    if (st != SC_OK) {
        msgs_free(*before, *nbefore);
        msgs_free(*after, *nafter);
        *before = *after = NULL;
        *nbefore = *nafter = 0;
    }
    return st;
}

sc_status rt_edited_times(sc_db *db, const uint64_t *ids, size_t n, int64_t *edited_ms)
{
    sc_message *rows = NULL;
    size_t nrows = 0;
    int64_t *ed = NULL;
    sc_status st;
    for (size_t i = 0; i < n; i++)
        edited_ms[i] = 0;
    if (n == 0)
        return SC_OK;
    st = sc_db_fetch_messages_ex(db, ids, n, &rows, &nrows, &ed);
    if (st != SC_OK)
        return st;
    for (size_t k = 0; k < nrows; k++) {
        for (size_t i = 0; i < n; i++)
            if (ids[i] == rows[k].id)
                edited_ms[i] = ed[k];
        sc_message_clear(&rows[k]);
    }
    free(rows);
    free(ed);
    return SC_OK;
}
