"""A minimal keep-alive HTTP/1.1 server that answers every request with a success envelope.

Run in its own process by bench.py, so the clients under test do not share a GIL (or a core)
with it: what differs between the measured clients is then the clients alone. The answer is
fixed per action (read from the request line's `Action=`): GetRecordTask gets its documented
answer (an ended task with one file), every other action the StartRecord envelope
(`"Result": "ok"`), always with a Content-Length and never chunked (what `floor.RawClient`
relies on).
"""

from __future__ import annotations

import json
import socketserver
import sys
from pathlib import Path

BODY = (
    b'{"Result":"ok","ResponseMetadata":{"RequestId":"bench","Action":"StartRecord",'
    b'"Version":"2020-12-01","Service":"rtc","Region":"cn-north-1"}}'
)
GET_RECORD_TASK = (
    Path(__file__).resolve().parents[1]
    / "contract_tests/golden/2020-12-01/GetRecordTask.response.ended.json"
)


def response(body: bytes) -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )


RESPONSE = response(BODY)
RESPONSES = {
    b"GetRecordTask": response(
        json.dumps(json.loads(GET_RECORD_TASK.read_text()), separators=(",", ":")).encode()
    )
}


def answer(request_line: bytes) -> bytes:
    start = request_line.find(b"Action=")
    if start < 0:
        return RESPONSE
    end = start + 7
    while end < len(request_line) and request_line[end] not in b"& ":
        end += 1
    return RESPONSES.get(request_line[start + 7 : end], RESPONSE)


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
            self.wfile.write(answer(line))
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
