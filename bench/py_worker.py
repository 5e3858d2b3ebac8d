#!/usr/bin/env python3
"""bench/py_worker.py - the Python baseline the indexer is compared against.

A straightforward worker as a team would write it with the usual libraries:
redis-py reads the same Redis Stream through a consumer group (XREADGROUP),
each event is turned into the same search document as the C indexer's
sc_message_to_doc (fields, has[] flags, link hostnames, attachment names and
extensions, embed types/providers, tombstones for deletes), and
opensearch-py's helpers.parallel_bulk writes them with external versions in
chunks of --batch-count using --workers threads, in rounds: read up to
workers x batch-count entries, write them, acknowledge (XACK) the ones whose
bulk item came back (parallel_bulk yields results in request order). 409
conflicts count as done, like the indexer; a failed write (429, 5xx, a
timeout) stays pending and is read again (XREADGROUP from "0") before new
entries, as the indexer retries; other 4xx items are dropped and counted
(the indexer dead-letters them). (Feeding parallel_bulk one
endless generator instead would hold the last partial chunk back until the
stream went idle.)

Simplifications in the baseline's favour: every event goes to one --index
(no binding lookups), no dead-letter stream, no reclaiming of other
consumers' entries. It exits after --idle-exit seconds without new entries.

Usage: py_worker.py --redis-port P --stream S --group G --es-url U --index I
Not here: timing (bench/run.sh watches the stream and the index from outside).
"""

import argparse
import json
import re
import sys
import time

import redis
from opensearchpy import OpenSearch, helpers

EPOCH_MS = 1420070400000
URL_RE = re.compile(r"https?://([^/\s?#<>\"']+)", re.I)
IMG = {"png", "jpg", "jpeg", "gif", "webp"}
VID = {"mp4", "webm", "mov", "mkv"}
SND = {"mp3", "ogg", "wav", "flac", "m4a"}


def hosts(urls):
    out = []
    for u in urls:
        m = URL_RE.match(u) if u else None
        if not m:
            continue
        h = m.group(1).rsplit("@", 1)[-1].split(":", 1)[0].lower().rstrip(".")
        if not h:
            continue
        parts = h.split(".")
        cands = [h] if h.replace(".", "").isdigit() else [".".join(parts[i:]) for i in range(max(1, len(parts) - 1))]
        for c in cands:
            if c not in out:
                out.append(c)
    return out[:32]


def to_doc(ev):
    """The document sc_message_to_doc builds, from a parsed event."""
    m = ev["message"]
    mid = int(m["id"])
    doc = {"id": mid, "channel_id": int(m["channel_id"])}
    if m.get("guild_id"):
        doc["guild_id"] = int(m["guild_id"])
    if m.get("author_id"):
        doc["author_id"] = int(m["author_id"])
    doc["timestamp"] = (mid >> 22) + EPOCH_MS
    version = int(ev["version"])
    if ev["op"] == "delete":
        doc.update({"version": version, "deleted": True})
        return mid, version, doc
    content = m.get("content") or ""
    atts = m.get("attachments") or []
    embeds = m.get("embeds") or []
    has = []
    link_urls = [mm.group(0) for mm in URL_RE.finditer(content)]
    link_urls += [e.get("url") for e in embeds if e.get("url")]
    if link_urls:
        has.append("link")
    if embeds:
        has.append("embed")
    if atts:
        has.append("file")
    exts = []
    for a in atts:
        fn = a.get("filename", "")
        ext = fn.rsplit(".", 1)[1].lower() if "." in fn else ""
        if ext and ext not in exts:
            exts.append(ext)
        ct = a.get("content_type") or ""
        kind = None
        if ct:
            kind = ("image" if ct.startswith("image/") else "video" if ct.startswith("video/")
                    else "sound" if ct.startswith("audio/") else None)
        elif ext:
            kind = "image" if ext in IMG else "video" if ext in VID else "sound" if ext in SND else None
        if kind and kind not in has:
            has.append(kind)
    if m.get("sticker_ids"):
        has.append("sticker")
    doc.update({
        "author_type": m.get("author_type") or "user",
        "content": content,
        "mentions": [int(x) for x in (m.get("mentions") or [])],
        "mention_everyone": bool(m.get("mention_everyone")),
        "has": has,
        "pinned": bool(m.get("pinned")),
        "link_hostnames": hosts(link_urls),
        "attachment_filenames": [a.get("filename", "") for a in atts],
        "attachment_extensions": exts,
        "embed_types": [e["type"] for e in embeds if e.get("type")],
        "embed_providers": [e["provider"] for e in embeds if e.get("provider")],
        "version": version,
        "deleted": False,
    })
    return mid, version, doc


def main():
    ap = argparse.ArgumentParser(description="Python baseline: Redis Stream -> OpenSearch _bulk")
    ap.add_argument("--redis-host", default="127.0.0.1")
    ap.add_argument("--redis-port", type=int, default=6379)
    ap.add_argument("--stream", required=True)
    ap.add_argument("--group", default="pyworkers")
    ap.add_argument("--consumer", default="py-1")
    ap.add_argument("--es-url", required=True)
    ap.add_argument("--index", required=True)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--batch-count", type=int, default=500)
    ap.add_argument("--idle-exit", type=float, default=3.0)
    a = ap.parse_args()

    r = redis.Redis(host=a.redis_host, port=a.redis_port, socket_timeout=10)
    try:
        r.xgroup_create(a.stream, a.group, id="0", mkstream=True)
    except redis.ResponseError as e:
        if "BUSYGROUP" not in str(e):
            raise
    es = OpenSearch([a.es_url], timeout=30, http_compress=False)
    stats = {"read": 0, "ok": 0, "conflict": 0, "rejected": 0, "failed": 0}
    idle_since = time.monotonic()
    retry = False  # a write failed: read this consumer's pending entries again first
    while True:
        # One round: read up to workers x batch entries, write them with
        # parallel_bulk (one chunk per thread), acknowledge what was written.
        # After a failed write the round re-reads the pending entries ("0"),
        # as the indexer retries its failures, until none is left.
        resp = r.xreadgroup(a.group, a.consumer, {a.stream: "0" if retry else ">"},
                            count=a.batch_count * a.workers, block=None if retry else 500)
        if retry and not any(entries for _s, entries in resp or []):
            retry = False
            continue
        if not resp:
            if time.monotonic() - idle_since > a.idle_exit:
                break
            continue
        idle_since = time.monotonic()
        ids, acts, bad = [], [], []
        for _stream, entries in resp:
            for eid, fields in entries:
                stats["read"] += 1
                try:
                    mid, version, doc = to_doc(json.loads(fields.get(b"e")))
                except Exception:  # a bad event: drop it (the indexer dead-letters)
                    bad.append(eid)
                    continue
                ids.append(eid)
                acts.append({"_op_type": "index", "_index": a.index, "_id": str(mid), "version": version,
                             "version_type": "external", "_source": doc})
        acks = list(bad)
        results = helpers.parallel_bulk(es, acts, thread_count=a.workers, chunk_size=a.batch_count,
                                        max_chunk_bytes=4 * 1024 * 1024, raise_on_error=False,
                                        raise_on_exception=False, queue_size=a.workers)
        for eid, (ok, item) in zip(ids, results):  # results come back in request order
            st = item.get("index", {}).get("status", 0)
            if ok:
                stats["ok"] += 1
            elif st == 409:
                stats["conflict"] += 1
            elif 400 <= st < 500 and st != 429:
                stats["rejected"] += 1  # permanent: dropped, as the indexer dead-letters it
            else:
                stats["failed"] += 1
                if stats["failed"] <= 3:
                    print("py_worker: write failed (retried): %s" % str(item)[:300], file=sys.stderr)
                retry = True
                continue  # left pending, as a failed write should be, and read again
            acks.append(eid)
        if acks:
            r.xack(a.stream, a.group, *acks)
        if retry:
            time.sleep(0.1)  # a short pause before the retry, as the indexer makes
    print("py_worker: " + json.dumps(stats), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
