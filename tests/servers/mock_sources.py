#!/usr/bin/env python3
"""A local stand-in for the Kaggle API and FRED (the real ones are not reachable
from tests). Same URL shapes, basic auth, redirect to a storage URL, and error
modes chosen on the command line. Serves real files: a zip built from a
directory of CSVs, and a CPI CSV.

  mock_sources.py --port P --kaggle-dir DIR --cpi FILE --user U --key K
                  [--fail-first N] [--cut-body] [--truncate-zip] [--html-cpi]
"""
import argparse
import base64
import io
import os
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse, parse_qs

DATASET = "rounakbanik/the-movies-dataset"

args = None
ZIP = b""
state = {"failures_left": 0, "cut_done": False}
lock = threading.Lock()


def build_zip(directory):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name in sorted(os.listdir(directory)):
            if name.endswith(".csv"):
                z.write(os.path.join(directory, name), name)
    return buf.getvalue()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):
        pass

    def send(self, status, body=b"", ctype="text/plain", headers=None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urlparse(self.path)
        prefix = "/api/v1/datasets/download/"
        if url.path.startswith(prefix):
            expected = base64.b64encode(f"{args.user}:{args.key}".encode()).decode()
            if self.headers.get("Authorization") != f"Basic {expected}":
                return self.send(401, b'{"code":401,"message":"Unauthenticated"}', "application/json")
            if url.path[len(prefix):] != DATASET:
                return self.send(404, b'{"code":404,"message":"Not found"}', "application/json")
            with lock:
                if state["failures_left"] > 0:
                    state["failures_left"] -= 1
                    return self.send(500, b"internal error")
            return self.send(302, b"", headers={"Location": "/storage/the-movies-dataset.zip?sig=abc"})
        if url.path == "/storage/the-movies-dataset.zip":
            body = ZIP[: len(ZIP) // 2] if args.truncate_zip else ZIP
            with lock:
                cut = args.cut_body and not state["cut_done"]
                state["cut_done"] = state["cut_done"] or cut
            if cut:
                # Promise the whole body, send half, drop the connection.
                self.send_response(200)
                self.send_header("Content-Type", "application/zip")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(2)
                return
            return self.send(200, body, "application/zip")
        if url.path == "/graph/fredgraph.csv":
            if parse_qs(url.query).get("id") != [args.series]:
                return self.send(404, b"<html><body>Series not found</body></html>", "text/html")
            if args.html_cpi:
                return self.send(200, b"<!DOCTYPE html><html><body>Error</body></html>", "text/html")
            with open(args.cpi, "rb") as f:
                return self.send(200, f.read(), "text/csv")
        return self.send(404, b"no such path")


def main():
    global args, ZIP
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--kaggle-dir", required=True)
    p.add_argument("--cpi", required=True)
    p.add_argument("--series", default="CUSR0000SS62031")
    p.add_argument("--user", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--fail-first", type=int, default=0)
    p.add_argument("--cut-body", action="store_true")
    p.add_argument("--truncate-zip", action="store_true")
    p.add_argument("--html-cpi", action="store_true")
    args = p.parse_args()
    ZIP = build_zip(args.kaggle_dir)
    state["failures_left"] = args.fail_first
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
