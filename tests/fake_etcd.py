#!/usr/bin/env python3
"""tests/fake_etcd.py - a stand-in for etcd's v3 JSON gateway, for unit tests that start a
program without the stack: every range is empty, a watch is created and
then held open with nothing to report, anything else answers {}. Prints
the port it listens on, then serves until killed."""
import http.server
import json
import socketserver
import sys
import time


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        hdr = {"cluster_id": "1", "member_id": "1", "revision": "1", "raft_term": "1"}
        if self.path.startswith("/v3/watch"):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            line = (json.dumps({"result": {"header": hdr, "created": True}}) + "\n").encode()
            try:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
                self.wfile.flush()
                while True:
                    time.sleep(1)
            except OSError:
                return
        if self.path.startswith("/v3/kv/range"):
            body = {"header": hdr, "count": "0"}
        elif self.path.startswith("/v3/lease/grant"):
            body = {"header": hdr, "ID": "7", "TTL": "10"}
        else:
            body = {"header": hdr}
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


srv = S(("127.0.0.1", 0), H)
print(srv.server_address[1], flush=True)
srv.serve_forever()
