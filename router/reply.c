/*
 * reply.c - the router's HTTP answers under construction (rt_reply): the
 * Discord-shaped JSON error bodies every edge of the router uses, the extra
 * header lines (Retry-After, Allow, X-RateLimit-*), and naming the
 * parameter behind a query.h error.
 *
 * Shared by the HTTP layer (http.c) and the search (search.c), so neither
 * calls into the other for them. Not here: framing a reply on the wire
 * (http.c).
 */
#include "router.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

void rt_reply_init(rt_reply *rep)
{
    memset(rep, 0, sizeof(*rep));
    sc_buf_init(&rep->body, RT_MAX_RESPONSE);
    sc_buf_init(&rep->headers, 4096);
}

void rt_reply_clear(rt_reply *rep)
{
    sc_buf_free(&rep->body);
    sc_buf_free(&rep->headers);
    memset(rep, 0, sizeof(*rep));
}

void rt_reply_error(rt_reply *rep, int status, const char *msg, int code)
{
    rep->status = status;
    rep->content_type = NULL;
    sc_buf_reset(&rep->body);
    if (sc_buf_puts(&rep->body, "{\"message\":") != SC_OK ||
        sc_buf_json_str(&rep->body, msg) != SC_OK ||
        sc_buf_printf(&rep->body, ",\"code\":%d}", code) != SC_OK)
        sc_buf_reset(&rep->body);
}

void rt_reply_invalid(rt_reply *rep, const char *param, const char *detail)
{
    rep->status = 400;
    rep->content_type = NULL;
    sc_buf_reset(&rep->body);
    if (sc_buf_printf(&rep->body, "{\"message\":\"Invalid Form Body\",\"code\":%d,\"errors\":{",
                      RT_CODE_INVALID_FORM) != SC_OK ||
        sc_buf_json_str(&rep->body, param) != SC_OK ||
        sc_buf_puts(&rep->body, ":{\"_errors\":[{\"code\":\"INVALID\",\"message\":") != SC_OK ||
        sc_buf_json_str(&rep->body, detail) != SC_OK || sc_buf_puts(&rep->body, "}]}}}") != SC_OK)
        sc_buf_reset(&rep->body);
}

void rt_reply_busy(rt_reply *rep)
{
    rt_reply_error(rep, 503, "503: Service Unavailable", RT_CODE_GENERAL);
    rep->retry_after = RT_BUSY_RETRY_AFTER_S;
}

void rt_reply_header(rt_reply *rep, const char *name, const char *value)
{
    /* a header that does not fit the cap is dropped rather than half-sent */
    size_t mark = rep->headers.len;
    if (sc_buf_puts(&rep->headers, name) != SC_OK || sc_buf_puts(&rep->headers, ": ") != SC_OK ||
        sc_buf_puts(&rep->headers, value) != SC_OK || sc_buf_puts(&rep->headers, "\r\n") != SC_OK) {
        rep->headers.len = mark;
        if (rep->headers.data != NULL)
            rep->headers.data[mark] = '\0';
    }
}

void rt_reply_rate_limit(rt_reply *rep, const sc_rl_state *st, const char *bucket, int denied)
{
    char v[48];
    struct timespec now;
    double reset;
    clock_gettime(CLOCK_REALTIME, &now);
    reset = (double)now.tv_sec + (double)now.tv_nsec / 1e9 + (double)st->reset_after_ms / 1e3;
    snprintf(v, sizeof(v), "%d", st->limit);
    rt_reply_header(rep, "X-RateLimit-Limit", v);
    snprintf(v, sizeof(v), "%d", st->remaining);
    rt_reply_header(rep, "X-RateLimit-Remaining", v);
    snprintf(v, sizeof(v), "%.3f", reset);
    rt_reply_header(rep, "X-RateLimit-Reset", v);
    snprintf(v, sizeof(v), "%.3f", (double)st->reset_after_ms / 1e3);
    rt_reply_header(rep, "X-RateLimit-Reset-After", v);
    rt_reply_header(rep, "X-RateLimit-Bucket", bucket);
    if (!denied)
        return;
    rt_reply_header(rep, "X-RateLimit-Scope", strcmp(bucket, "search.user") == 0 ? "user" : "ip");
    rep->status = 429;
    rep->content_type = NULL;
    rep->retry_after = (int)ceil((double)st->retry_after_ms / 1e3);
    if (rep->retry_after < 1)
        rep->retry_after = 1;
    sc_buf_reset(&rep->body);
    if (sc_buf_printf(&rep->body,
                      "{\"message\":\"You are being rate limited.\",\"retry_after\":%.3f,"
                      "\"global\":false,\"code\":%d}",
                      (double)st->retry_after_ms / 1e3, RT_CODE_GENERAL) != SC_OK)
        sc_buf_reset(&rep->body);
}

static int ident_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '[' || c == ']' || c == '.' || c == '-';
}

void rt_param_of_error(const char *err, char *out, size_t len)
{
    const char *p;
    size_t k = 0;
    static const char unk[] = "unknown parameter '";
    snprintf(out, len, "_query");
    if (err == NULL)
        return;
    if (strncmp(err, unk, sizeof(unk) - 1) == 0) {
        p = err + sizeof(unk) - 1;
        while (p[k] != '\0' && p[k] != '\'' && k + 1 < len)
            k++;
        snprintf(out, len, "%.*s", (int)k, p);
        return;
    }
    while (err[k] != '\0' && ident_char(err[k]))
        k++;
    if (k > 0 && k + 1 < len && err[k] == ':')
        snprintf(out, len, "%.*s", (int)k, err);
}
