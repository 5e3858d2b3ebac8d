"""bench/report_fresh.py - the refresh-on-read rows of bench/results.md (section 9,
bench/fresh.sh): r1s = refresh_interval 1 s without refresh on read, ror =
refresh_interval -1 with refresh on read. report.py calls rows() and method()."""
import json
import os


def _load(work, name):
    try:
        with open(os.path.join(work, "r_%s.json" % name)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _f(v, nd=3):
    return "n/a" if v is None else ("%.*f" % (nd, v))


def rows(work, add):
    """Add the section's rows with report.py's add(label, measured, baseline, ratio, target, met, score, note)."""
    ix = {m: _load(work, "fr_ix_" + m) for m in ("r1s", "ror")}
    lat = {m: _load(work, "fr_lat_" + m) for m in ("r1s", "ror")}
    clean = {m: _load(work, "fr_clean_" + m) for m in ("r1s", "ror")}
    dirty = {m: _load(work, "fr_dirty_" + m) for m in ("r1s", "ror")}
    move = {m: _load(work, "fr_move_" + m) for m in ("r1s", "ror")}
    if not any(ix.values()):
        return
    p = lat["ror"] and lat["ror"].get("p99_s")
    add("freshness p99, refresh on read (refresh_interval -1)",
        "p50 %s s, p99 %s s, max %s s (%s/%s found)" % (
            _f(lat["ror"] and lat["ror"].get("p50_s")), _f(p), _f(lat["ror"] and lat["ror"].get("max_s")),
            lat["ror"] and lat["ror"].get("found"), lat["ror"] and lat["ror"].get("n")),
        "refresh 1 s: p50 %s s, p99 %s s" % (_f(lat["r1s"] and lat["r1s"].get("p50_s")),
                                           _f(lat["r1s"] and lat["r1s"].get("p99_s"))),
        "-", "p99 <= 0.25 s", (p <= 0.25 and lat["ror"].get("not_found", 1) == 0) if p is not None else None,
        (0.25 / p) if p else None, "")
    a = ix["ror"] and ix["ror"].get("events_per_s")
    b = ix["r1s"] and ix["r1s"].get("events_per_s")
    r = a / b if a and b else None
    add("indexer throughput, refresh on read vs refresh 1 s",
        "%s events/s (refresh_interval -1, dirty marks)" % _f(a, 0),
        "%s events/s (refresh_interval 1 s)" % _f(b, 0),
        _f(r, 2), ">= 1.10", (r >= 1.1) if r is not None else None, (r / 1.1) if r else None, "")
    for m, what in (("ror", "refresh on read"), ("r1s", "refresh 1 s")):
        c, d = clean[m], dirty[m]
        add("router p99 on a dirty index (%s)" % what,
            "dirty %s ms p99 (p50 %s ms), writer in the channel" % (_f(d and d.get("p99_ms"), 2),
                                                                   _f(d and d.get("p50_ms"), 2)),
            "clean %s ms p99 (p50 %s ms)" % (_f(c and c.get("p99_ms"), 2), _f(c and c.get("p50_ms"), 2)),
            _f((d["p99_ms"] / c["p99_ms"]) if d and c and d.get("p99_ms") and c.get("p99_ms") else None, 2),
            "-", None, None, "")
    for m, what in (("ror", "refresh on read"), ("r1s", "refresh 1 s")):
        mv = move[m]
        if not mv:
            continue
        st = mv.get("steady") or {}
        worst = max([(mv.get(ph) or {}).get("p99_s") or 0 for ph in ("moving", "switched", "after")])
        ok = st.get("p99_s") and worst <= 1.5 * st["p99_s"] + mv.get("poll_ms", 10) / 1000.0 and \
            all(((mv.get(ph) or {}).get("lost") or 0) == 0 for ph in ("steady", "moving", "switched", "after"))
        add("freshness p99 during a move (%s)" % what,
            ", ".join("%s %s s (n %s)" % (ph, _f((mv.get(ph) or {}).get("p99_s")), (mv.get(ph) or {}).get("n"))
                      for ph in ("moving", "switched", "after")),
            "steady %s s p99 (n %s)" % (_f(st.get("p99_s")), st.get("n")),
            _f(worst / st["p99_s"] if st.get("p99_s") else None, 2), "<= 1.5x steady (+1 poll)",
            bool(ok) if st.get("p99_s") else None, None, "")


def method():
    return ["- **Refresh on read** (section 9, `bench/fresh.sh`): the same code in two modes, one after "
            "the other on the same data: *refresh 1 s* (`--es-refresh-interval=1s --no-refresh-on-read`) "
            "and *refresh on read* (`--es-refresh-interval=-1 --refresh-on-read`). Throughput: the bench's "
            "events drained into a fresh index per mode. Freshness: probes as above, polled every 10 ms. "
            "Router p99 on a dirty index: `tools/loadgen` at a fixed rate on the busiest channel, first with "
            "the index clean, then while a writer republishes that channel's events (higher versions) so "
            "every search finds the index dirty. Move: one probe at a time (its row written when it is "
            "published), 6 s of steady state, `reindex channel ID --to` a second cluster name on the same "
            "OpenSearch (another index), 5 s after; each probe labelled by the binding state when published."]
