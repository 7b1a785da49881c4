"""The drawing page's HTTP server: the page, and POST /predict answered through fastnn.inference.

    server = fastnn.draw.make_server(fastnn.load_model("model.fastnn"))   # 127.0.0.1:8000
    server.serve_forever()

The page (draw.html, beside this module) sends the canvas after each stroke and shows the model's top 3
classes and the 28x28 image the model read, enlarged: the drawing as fastnn.digits.to_mnist turns it into an
MNIST digit (for digit models; `fastnn predict` reads image files the same way, with the same
fastnn.inference.ImageClassifier).

Routes:
    GET  /          the page.
    POST /predict   the canvas as a PNG file, sent as the raw body with Content-Type: image/png, at most
                    MAX_BODY bytes and MAX_SIDE pixels a side. 200: {"top": [[class, probability], ...],
                    the 3 most probable classes, most probable first; "image28": 28 rows of 28 grey values
                    0..255, the image the model read, ink bright on black}. An empty canvas: 422
                    {"error": "no ink", "message": ...}. Other refusals: {"error": message} with 400 (not a
                    PNG, unreadable, too large an image), 411 (no Content-Length), 413 (too large a body),
                    415 (another Content-Type), 404 (another path), 405 (another method on /predict).

    HEAD            as GET, without the body; OPTIONS: 204 with the methods a path takes (Allow).

Every request is answered with a status and a JSON message; none stops the server. Requests are served
on threads, which call model.predict at once: each call takes a context of its own (fastnn.trainers), so
no lock is needed. A burst of requests waits in a listen queue of LISTEN_QUEUE connections.

A web page the user has open elsewhere must not drive the server (DNS rebinding: a page of evil.example
whose name is made to resolve to 127.0.0.1 reaches the server as a "same origin" page). So a request is
refused (403) unless its Host header names this server: the address it is bound to or localhost (any IP
address when it listens on every interface), with its port; a POST that carries an Origin header must come
from such an origin too. Clients that send neither header (HTTP/1.0 tools) are served.
"""
import io
import ipaddress
import json
import socket
import sys
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
from PIL import Image

from ..digits import NoInkError
from ..inference import ImageClassifier

PAGE = Path(__file__).resolve().parent / "draw.html"
MAX_BODY = 2 * 1024 * 1024   # bytes: a 280x280 canvas is ~10 KB as a PNG, a full-screen one ~200 KB
MAX_SIDE = 2048              # pixels a side, checked from the PNG header before any pixel is decoded
TOP = 3
LISTEN_QUEUE = 256           # connections waiting to be accepted (the standard library's default is 5)
_TIMEOUT = 30                # seconds a client may stall in the middle of a request
ALLOW = {"/": "GET, HEAD, OPTIONS", "/predict": "POST, OPTIONS"}


def _json_error(status, error, **extra):
    return status, {"error": error, **extra}


def _split_authority(authority):
    """'host:port', '[v6]:port', 'host' or '[v6]' -> (host, lower case, no brackets; the port text or None)."""
    text = authority.strip().lower()
    if text.startswith("["):
        name, _, rest = text[1:].partition("]")
        return name, (rest[1:] if rest.startswith(":") else None if not rest else "?")
    if text.count(":") == 1:
        name, _, given = text.partition(":")
        return name, given
    return text, None


class DrawServer(ThreadingHTTPServer):
    """The drawing page's server for one model; answer(png) does the work of POST /predict."""

    daemon_threads = True    # Ctrl-C does not wait for a stalled client
    request_queue_size = LISTEN_QUEUE

    def __init__(self, address, model):
        self.model = model
        self.classifier = ImageClassifier(model)
        self.page = PAGE.read_bytes()
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)

    def answer(self, body):
        """The PNG file `body` (bytes) -> (HTTP status, a JSON-able dict), as POST /predict answers."""
        try:
            with Image.open(io.BytesIO(body)) as img:   # reads the header only
                kind, (width, height) = img.format, img.size
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
            return _json_error(HTTPStatus.BAD_REQUEST, f"POST /predict expects a PNG image. Received: {len(body)} "
                                                       f"bytes Pillow cannot read ({type(exc).__name__})")
        if kind != "PNG":
            return _json_error(HTTPStatus.BAD_REQUEST, f"POST /predict expects a PNG image. Received: a {kind} "
                                                       "image")
        if max(width, height) > MAX_SIDE:
            return _json_error(HTTPStatus.BAD_REQUEST, f"POST /predict expects an image of at most {MAX_SIDE}x"
                                                       f"{MAX_SIDE} pixels. Received: {width}x{height}")
        try:
            x = self.classifier.read(body)
        except NoInkError:
            return _json_error(HTTPStatus.UNPROCESSABLE_ENTITY, "no ink",
                               message="The canvas is empty: draw a digit.")
        except (OSError, SyntaxError, ValueError, TypeError) as exc:   # e.g. a truncated PNG
            return _json_error(HTTPStatus.BAD_REQUEST, f"POST /predict could not read the image: "
                                                       f"{' '.join(str(exc).split())}")
        return HTTPStatus.OK, {"top": [[name, p] for name, p in self.classifier.top(x, TOP)],
                               "image28": np.rint(x[:, :, 0] * 255).astype(int).tolist()}

    def names_me(self, authority):
        """Whether `authority` (a Host header's host[:port], or an Origin's) names this server: its bound
        address or localhost, or any IP address when it listens on every interface; its port if given."""
        host, port = self.server_address[:2]
        name, given = _split_authority(authority)
        if given is not None and (not given.isdigit() or int(given) != port):
            return False
        if name == "localhost" or name == host.lower():
            return True
        try:
            literal = ipaddress.ip_address(name)
        except ValueError:
            return False   # a name other than localhost: what DNS rebinding uses
        return ipaddress.ip_address(host).is_unspecified and literal.version == ipaddress.ip_address(host).version

    def handle_error(self, request, client_address):
        """One line on stderr instead of socketserver's traceback; a client that hung up is no error."""
        exc = sys.exc_info()[1]
        if not isinstance(exc, ConnectionError):
            print(f"fastnn draw: error serving {client_address[0]}: {type(exc).__name__}: {exc}", file=sys.stderr)


class _Handler(BaseHTTPRequestHandler):
    server_version = "fastnn-draw"
    timeout = _TIMEOUT
    _head = False   # answering HEAD: headers only

    def _refused(self):
        """Answer 403 and return True when the request's Host (or a POST's Origin) does not name this server."""
        host = self.headers.get("Host")
        origin = self.headers.get("Origin") if self.command == "POST" else None
        if host is not None and not self.server.names_me(host):
            message = f"this server answers requests for its own address only. Received: Host {host[:100]!r}"
        elif origin is not None and not (urlsplit(origin).scheme == "http" and urlsplit(origin).netloc
                                         and self.server.names_me(urlsplit(origin).netloc)):
            message = f"this server answers its own page only. Received: Origin {origin[:100]!r}"
        else:
            return False
        self._send_json(*_json_error(HTTPStatus.FORBIDDEN, message))
        return True

    def do_HEAD(self):
        self._head = True
        self.do_GET()

    def do_OPTIONS(self):
        if self._refused():
            return
        path = urlsplit(self.path).path
        if path not in ALLOW:
            return self._not_found()
        self.send_response(HTTPStatus.NO_CONTENT)
        self.send_header("Allow", ALLOW[path])
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):
        if self._refused():
            return
        path = urlsplit(self.path).path
        if path == "/":
            self._send(HTTPStatus.OK, self.server.page, "text/html; charset=utf-8")
        elif path == "/predict":
            self._send_json(*_json_error(HTTPStatus.METHOD_NOT_ALLOWED, "/predict takes POST with a PNG body"),
                            headers={"Allow": ALLOW["/predict"]})
        else:
            self._not_found()

    def do_POST(self):
        if self._refused():
            return
        if urlsplit(self.path).path != "/predict":
            return self._not_found()
        try:
            status, payload = self._predict()
        except Exception as exc:   # a bug, not the client's fault: answer 500 and keep serving
            print(f"fastnn draw: error answering POST /predict: {type(exc).__name__}: {exc}", file=sys.stderr)
            status, payload = _json_error(HTTPStatus.INTERNAL_SERVER_ERROR, f"internal error: {type(exc).__name__}")
        self._send_json(status, payload)

    def _predict(self):
        if "Transfer-Encoding" in self.headers:
            return _json_error(HTTPStatus.LENGTH_REQUIRED, "POST /predict expects a Content-Length header, not "
                                                           "Transfer-Encoding")
        length = self.headers.get("Content-Length")
        if length is None:
            return _json_error(HTTPStatus.LENGTH_REQUIRED, "POST /predict expects a Content-Length header")
        if not (length.isascii() and length.strip().isdigit()):
            return _json_error(HTTPStatus.BAD_REQUEST, f"POST /predict expects Content-Length to be a number of "
                                                       f"bytes. Received: {length[:40]!r}")
        length = int(length)
        if length > MAX_BODY:
            return _json_error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"POST /predict expects a body of at most "
                                                                    f"{MAX_BODY:,} bytes. Received: {length:,}")
        kind = self.headers.get_content_type()   # lower case, parameters dropped; text/plain when absent
        if kind != "image/png":
            return _json_error(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, f"POST /predict expects Content-Type image/png. "
                                                                  f"Received: {self.headers.get('Content-Type')!r}")
        try:
            body = self.rfile.read(length)
        except TimeoutError:
            return _json_error(HTTPStatus.REQUEST_TIMEOUT, f"POST /predict: the body did not arrive within "
                                                           f"{_TIMEOUT} s")
        if len(body) < length:
            return _json_error(HTTPStatus.BAD_REQUEST, f"POST /predict: the body ended after {len(body):,} of "
                                                       f"the {length:,} bytes Content-Length announced")
        return self.server.answer(body)

    def _not_found(self):
        self._send_json(*_json_error(HTTPStatus.NOT_FOUND, f"no such page: {urlsplit(self.path).path[:200]!r}; "
                                                           "the page is at / and predictions at POST /predict"))

    def _send_json(self, status, payload, headers=None):
        self._send(status, json.dumps(payload).encode(), "application/json", headers)

    def _send(self, status, body, content_type, headers=None):
        # HTTP/1.0 (the handler's default): one request per connection, so an unread body is never
        # mistaken for the next request
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if not self._head:
            self.wfile.write(body)

    def log_request(self, code="-", size="-"):
        pass   # no access log: a drawing session sends a request per stroke


def make_server(model, host="127.0.0.1", port=8000):
    """A DrawServer for `model` (a loaded fastnn model) bound to host:port (port 0: any free port), not yet
    serving: call serve_forever(), and server_close() when done."""
    if not isinstance(host, str):
        raise TypeError(f"make_server(host=...) expects an address such as '127.0.0.1'. Received: {host!r}")
    if not host.strip():
        raise ValueError(f"make_server(host=...) expects an address such as '127.0.0.1'. Received: {host!r}")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ValueError(f"make_server(port=...) expects an integer in 0..65535 (0: any free port). "
                         f"Received: {port!r}")
    try:
        return DrawServer((host, port), model)
    except OSError as exc:
        raise OSError(exc.errno, f"cannot listen on {host} port {port}: {exc.strerror or exc} (choose another "
                                 "with --port, or 0 for any free one)") from None


def url(server):
    """The page's address, e.g. http://127.0.0.1:8000/."""
    host, port = server.server_address[:2]
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def is_loopback(host):
    """Whether `host` is an address of this computer only (127.0.0.0/8, ::1 or localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
