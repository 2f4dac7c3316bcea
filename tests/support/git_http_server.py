"""A git smart-HTTP server for tests: `git http-backend` (CGI) behind Python's http.server,
on 127.0.0.1, optionally behind TLS, optionally demanding HTTP Basic auth. Every request is
appended to a log (one JSON object per line: method, path, authorization header or null), so
a test can assert which credentials arrived. Prints the port on stdout once listening.

usage: git_http_server.py PROJECT_ROOT LOG [--auth USER:PASSWORD] [--tls CERT KEY]
"""

import base64
import http.server
import json
import os
import ssl
import subprocess
import sys
import threading


def main():
    args = sys.argv[1:]
    root, log = args[0], args[1]
    expected = None
    cert = key = None
    i = 2
    while i < len(args):
        if args[i] == "--auth":
            expected = "Basic " + base64.b64encode(args[i + 1].encode()).decode()
            i += 2
        elif args[i] == "--tls":
            cert, key = args[i + 1], args[i + 2]
            i += 3
        else:
            raise SystemExit("unknown argument " + args[i])
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def do_GET(self):
            self.git()

        def do_POST(self):
            self.git()

        def body(self):
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                out = b""
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                    if size == 0:
                        # Trailers end with an empty line.
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return out
                    out += self.rfile.read(size)
                    self.rfile.readline()
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def git(self):
            auth = self.headers.get("Authorization")
            with lock, open(log, "a") as f:
                f.write(json.dumps({"method": self.command, "path": self.path, "authorization": auth}) + "\n")
            body = self.body()
            if expected is not None and auth != expected:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="berth-test"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            path, _, query = self.path.partition("?")
            env = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "HOME": root,
                "GIT_CONFIG_NOSYSTEM": "1",
                "GIT_CONFIG_GLOBAL": "/dev/null",
                "GIT_PROJECT_ROOT": root,
                "GIT_HTTP_EXPORT_ALL": "1",
                "GIT_CONFIG_COUNT": "1",
                "GIT_CONFIG_KEY_0": "http.receivepack",
                "GIT_CONFIG_VALUE_0": "true",
                "PATH_INFO": path,
                "QUERY_STRING": query,
                "REQUEST_METHOD": self.command,
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "CONTENT_LENGTH": str(len(body)),
                "REMOTE_ADDR": "127.0.0.1",
            }
            if self.headers.get("Content-Encoding"):
                env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
            if self.headers.get("Git-Protocol"):
                env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
            out = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True).stdout
            sep = out.find(b"\r\n\r\n")
            head, rest = (out[:sep], out[sep + 4 :]) if sep >= 0 else out.split(b"\n\n", 1)
            status = 200
            headers = []
            for line in head.decode("latin-1").splitlines():
                name, _, value = line.partition(":")
                if name.lower() == "status":
                    status = int(value.split()[0])
                elif name:
                    headers.append((name, value.strip()))
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(rest)))
            self.end_headers()
            self.wfile.write(rest)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    print(server.server_address[1], flush=True)
    server.serve_forever()


main()
