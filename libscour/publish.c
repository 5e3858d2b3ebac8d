/*
 * publish.c - serialise events and XADD them (see publish.h).
 */
#include "publish.h"

#include "db.h"

#include <stdlib.h>
#include <string.h>

struct sc_publisher {
    sc_queue *q;            /* owned; used only for XADD */
    sc_db *db;              /* owned, NULL without pg_dsn */
    sc_buf buf;             /* owned; scratch for serialisation */
    char errstr[SC_ERRLEN]; /* detail of the last failure */
};

sc_publisher *sc_publisher_create(const sc_publisher_opts *o, char *err, size_t errlen)
{
    sc_publisher *p;
    sc_queue_opts qo;
    if (o == NULL || o->stream == NULL || o->stream[0] == '\0') {
        sc_seterr(err, errlen, "publisher: stream is required");
        return NULL;
    }
    p = calloc(1, sizeof *p);
    if (p == NULL) {
        sc_seterr(err, errlen, "publisher: out of memory");
        return NULL;
    }
    memset(&qo, 0, sizeof qo);
    qo.redis = o->redis;
    qo.stream = o->stream;
    qo.group = "publisher-unused"; /* the queue API needs one; never created */
    qo.consumer = "publisher";
    qo.maxlen = o->maxlen;
    p->q = sc_queue_create(&qo, err, errlen);
    if (p->q == NULL) {
        free(p);
        return NULL;
    }
    if (o->pg_dsn != NULL && o->pg_dsn[0] != '\0') {
        p->db = sc_db_create(o->pg_dsn, err, errlen);
        if (p->db == NULL) {
            sc_queue_free(p->q);
            free(p);
            return NULL;
        }
    }
    sc_buf_init(&p->buf, 1u << 20);
    return p;
}

void sc_publisher_free(sc_publisher *p)
{
    if (p == NULL)
        return;
    sc_queue_free(p->q);
    sc_db_free(p->db);
    sc_buf_free(&p->buf);
    free(p);
}

const char *sc_publisher_errstr(const sc_publisher *p)
{
    return p != NULL ? p->errstr : "publisher: NULL handle";
}

sc_status sc_publish_raw(sc_publisher *p, const char *payload, size_t len)
{
    sc_status st;
    if (p == NULL || payload == NULL)
        return SC_EINVAL;
    st = sc_queue_publish(p->q, payload, len, NULL);
    if (st != SC_OK)
        sc_seterr(p->errstr, sizeof p->errstr, "publish: %s", sc_queue_errstr(p->q));
    return st;
}

sc_status sc_publish_event(sc_publisher *p, const sc_event *ev, char id_out[SC_QUEUE_IDLEN])
{
    sc_status st;
    if (p == NULL || ev == NULL)
        return SC_EINVAL;
    sc_buf_reset(&p->buf);
    st = sc_event_to_json(ev, &p->buf);
    if (st != SC_OK) {
        sc_seterr(p->errstr, sizeof p->errstr,
                  "publish: cannot serialise event of message %llu: %s",
                  (unsigned long long)ev->msg.id, sc_status_str(st));
        return st == SC_ENOMEM ? st : SC_EINVAL;
    }
    st = sc_queue_publish(p->q, p->buf.data, p->buf.len, id_out);
    if (st != SC_OK)
        sc_seterr(p->errstr, sizeof p->errstr, "publish: %s", sc_queue_errstr(p->q));
    return st;
}

sc_status sc_publish_message_and_event(sc_publisher *p, const sc_event *ev,
                                       char id_out[SC_QUEUE_IDLEN])
{
    sc_status st;
    if (p == NULL || ev == NULL)
        return SC_EINVAL;
    if (p->db == NULL) {
        sc_seterr(p->errstr, sizeof p->errstr, "publish: no database configured");
        return SC_EINVAL;
    }
    st = sc_db_upsert_message(p->db, &ev->msg);
    if (st != SC_OK && st != SC_ECONFLICT) {
        sc_seterr(p->errstr, sizeof p->errstr, "publish: write message %llu: %s",
                  (unsigned long long)ev->msg.id, sc_db_errstr(p->db));
        return st;
    }
    return sc_publish_event(p, ev, id_out);
}
