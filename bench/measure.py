#!/usr/bin/env python3
"""bench/measure.py - the measuring half of bench/run.sh. Standard library only.

Subcommands (each prints one JSON object on stdout):

  drain --port P --stream S --group G --expect N [--timeout T] -- CMD...
      Start CMD (a worker draining the stream S through group G), and time
      from its first read of the stream (its start-up, connecting and
      loading, is startup_s) until the group has read at least N entries
      with lag 0 and pending 0 (every event written and acknowledged),
      looking every 20 ms; CPU (cpu_s, cpu_ms_per_1k) counts over the same
      span (startup_cpu_s before it, cpu_total_s both). Then read the
      worker's CPU time (utime+stime from /proc/PID/stat), stop it with
      SIGTERM and report its peak RSS (ru_maxrss from wait4, the same as
      VmHWM before exit). {"seconds", "events_per_s", "cpu_s", "rss_kb", ...}

  run [--timeout T] -- CMD...
      Run CMD to completion: wall time, CPU time and peak RSS from wait4,
      exit code, last stdout line.

  spawn --pidfile F --log L -- CMD...   /   stop --pidfile F
      Start a long-running program (router, agent) in the background;
      stop it later with SIGTERM and report its CPU time and peak RSS
      (VmHWM read from /proc just before the signal).

  freshness --port P --stream S --url URL --token T --channel C --guild G
            --ids FILE [--threads 8]
      For each prepared probe event in FILE (JSON lines, one per probe,
      written by run.sh together with their PostgreSQL rows), XADD it and
      poll the router's channel search for its unique word until the
      message is found; report p50/p99/max of publish -> searchable.

  wrk --name NAME -- WRK-ARGS...
      Run wrk with --latency and parse p50/p90/p99 latency and requests/s.

  pool --rate R --rounds N --seconds S FILE
      Percentiles (nearest rank) of the latency samples in FILE (microseconds,
      one per line, appended by tools/loadgen --samples over N rounds of S
      seconds at R req/s): {"n", "p50_ms", "p90_ms", "p99_ms", "p999_ms", ...}

  engine snap|settle --es URL [--pid JVM_PID] [--redis-port P] [--compact-redis]
  engine delta BEFORE.json AFTER.json
      snap: the engine's state (_nodes/stats: merges, indexing, refresh,
      segments, heap, GC, write pool, process CPU; _cluster/pending_tasks;
      with --pid the CPU of the JVM's JIT compiler and GC threads from /proc;
      busy CPU of the whole host; Redis's AOF rewrite state). settle: wait
      (at most --timeout s) until the engine has been idle for --quiet-s s
      (nothing merging, indexing or queued, its CPU under --quiet-cores, no
      Redis rewrite; --compact-redis starts a BGREWRITEAOF first), print the
      state with "settled", "waited_s" and what kept it "busy". delta: GC,
      JIT, merge, refresh and CPU figures between two snapshots.

  rounds --work DIR --rounds N PATH...
      Medians per path (throughput, CPU per 1,000 events; peak RSS: the
      largest) over the rounds' r_<path>_<i>.json; writes r_<path>.json (the
      median round) and prints every round too.

Not here: starting the stack, building data, writing the report (report.py).
"""
import argparse
import json
import math
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request

CLK_TCK = os.sysconf("SC_CLK_TCK")


# ------------------------------------------------------------------ redis
class Resp:
    """A minimal RESP2 client (one connection)."""

    def __init__(self, port, host="127.0.0.1"):
        self.s = socket.create_connection((host, port), timeout=10)
        self.f = self.s.makefile("rb")

    def call(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.s.sendall(b"".join(out))
        return self._read()

    def _read(self):
        line = self.f.readline()
        if not line:
            raise ConnectionError("redis closed the connection")
        t, rest = line[:1], line[1:-2]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            raise RuntimeError(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.f.read(n + 2)[:-2]
            return data.decode(errors="replace")
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self._read() for _ in range(n)]
        raise ValueError("bad reply %r" % line)


def group_info(r, stream, group):
    try:
        groups = r.call("XINFO", "GROUPS", stream)
    except RuntimeError:
        return None
    for g in groups or []:
        d = dict(zip(g[0::2], g[1::2]))
        if d.get("name") == group:
            return d
    return None


# ------------------------------------------------------------------ /proc
def proc_cpu(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime
    except (OSError, IndexError, ValueError):
        return None


def proc_cpu_split(pid):
    """(user seconds, system seconds) of pid, or (None, None)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return None, None


def proc_hwm_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def stop_and_reap(p, timeout=20):
    """SIGTERM, wait (SIGKILL after timeout); returns (status, rusage). A
    child that Popen.poll() already reaped has no rusage left: (status, None)."""
    if p.returncode is not None:
        return p.returncode, None
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
    elif p.returncode is not None:
        return p.returncode, None
    deadline = time.monotonic() + timeout
    while True:
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid == p.pid:
            p.returncode = os.waitstatus_to_exitcode(status)
            return p.returncode, ru
        if time.monotonic() > deadline:
            p.kill()
            _, status, ru = os.wait4(p.pid, 0)
            p.returncode = os.waitstatus_to_exitcode(status)
            return p.returncode, ru
        time.sleep(0.02)


# ------------------------------------------------------------------ subcommands
def cmd_drain(a):
    r = Resp(a.port)
    log = open(a.log, "ab") if a.log else subprocess.DEVNULL
    t0 = time.monotonic()
    p = subprocess.Popen(a.cmd, stdout=log, stderr=log)
    done = None
    first = None  # the last look before the first entry was read
    seen_none, cpu_none, cpu_first = t0, 0.0, None
    last = {}
    while time.monotonic() - t0 < a.timeout:
        if p.poll() is not None:
            break
        t = time.monotonic()
        g = group_info(r, a.stream, a.group)
        if g:
            last = g
            read = g.get("entries-read") or 0
            if read == 0:
                seen_none, cpu_none = t, proc_cpu(p.pid)
            elif first is None:
                first, cpu_first = seen_none, cpu_none
            if read >= a.expect and g.get("lag") == 0 and g.get("pending") == 0:
                done = time.monotonic()
                break
        else:
            seen_none, cpu_none = t, proc_cpu(p.pid)
        time.sleep(0.02)
    cpu = proc_cpu(p.pid)
    user_s, sys_s = proc_cpu_split(p.pid)
    hwm = proc_hwm_kb(p.pid)
    exited_early = p.poll() is not None
    rc, ru = stop_and_reap(p)
    res = {"ok": done is not None, "expect": a.expect, "entries_read": last.get("entries-read"),
           "lag": last.get("lag"), "pending": last.get("pending"), "exit_code": rc,
           # VmHWM of the running program; wait4's ru_maxrss of a child also
           # counts the forked copy of this (Python) process before exec, so
           # it is only the fallback when the program had already exited
           "exited_early": exited_early, "rss_kb": hwm if hwm else (ru.ru_maxrss if ru else 0)}
    if done is not None:
        # the clock runs from the worker's first read (the last look before
        # it, to be safe), as the ceiling's runs once its clients are
        # connected; start-up is reported on its own
        first = first if first is not None else t0
        cpu_first = cpu_first or 0.0
        secs = done - first
        work = cpu - cpu_first if cpu is not None else None
        res.update({"seconds": round(secs, 3), "events_per_s": round(a.expect / secs, 1),
                    "startup_s": round(first - t0, 3), "seconds_total": round(done - t0, 3),
                    "cpu_s": round(work, 3) if work is not None else None,
                    "startup_cpu_s": round(cpu_first, 3), "cpu_total_s": cpu,
                    "user_s": user_s, "sys_s": sys_s,
                    "cpu_ms_per_1k": round(work * 1e6 / a.expect, 2) if work is not None else None})
    else:
        res["seconds"] = round(time.monotonic() - t0, 3)
    print(json.dumps(res))
    return 0 if done is not None else 1


def cmd_run(a):
    log = open(a.log, "ab") if a.log else None
    t0 = time.monotonic()
    p = subprocess.Popen(a.cmd, stdout=subprocess.PIPE, stderr=log or subprocess.DEVNULL)
    try:
        out, _ = p.communicate(timeout=a.timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        p.kill()
        out, _ = p.communicate()
        timed_out = True
    # communicate() reaped the child; its rusage is in RUSAGE_CHILDREN only as
    # a sum, so take the difference around this single child.
    secs = time.monotonic() - t0
    ru = _children_rusage_delta()
    text = out.decode(errors="replace")
    if log:
        log.write(out)
    lines = [l for l in text.splitlines() if l.strip()]
    res = {"exit_code": p.returncode, "timed_out": timed_out, "seconds": round(secs, 3),
           "cpu_s": round(ru[0], 3), "rss_kb": ru[1], "last_line": lines[-1] if lines else ""}
    print(json.dumps(res))
    return 0 if p.returncode == 0 else 1


_prev_children = [0.0]


def _children_rusage_delta():
    import resource
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = ru.ru_utime + ru.ru_stime
    d = cpu - _prev_children[0]
    _prev_children[0] = cpu
    return d, ru.ru_maxrss  # maxrss: largest child so far (one child per run)


def cmd_spawn(a):
    log = open(a.log, "ab") if a.log else subprocess.DEVNULL
    p = subprocess.Popen(a.cmd, stdout=log, stderr=log, start_new_session=True)
    with open(a.pidfile, "w") as f:
        f.write("%d\n" % p.pid)
    print(json.dumps({"pid": p.pid}))
    return 0


def cmd_stop(a):
    try:
        with open(a.pidfile) as f:
            pid = int(f.read().strip())
    except (OSError, ValueError):
        print(json.dumps({"error": "no pidfile"}))
        return 1
    cpu = proc_cpu(pid)
    hwm = proc_hwm_kb(pid)
    alive = cpu is not None
    if alive:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        while proc_cpu(pid) is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        if proc_cpu(pid) is not None:
            os.kill(pid, signal.SIGKILL)
    os.unlink(a.pidfile)
    print(json.dumps({"pid": pid, "was_alive": alive, "cpu_s": cpu, "rss_kb": hwm}))
    return 0 if alive else 1


def http_get(url, token, timeout=5):
    req = urllib.request.Request(url, headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return resp.status, resp.read()


def cmd_freshness(a):
    probes = [json.loads(l) for l in open(a.ids, encoding="utf-8") if l.strip()]
    lat, failures = [], []
    lock = threading.Lock()
    it = iter(probes)

    def worker():
        r = Resp(a.port)
        while True:
            with lock:
                ev = next(it, None)
            if ev is None:
                return
            word = ev["message"]["content"].split()[-1]
            url = "%s/api/v1/channels/%s/messages/search?content=%s" % (
                a.url, ev["message"]["channel_id"], urllib.parse.quote(word))
            payload = json.dumps(ev, separators=(",", ":"))
            t0 = time.monotonic()
            r.call("XADD", a.stream, "*", "e", payload)
            found = False
            while time.monotonic() - t0 < a.probe_timeout:
                try:
                    st, body = http_get(url, a.token)
                    if st == 200 and json.loads(body).get("total_results", 0) > 0:
                        found = True
                        break
                except Exception:
                    pass
                time.sleep(a.poll_ms / 1000.0)
            dt = time.monotonic() - t0
            with lock:
                (lat if found else failures).append(dt)

    ths = [threading.Thread(target=worker) for _ in range(a.threads)]
    for t in ths:
        t.start()
    for t in ths:
        t.join()
    lat.sort()

    def pct(p):
        if not lat:
            return None
        return round(lat[min(len(lat) - 1, int(p / 100.0 * len(lat)))], 3)

    print(json.dumps({"n": len(probes), "found": len(lat), "not_found": len(failures),
                      "p50_s": pct(50), "p99_s": pct(99), "max_s": round(lat[-1], 3) if lat else None,
                      "poll_ms": a.poll_ms}))
    return 0 if not failures else 1


UNIT = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def to_ms(v):
    m = re.match(r"([0-9.]+)(us|ms|s|m)$", v)
    return float(m.group(1)) * UNIT[m.group(2)] if m else None


def cmd_wrk(a):
    args = a.cmd
    p = subprocess.run(["wrk", "--latency"] + args, capture_output=True, text=True)
    out = p.stdout
    res = {"name": a.name, "exit_code": p.returncode}
    for q in ("50", "75", "90", "99"):
        m = re.search(r"^\s+%s(?:\.000)?%%\s+(\S+)" % q, out, re.M)
        res["p%s_ms" % q] = round(to_ms(m.group(1)), 3) if m else None
    m = re.search(r"Requests/sec:\s+([0-9.]+)", out)
    res["qps"] = float(m.group(1)) if m else None
    m = re.search(r"(\d+) requests in", out)
    res["requests"] = int(m.group(1)) if m else None
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    res["non2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: (.*)", out)
    res["socket_errors"] = m.group(1).strip() if m else ""
    if a.log:
        with open(a.log, "a") as f:
            f.write(out + p.stderr)
    print(json.dumps(res))
    return 0 if p.returncode == 0 and res["qps"] else 1


def cmd_pool(a):
    """Percentiles (nearest rank) of latency samples in microseconds, one per
    line, pooled from every round loadgen appended to the file."""
    with open(a.samples) as f:
        v = sorted(int(x) for x in f if x.strip())
    res = {"rate": a.rate, "rounds": a.rounds, "seconds_per_round": a.seconds, "n": len(v)}
    for name, q in (("p50_ms", 0.50), ("p90_ms", 0.90), ("p99_ms", 0.99), ("p999_ms", 0.999)):
        res[name] = round(v[max(0, math.ceil(q * len(v)) - 1)] / 1000.0, 3) if v else None
    res["max_ms"] = round(v[-1] / 1000.0, 3) if v else None
    print(json.dumps(res))
    return 0 if v else 1


def _median(v):
    v = sorted(x for x in v if x is not None)
    if not v:
        return None
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2.0


def cmd_rounds(a):
    """Medians per path over the rounds r_<path>_<i>.json in --work; writes
    r_<path>.json (the round with the median throughput, peak RSS the largest
    of all rounds) and prints {"rounds": N, "paths": {path: {...}}}."""
    out = {}
    for path in a.paths:
        rs = []
        for i in range(1, a.rounds + 1):
            try:
                with open(os.path.join(a.work, "r_%s_%d.json" % (path, i))) as f:
                    rs.append(json.load(f))
            except (OSError, ValueError):
                rs.append(None)
        got = [r for r in rs if r and r.get("events_per_s")]
        if not got:
            continue
        for i, r in enumerate(rs):  # what the engine did during each (throughput.sh)
            try:
                with open(os.path.join(a.work, "e_%s_%d.json" % (path, i + 1))) as f:
                    eng = json.load(f)
                with open(os.path.join(a.work, "e_%s_%d_0.json" % (path, i + 1))) as f:
                    st = json.load(f)
                eng.update({"settled": st.get("settled"), "settle_s": st.get("waited_s")})
            except (OSError, ValueError):
                eng = None
            if r is not None:
                r["engine"] = eng
        med = {"events_per_s": _median([r["events_per_s"] for r in got]),
               "cpu_ms_per_1k": _median([r.get("cpu_ms_per_1k") for r in got]),
               "rss_kb": max(r.get("rss_kb") or 0 for r in got),
               "rounds": [{"events_per_s": r.get("events_per_s"), "cpu_ms_per_1k": r.get("cpu_ms_per_1k"),
                           "rss_kb": r.get("rss_kb"), "seconds": r.get("seconds"),
                           "startup_s": r.get("startup_s"), "engine": r.get("engine")} if r else None for r in rs]}
        out[path] = med
        mid = sorted(got, key=lambda r: r["events_per_s"])[(len(got) - 1) // 2]
        with open(os.path.join(a.work, "r_%s.json" % path), "w") as f:
            json.dump(dict(mid, rss_kb=med["rss_kb"], median_of=len(got)), f)
    print(json.dumps({"rounds": a.rounds, "paths": out}))
    return 0 if out else 1


# ------------------------------------------------------------------ engine
# The state of the engine (and of Redis) around each timed path: what the
# engine did during it (GC, JIT, merges, refreshes, its CPU) and, before it,
# a wait until everything the previous path started has finished.

ENGINE_STATS = ("/_nodes/_local/stats/jvm,indices,thread_pool,process?filter_path="
                "nodes.*.jvm.mem.heap_used_percent,nodes.*.jvm.gc.collectors,"
                "nodes.*.indices.merges,nodes.*.indices.indexing,nodes.*.indices.refresh,"
                "nodes.*.indices.flush,nodes.*.indices.segments.count,nodes.*.indices.docs.count,"
                "nodes.*.thread_pool.write,nodes.*.process.cpu.total_in_millis")


def _get_json(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read().decode())


def thread_cpu_ms(pid):
    """CPU ms of a JVM's threads by kind ({"jit", "gc", "other"}) from
    /proc/PID/task/*/stat, or None when pid is not readable."""
    out = {"jit": 0.0, "gc": 0.0, "other": 0.0}
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return None
    for t in tids:
        try:
            with open("/proc/%d/task/%s/stat" % (pid, t)) as f:
                s = f.read()
        except OSError:
            continue  # the thread ended meanwhile
        name = s[s.index("(") + 1:s.rindex(")")]
        fields = s.rsplit(")", 1)[1].split()
        ms = (int(fields[11]) + int(fields[12])) * 1000.0 / CLK_TCK
        if "Compiler" in name:  # "C1 CompilerThre", "C2 CompilerThre"
            out["jit"] += ms
        elif name.startswith(("GC Thread", "G1 ", "VM Thread")):
            out["gc"] += ms
        else:
            out["other"] += ms
    return out


def host_cpu_ms():
    """Busy CPU ms of the whole machine (all cores) from /proc/stat."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        idle = v[3] + (v[4] if len(v) > 4 else 0)
        return (sum(v[:8]) - idle) * 1000.0 / CLK_TCK
    except (OSError, ValueError, IndexError):
        return None


def redis_state(port):
    """({"aof_rewrite_in_progress": .., ...} from INFO persistence, the
    server's CPU ms from INFO cpu), or (None, None)."""
    if not port:
        return None, None
    try:
        r = Resp(port)
        txt = (r.call("INFO", "persistence") or "") + "\n" + (r.call("INFO", "cpu") or "")
        r.s.close()
    except (OSError, RuntimeError, ConnectionError):
        return None, None
    kv = dict(l.split(":", 1) for l in txt.splitlines() if ":" in l)
    keys = ("aof_rewrite_in_progress", "aof_rewrite_scheduled", "rdb_bgsave_in_progress")
    try:
        cpu = (float(kv["used_cpu_user"]) + float(kv["used_cpu_sys"])) * 1000.0
    except (KeyError, ValueError):
        cpu = None
    return {k: int(kv[k]) for k in keys if k in kv and kv[k].strip().isdigit()}, cpu


def engine_snap(a):
    st = _get_json(a.es + ENGINE_STATS)
    node = next(iter((st.get("nodes") or {}).values()), {})
    ix, jvm = node.get("indices") or {}, node.get("jvm") or {}
    gc = (jvm.get("gc") or {}).get("collectors") or {}
    wp = (node.get("thread_pool") or {}).get("write") or {}
    try:
        pending = len(_get_json(a.es + "/_cluster/pending_tasks").get("tasks") or [])
    except (OSError, ValueError):
        pending = None
    snap = {
        "t": time.monotonic(),
        "merges_current": (ix.get("merges") or {}).get("current"),
        "merges_total": (ix.get("merges") or {}).get("total"),
        "merges_ms": (ix.get("merges") or {}).get("total_time_in_millis"),
        "indexing_current": (ix.get("indexing") or {}).get("index_current"),
        "index_ms": (ix.get("indexing") or {}).get("index_time_in_millis"),
        "throttle_ms": (ix.get("indexing") or {}).get("throttle_time_in_millis"),
        "refresh_ms": (ix.get("refresh") or {}).get("total_time_in_millis"),
        "flush_total": (ix.get("flush") or {}).get("total"),
        "segments": (ix.get("segments") or {}).get("count"),
        "docs": (ix.get("docs") or {}).get("count"),
        "heap_used_pct": (jvm.get("mem") or {}).get("heap_used_percent"),
        "gc_young": (gc.get("young") or {}).get("collection_count"),
        "gc_young_ms": (gc.get("young") or {}).get("collection_time_in_millis"),
        "gc_old": (gc.get("old") or {}).get("collection_count"),
        "gc_old_ms": (gc.get("old") or {}).get("collection_time_in_millis"),
        "write_active": wp.get("active"), "write_queue": wp.get("queue"),
        "write_rejected": wp.get("rejected"),
        "pending_tasks": pending,
        "engine_cpu_ms": (node.get("process") or {}).get("cpu", {}).get("total_in_millis"),
        "threads_cpu_ms": thread_cpu_ms(a.pid) if a.pid else None,
        "host_cpu_ms": host_cpu_ms(),
    }
    snap["redis"], snap["redis_cpu_ms"] = redis_state(a.redis_port)
    return snap


def _busy_reasons(s, prev, quiet_cores):
    why = []
    for k in ("merges_current", "indexing_current", "write_active", "write_queue", "pending_tasks"):
        if s.get(k):
            why.append("%s=%s" % (k, s[k]))
    for k, v in (s.get("redis") or {}).items():
        if v:
            why.append("redis %s" % k)
    if prev is not None and s.get("engine_cpu_ms") is not None and prev.get("engine_cpu_ms") is not None:
        cores = (s["engine_cpu_ms"] - prev["engine_cpu_ms"]) / max(1.0, (s["t"] - prev["t"]) * 1000.0)
        if cores > quiet_cores:
            why.append("engine CPU %.2f cores" % cores)
    return why


def cmd_engine(a):
    """snap: print the engine's state. settle: compact Redis's AOF when asked,
    then wait until the engine has been idle (no merge, indexing, write task or
    cluster task running; its CPU under --quiet-cores; no Redis rewrite) for
    --quiet-s seconds, at most --timeout; print the state then, with
    "settled" and "waited_s". delta A B: what changed from snapshot A to B."""
    if a.action == "delta":
        with open(a.files[0]) as f:
            x = json.load(f)
        with open(a.files[1]) as f:
            y = json.load(f)
        x, y = x.get("snap", x), y.get("snap", y)

        def d(k):
            return y[k] - x[k] if isinstance(x.get(k), (int, float)) and isinstance(y.get(k), (int, float)) else None

        out = {k: d(k) for k in ("merges_total", "merges_ms", "index_ms", "throttle_ms", "refresh_ms",
                                 "flush_total", "gc_young", "gc_young_ms", "gc_old", "gc_old_ms",
                                 "write_rejected", "engine_cpu_ms", "host_cpu_ms", "redis_cpu_ms")}
        out["seconds"] = round(y["t"] - x["t"], 3)
        out["heap_used_pct_before"] = x.get("heap_used_pct")
        out["segments_before"] = x.get("segments")
        out["docs_before"] = x.get("docs")
        tx, ty = x.get("threads_cpu_ms"), y.get("threads_cpu_ms")
        if tx and ty:
            for k in ("jit", "gc", "other"):
                out["%s_cpu_ms" % k] = round(ty[k] - tx[k], 1)
        print(json.dumps(out))
        return 0
    if a.action == "snap":
        print(json.dumps(engine_snap(a)))
        return 0
    t0 = time.monotonic()
    if a.compact_redis and a.redis_port:
        try:
            r = Resp(a.redis_port)
            try:
                r.call("BGREWRITEAOF")
            except RuntimeError:
                pass  # one is running already: the wait below covers it
            r.s.close()
        except (OSError, ConnectionError):
            pass
    prev, quiet_since, why = None, None, ["not looked yet"]
    while True:
        s = engine_snap(a)
        why = _busy_reasons(s, prev, a.quiet_cores) if prev is not None else ["first look"]
        now = time.monotonic()
        if not why:
            quiet_since = quiet_since or prev["t"]
            if now - quiet_since >= a.quiet_s:
                break
        else:
            quiet_since = None
        if now - t0 > a.timeout:
            break
        prev = s
        time.sleep(0.5)
    settled = not why
    print(json.dumps({"settled": settled, "waited_s": round(time.monotonic() - t0, 2),
                      "busy": why, "snap": s}))
    return 0 if settled else 1


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="sub", required=True)
    pl = sub.add_parser("pool")
    pl.add_argument("--rate", type=int, required=True)
    pl.add_argument("--rounds", type=int, required=True)
    pl.add_argument("--seconds", type=float, required=True)
    pl.add_argument("samples")
    d = sub.add_parser("drain")
    d.add_argument("--port", type=int, required=True)
    d.add_argument("--stream", required=True)
    d.add_argument("--group", required=True)
    d.add_argument("--expect", type=int, required=True)
    d.add_argument("--timeout", type=float, default=600)
    d.add_argument("--log")
    d.add_argument("cmd", nargs=argparse.REMAINDER)
    r = sub.add_parser("run")
    r.add_argument("--timeout", type=float, default=600)
    r.add_argument("--log")
    r.add_argument("cmd", nargs=argparse.REMAINDER)
    s = sub.add_parser("spawn")
    s.add_argument("--pidfile", required=True)
    s.add_argument("--log")
    s.add_argument("cmd", nargs=argparse.REMAINDER)
    t = sub.add_parser("stop")
    t.add_argument("--pidfile", required=True)
    f = sub.add_parser("freshness")
    f.add_argument("--port", type=int, required=True)
    f.add_argument("--stream", required=True)
    f.add_argument("--url", required=True)
    f.add_argument("--token", required=True)
    f.add_argument("--ids", required=True)
    f.add_argument("--threads", type=int, default=8)
    f.add_argument("--poll-ms", type=int, default=20)
    f.add_argument("--probe-timeout", type=float, default=15)
    w = sub.add_parser("wrk")
    w.add_argument("--name", required=True)
    w.add_argument("--log")
    w.add_argument("cmd", nargs=argparse.REMAINDER)
    rd = sub.add_parser("rounds")
    rd.add_argument("--work", required=True)
    rd.add_argument("--rounds", type=int, required=True)
    rd.add_argument("paths", nargs="+")
    e = sub.add_parser("engine")
    e.add_argument("action", choices=("snap", "settle", "delta"))
    e.add_argument("files", nargs="*", help="delta: the two snapshots")
    e.add_argument("--es", help="the engine's base URL (snap, settle)")
    e.add_argument("--pid", type=int, help="the engine's JVM pid: CPU of its JIT and GC threads")
    e.add_argument("--redis-port", type=int, help="also wait for Redis's AOF rewrites")
    e.add_argument("--compact-redis", action="store_true", help="settle: BGREWRITEAOF first")
    e.add_argument("--timeout", type=float, default=60)
    e.add_argument("--quiet-s", type=float, default=2.0)
    e.add_argument("--quiet-cores", type=float, default=0.1)
    a = ap.parse_args()
    if hasattr(a, "cmd") and a.cmd and a.cmd[0] == "--":
        a.cmd = a.cmd[1:]
    return {"drain": cmd_drain, "run": cmd_run, "spawn": cmd_spawn, "stop": cmd_stop,
            "freshness": cmd_freshness, "wrk": cmd_wrk, "pool": cmd_pool,
            "rounds": cmd_rounds, "engine": cmd_engine}[a.sub](a)


if __name__ == "__main__":
    sys.exit(main())
