#!/usr/bin/env python3
"""The console's browser test: headless Chromium (Debian's chromium +
chromium-driver) driven over the W3C WebDriver protocol with nothing but the
standard library, against a running demo (tests/demo.sh calls it with
DEMO_SMOKE=1 DEMO_BROWSER=1, which `make test` does).

Checks what an operator and a demo user see:
  - a wrong secret is refused on the sign-in page;
  - the console loads with the stack's data: both clusters, each with its load;
  - draining a cluster (with the confirmation) changes its state on the page,
    undraining changes it back;
  - the pipeline and router charts draw, the finished reindex job shows 100 %;
  - a dead-lettered event is replayed from the page and becomes searchable;
  - a search shows hits with highlight marks and the clusters that answered;
    a bad token shows the router's error.
Screenshots of every step go to --out. Every wait polls a condition with a
deadline (no fixed sleeps), so a loaded machine makes it slower, not flaky.
Prints one cmocka-style line per check and a summary the test runner counts.
"""
import argparse
import base64
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

EPOCH_MS = 1420070400000
ELEM = "element-6066-11e4-a52e-4f735466cecf"
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only


class WebDriver:
    """The few WebDriver commands the test needs, over HTTP."""

    def __init__(self, port):
        self.base = "http://127.0.0.1:%d" % port
        self.sid = None

    def call(self, method, path, body=None, timeout=60):
        data = json.dumps(body).encode() if body is not None else None
        rq = urllib.request.Request(self.base + path, data=data, method=method,
                                    headers={"Content-Type": "application/json"})
        try:
            with NO_PROXY.open(rq, timeout=timeout) as r:
                return json.load(r).get("value")
        except urllib.error.HTTPError as e:
            raise RuntimeError("webdriver %s %s: %s" % (method, path, e.read()[:500].decode(errors="replace")))

    def s(self, method, path, body=None):
        return self.call(method, "/session/%s%s" % (self.sid, path), body)

    def start(self, profile):
        args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--user-data-dir=" + profile, "--window-size=1400,2000"]
        caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": "/usr/bin/chromium", "args": args}}}}
        v = self.call("POST", "/session", caps, timeout=120)
        self.sid = v["sessionId"]
        self.s("POST", "/timeouts", {"script": 30000, "pageLoad": 30000, "implicit": 0})

    def quit(self):
        if self.sid:
            try:
                self.call("DELETE", "/session/" + self.sid, timeout=30)
            except Exception:
                pass

    def go(self, url):
        self.s("POST", "/url", {"url": url})

    def js(self, script, *args):
        return self.s("POST", "/execute/sync", {"script": script, "args": list(args)})

    def find(self, css):
        return self.s("POST", "/element", {"using": "css selector", "value": css})[ELEM]

    def click(self, css):
        self.s("POST", "/element/%s/click" % self.find(css), {})

    def type(self, css, text):
        e = self.find(css)
        self.s("POST", "/element/%s/clear" % e, {})
        self.s("POST", "/element/%s/value" % e, {"text": text})

    def shot(self, path):
        with open(path, "wb") as f:
            f.write(base64.b64decode(self.s("GET", "/screenshot")))


def wait(what, fn, timeout=30.0):
    """Poll fn until it returns something truthy; fail naming what after timeout."""
    end = time.time() + timeout
    last = None
    while time.time() < end:
        try:
            v = fn()
            if v:
                return v
        except (RuntimeError, OSError) as e:
            last = e
        time.sleep(0.1)
    raise AssertionError("timed out after %.0f s waiting for %s%s" % (timeout, what, " (%s)" % last if last else ""))


def text(d, css):
    return d.js("const e = document.querySelector(arguments[0]); return e ? e.textContent : null;", css)


def jsclick(d, css):
    """Click an element of a table that re-renders every refresh (no stale handles)."""
    return d.js("const e = document.querySelector(arguments[0]); if (!e || e.disabled) return false; e.click(); return true;", css)


def confirm(d):
    wait("the confirmation dialog", lambda: d.js("return document.querySelector('#confirm').open;"))
    d.click("#confirm-ok")
    wait("the dialog to close", lambda: not d.js("return document.querySelector('#confirm').open;"))


class Redis:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.f = self.s.makefile("rb")

    def __call__(self, *a):
        a = [x if isinstance(x, bytes) else str(x).encode() for x in a]
        self.s.sendall(b"".join([b"*%d\r\n" % len(a)] + [b"$%d\r\n%s\r\n" % (len(x), x) for x in a]))
        return self.read()

    def read(self):
        line = self.f.readline()
        t, r = line[:1], line[1:-2]
        if t == b"*":
            n = int(r)
            return None if n < 0 else [self.read() for _ in range(n)]
        if t == b"$":
            n = int(r)
            return None if n < 0 else self.f.read(n + 2)[:-2]
        if t == b":":
            return int(r)
        if t == b"-":
            raise RuntimeError(r.decode())
        return r.decode()


def dead_letter_event(a, meta):
    """A valid create event with a unique word, its PostgreSQL row written by
    scour-publish --write-db (through a scratch stream nobody reads), then
    moved into the dead-letter stream as the indexer writes entries there
    (e, reason, src_id, ts): the shape of an event the clusters refused."""
    g = meta["guilds"][0]
    ch = next(c for c in g["channels"] if c["visibility"] == "public")
    word = "replayed%08x" % random.getrandbits(32)
    now = int(time.time() * 1000)
    mid = ((now - EPOCH_MS) << 22) | (random.getrandbits(10) << 12) | random.getrandbits(12)
    ev = {"op": "create", "version": 1, "message": {
        "id": str(mid), "channel_id": ch["id"], "guild_id": g["id"], "author_id": meta["demo_user"]["id"],
        "author_type": "user", "content": "this message was dead-lettered and %s from the console" % word}}
    scratch = a.stream + ":console-test-scratch"
    tmp = tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False)
    tmp.write(json.dumps(ev) + "\n")
    tmp.close()
    subprocess.run([os.path.join(a.build, "scour-publish"), "--redis-port=%d" % a.redis_port, "--stream=" + scratch,
                    "--write-db", "--pg-dsn=" + a.pg_dsn, "--input=" + tmp.name],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)
    os.unlink(tmp.name)
    r = Redis(a.redis_port)
    (src_id, fields), = r("XRANGE", scratch, "-", "+")
    payload = dict(zip(fields[0::2], fields[1::2]))[b"e"]
    r("DEL", scratch)
    dead_id = r("XADD", a.stream + ":dead", "*", "e", payload, "reason",
                "cluster c1 refused the bulk item (mapper_parsing_exception); injected by the browser test",
                "src_id", src_id, "ts", str(now)).decode()
    return dead_id, word, ch["id"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--console", required=True)
    ap.add_argument("--secret", required=True)
    ap.add_argument("--meta", required=True)
    ap.add_argument("--redis-port", type=int, required=True)
    ap.add_argument("--stream", required=True)
    ap.add_argument("--pg-dsn", required=True)
    ap.add_argument("--build", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--log", help="also write the result lines here")
    a = ap.parse_args()
    meta = json.load(open(a.meta))
    os.makedirs(a.out, exist_ok=True)
    for f in os.listdir(a.out):
        if f.endswith(".png"):
            os.unlink(os.path.join(a.out, f))
    out = [open(a.log, "w")] if a.log else []

    def say(line):
        print(line, flush=True)
        for f in out:
            f.write(line + "\n")
            f.flush()

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    profile = tempfile.mkdtemp(prefix="scour-chromium-")
    drv = subprocess.Popen(["/usr/bin/chromedriver", "--port=%d" % port], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    d = WebDriver(port)
    passed, failed = 0, []
    figures = {}
    try:
        wait("chromedriver", lambda: d.call("GET", "/status", timeout=5).get("ready"), 30)
        d.start(profile)
        general = next(c for c in meta["guilds"][0]["channels"] if c["visibility"] == "public")["id"]

        def check(name, fn):
            nonlocal passed
            say("[ RUN      ] " + name)
            t0 = time.time()
            try:
                fn()
                passed += 1
                say("[       OK ] %s (%.1f s)" % (name, time.time() - t0))
            except Exception as e:  # one failed check does not hide the others
                failed.append(name)
                say("[  FAILED  ] %s: %s" % (name, e))
                try:
                    d.shot(os.path.join(a.out, "failed-%s.png" % name.replace(" ", "-")))
                except Exception:
                    pass

        def sign_in_refused():
            d.go(a.console + "/")
            wait("the sign-in form", lambda: d.js("return !document.querySelector('#login').hidden;"))
            d.type("#secret", "not-the-secret")
            d.click("#login-btn")
            wait("the refusal", lambda: "secret" in (text(d, "#login-error") or ""))
            d.shot(os.path.join(a.out, "01-sign-in-refused.png"))

        def loads_with_data():
            t0 = time.time()
            d.go(a.console + "/#secret=" + a.secret)
            # the demo's two clusters (a shared test database may list more, gone ones)
            wait("both clusters with their load", lambda: d.js(
                "const r = ['c1', 'c2'].map(n => document.querySelector('#clusters tr[data-cluster=' + n + ']'));"
                "return r.every(x => x && /^[0-9.]+k?M?$/.test(x.querySelector('td.load').textContent));"))
            figures["time_to_clusters_ms"] = round((time.time() - t0) * 1000)
            nav = d.js("const n = performance.getEntriesByType('navigation')[0];"
                       "const p = performance.getEntriesByName('first-contentful-paint')[0];"
                       "const res = performance.getEntriesByType('resource');"
                       "return {fcp: p ? p.startTime : null, dom: n.domContentLoadedEventEnd,"
                       " html: n.encodedBodySize, static: res.filter(r => !r.name.includes('/api/')).reduce((s, r) => s + r.encodedBodySize, 0),"
                       " api: res.filter(r => r.name.includes('/api/')).reduce((s, r) => s + r.encodedBodySize, 0)};")
            figures.update(first_contentful_paint_ms=round(nav["fcp"] or -1), dom_content_loaded_ms=round(nav["dom"]),
                           page_static_bytes=nav["html"] + nav["static"], first_api_bytes=nav["api"])
            assert nav["fcp"] is not None and nav["fcp"] <= 1000, "first paint %s ms" % nav["fcp"]
            assert figures["page_static_bytes"] <= 300 * 1024, figures
            assert text(d, "#clusters tr[data-cluster=c1] td.health") == "green"

        def drain_undrain():
            row = "#clusters tr[data-cluster=c1]"
            wait("c1 active", lambda: text(d, row + " td.state") == "active")
            assert jsclick(d, row + " button.drain")
            confirm(d)
            wait("c1 draining on the page", lambda: text(d, row + " td.state") == "draining")
            d.shot(os.path.join(a.out, "03-cluster-draining.png"))
            assert jsclick(d, row + " button.undrain")
            confirm(d)
            wait("c1 active again", lambda: text(d, row + " td.state") == "active")

        def charts_and_jobs():
            wait("the pipeline chart", lambda: d.js(
                "const p = document.querySelector('#pipeline-chart polyline[data-series=read]');"
                "return p && p.getAttribute('points').split(' ').length >= 3;"), 60)
            wait("the router panel", lambda: text(d, "#router-qps") is not None, 60)
            wait("the finished reindex job at 100 %", lambda: "100.0%" in (text(d, "#jobs tr[data-state=done] .progress") or ""))
            wait("the dead letter the indexer wrote", lambda: "malformed event" in (text(d, "#dead tbody") or ""))
            d.js("window.scrollTo(0, 0);")
            d.shot(os.path.join(a.out, "02-operations.png"))

        def replay_dead_letter():
            dead_id, word, ch = dead_letter_event(a, meta)
            row = "#dead tr[data-id='%s']" % dead_id
            wait("the injected dead letter on the page", lambda: text(d, row + " td.reason"))
            d.js("document.querySelector(arguments[0]).scrollIntoView();", row)
            d.shot(os.path.join(a.out, "04-dead-letter.png"))
            assert jsclick(d, row + " button.replay")
            confirm(d)
            wait("the replay answer", lambda: "replayed " + dead_id in (text(d, "#dead-msg") or ""))
            wait("the row to leave the list", lambda: text(d, row) is None)
            d.go(a.console + "/#search")
            wait("the search page with demo users", lambda: d.js(
                "return !document.querySelector('#search').hidden && document.querySelector('#token').value.length > 20;"))
            d.js("document.querySelector('#scope').value = 'channel';")
            d.type("#scope-id", ch)
            d.type("#q", word)

            def found():
                d.click("#search-btn")
                return wait("an answer", lambda: text(d, "#search-info") or text(d, "#search-error"), 15) and \
                    d.js("return [...document.querySelectorAll('#results mark')].some(m => m.textContent.toLowerCase() === arguments[0]);", word)
            wait("the replayed message in the results", found, 60)
            d.shot(os.path.join(a.out, "05-replayed-searchable.png"))

        def search_highlights():
            d.type("#scope-id", general)
            d.type("#q", "love")
            d.click("#search-btn")
            wait("hits with highlight marks", lambda: d.js("return document.querySelectorAll('#results mark').length > 0;"))
            assert "✓" in text(d, "#answered"), text(d, "#answered")
            assert text(d, "#search-error") == ""
            d.shot(os.path.join(a.out, "06-search-hits.png"))

        def bad_token():
            d.js("document.querySelector('#demo-user').value = ''; document.querySelector('#demo-user').dispatchEvent(new Event('change'));")
            d.type("#token", "not.a.token")
            d.click("#search-btn")
            wait("the router's 401", lambda: "HTTP 401" in (text(d, "#search-error") or ""))
            assert d.js("return document.querySelectorAll('#results li').length;") == 0
            d.shot(os.path.join(a.out, "07-search-bad-token.png"))

        check("console: a wrong secret is refused", sign_in_refused)
        check("console: loads with the stack's data, clusters show their load", loads_with_data)
        check("console: drain and undrain change the cluster's state", drain_undrain)
        check("console: pipeline and router charts, finished job, dead letters", charts_and_jobs)
        check("console: a dead letter replayed from the page becomes searchable", replay_dead_letter)
        check("console: a search shows hits with highlights and the clusters", search_highlights)
        check("console: a bad token shows the error", bad_token)
    finally:
        d.quit()
        drv.terminate()
        try:
            drv.wait(10)
        except subprocess.TimeoutExpired:
            drv.kill()
        shutil.rmtree(profile, ignore_errors=True)
    say("console figures: " + json.dumps(figures))
    say("console screenshots: " + " ".join(sorted(os.path.join(a.out, f) for f in os.listdir(a.out))))
    say("[  PASSED  ] %d test(s)." % passed)
    if failed:
        say("[  FAILED  ] %d test(s), listed below:" % len(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
