"""A tiny web app for the pipeline example: answers every GET with a greeting."""

import http.server
import os


def greeting():
    return "hello from " + os.environ.get("ICT_RELEASE", "a laptop")


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = (greeting() + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    address = (os.environ.get("ICT_HOST_IP", "127.0.0.1"), int(os.environ.get("PORT", "8000")))
    http.server.HTTPServer(address, Handler).serve_forever()
