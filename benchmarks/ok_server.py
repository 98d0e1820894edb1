"""A minimal keep-alive HTTP/1.1 server that answers every request with the success envelope.

Run in its own process by bench.py, so the clients under test do not share a GIL (or a core)
with it: what differs between the measured clients is then the clients alone.
"""

from __future__ import annotations

import socketserver
import sys

BODY = (
    b'{"Result":"ok","ResponseMetadata":{"RequestId":"bench","Action":"StartRecord",'
    b'"Version":"2020-12-01","Service":"rtc","Region":"cn-north-1"}}'
)
RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
    + str(len(BODY)).encode()
    + b"\r\n\r\n"
    + BODY
)


class Handler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        while True:
            length = 0
            line = self.rfile.readline(65537)
            if not line:
                return
            while True:
                header = self.rfile.readline(65537)
                if header in (b"\r\n", b"\n", b""):
                    break
                name, _, value = header.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            if length:
                self.rfile.read(length)
            self.wfile.write(RESPONSE)
            self.wfile.flush()


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


if __name__ == "__main__":
    with Server(("127.0.0.1", 0), Handler) as server:
        print(server.server_address[1], flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            sys.exit(0)
