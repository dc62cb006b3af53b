#!/usr/bin/env python3
"""A file server for the download tests that misbehaves on purpose, on loopback only.

Serves DIR with HEAD, Range (206), ETag and Last-Modified, and counts the body bytes it
sends per file (GET /_stats). Faults per file come from DIR/faults.json, re-read on every
request, each with a count of how many times it fires (-1: always):

  {"a.bin": {"corrupt": 1,          # flip the byte at the file's middle offset
             "reset_after": 100000, "reset": 1,   # RST the connection after N body bytes
             "status": 503, "status_times": 2,    # answer with an error status
             "status_get_only": true,             # ... to GET requests only
             "stall": 3, "stall_times": 1,        # send half the body, then nothing for S s
             "rate": 1000000,                     # bytes/s per connection (no count)
             "total_rate": 2000000,               # bytes/s for all connections together
             "slow_after": 4000000, "slow_rate": 300000,  # ... then this rate after N bytes
             "no_ranges": true,                   # ignore Range and advertise none
             "claim_size": 10**15}}               # HEAD announces this Content-Length

Usage: fault_server.py DIR PORT  (writes DIR/../fault_server.pid)
"""
import email.utils
import json
import os
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = os.path.abspath(sys.argv[1])
PORT = int(sys.argv[2])
LOCK = threading.Lock()
FIRED = {}    # (file, fault) -> times fired
SERVED = {}   # file -> body bytes sent
REQUESTS = {} # file -> GET requests
SHARED = {}   # file -> [start, bytes] of its total_rate schedule


def faults_for(name):
    try:
        with open(os.path.join(ROOT, "faults.json")) as f:
            return json.load(f).get(name, {})
    except (OSError, ValueError):
        return {}


def fire(name, fault, limit):
    """True when `fault` should fire now (and counts it)."""
    if limit is None or limit == 0:
        return False
    with LOCK:
        done = FIRED.get((name, fault), 0)
        if limit != -1 and done >= limit:
            return False
        FIRED[(name, fault)] = done + 1
        return True


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.requestline, fmt % args))

    def do_HEAD(self):
        self.serve(body=False)

    def do_GET(self):
        if self.path == "/_stats":
            with LOCK:
                data = json.dumps({"served": SERVED, "requests": REQUESTS,
                                   "fired": {"%s:%s" % k: v for k, v in FIRED.items()}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        if self.path == "/_reset":
            with LOCK:
                FIRED.clear(); SERVED.clear(); REQUESTS.clear(); SHARED.clear()
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.serve(body=True)

    def serve(self, body):
        name = self.path.split("?")[0].lstrip("/")
        path = os.path.realpath(os.path.join(ROOT, name))
        if not path.startswith(ROOT + os.sep) or not os.path.isfile(path):
            self.send_error(404)
            return
        faults = faults_for(name)
        if body:
            with LOCK:
                REQUESTS[name] = REQUESTS.get(name, 0) + 1
        if "status" in faults and (body or not faults.get("status_get_only")) \
                and fire(name, "status", faults.get("status_times", -1)):
            self.send_error(int(faults["status"]))
            return
        stat = os.stat(path)
        size = stat.st_size
        start, end = 0, size - 1
        ranged = False
        header = self.headers.get("Range")
        if header and header.startswith("bytes=") and not faults.get("no_ranges"):
            first, _, last = header[6:].partition("-")
            start = int(first) if first else 0
            end = int(last) if last else size - 1
            end = min(end, size - 1)
            ranged = True
            if start > end:
                self.send_response(416)
                self.send_header("Content-Range", "bytes */%d" % size)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
        self.send_response(206 if ranged else 200)
        length = end - start + 1
        if not body and "claim_size" in faults:
            length = int(faults["claim_size"])
        self.send_header("Content-Length", str(length))
        if ranged:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end, size))
        if not faults.get("no_ranges"):
            self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", '"%x-%x"' % (int(stat.st_mtime), size))
        self.send_header("Last-Modified", email.utils.formatdate(stat.st_mtime, usegmt=True))
        self.end_headers()
        if body:
            self.send_body(name, path, start, end, size, faults)

    def send_body(self, name, path, start, end, size, faults):
        middle = size // 2
        corrupt = start <= middle <= end and fire(name, "corrupt", faults.get("corrupt", 0))
        reset_at = None
        if "reset_after" in faults and fire(name, "reset", faults.get("reset", -1)):
            reset_at = start + int(faults["reset_after"])
        stall_at = None
        if "stall" in faults and fire(name, "stall", faults.get("stall_times", -1)):
            stall_at = start + (end - start + 1) // 2
        rate = faults.get("rate")
        began = time.monotonic()
        sent = 0
        with open(path, "rb") as f:
            f.seek(start)
            offset = start
            while offset <= end:
                chunk = f.read(min(65536, end - offset + 1))
                if corrupt and offset <= middle < offset + len(chunk):
                    chunk = bytearray(chunk)
                    chunk[middle - offset] ^= 0xFF
                    chunk = bytes(chunk)
                if reset_at is not None and offset + len(chunk) > reset_at:
                    chunk = chunk[: max(0, reset_at - offset)]
                    self.write_counted(name, chunk)
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.connection.close()
                    self.close_connection = True
                    return
                if stall_at is not None and offset >= stall_at:
                    time.sleep(float(faults["stall"]))
                    stall_at = None
                try:
                    self.write_counted(name, chunk)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True
                    return
                offset += len(chunk)
                sent += len(chunk)
                if "slow_after" in faults and offset >= int(faults["slow_after"]) and rate != faults.get("slow_rate"):
                    rate = faults.get("slow_rate")
                    began = time.monotonic()
                    sent = 0
                if rate:
                    ahead = sent / float(rate) - (time.monotonic() - began)
                    if ahead > 0:
                        time.sleep(ahead)
                if "total_rate" in faults:  # one link for every connection: each waits its turn
                    with LOCK:
                        schedule = SHARED.setdefault(name, [time.monotonic(), 0])
                        schedule[1] += len(chunk)
                        ahead = schedule[1] / float(faults["total_rate"]) - (time.monotonic() - schedule[0])
                    if ahead > 0:
                        time.sleep(ahead)

    def write_counted(self, name, chunk):
        self.wfile.write(chunk)
        with LOCK:
            SERVED[name] = SERVED.get(name, 0) + len(chunk)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


if __name__ == "__main__":
    server = Server(("127.0.0.1", PORT), Handler)
    with open(os.path.join(os.path.dirname(ROOT), "fault_server.pid"), "w") as f:
        f.write(str(os.getpid()))
    server.serve_forever()
