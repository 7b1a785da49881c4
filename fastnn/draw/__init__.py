"""`fastnn draw`: a local web page to draw digits on and see what a model reads in them.

    server = fastnn.draw.make_server(fastnn.load_model("model.fastnn"))   # 127.0.0.1:8000
    server.serve_forever()

server.py holds the HTTP server and its routes; draw.html, the page, is package data beside it.
"""
from .server import MAX_BODY, MAX_SIDE, PAGE, TOP, DrawServer, is_loopback, make_server, url

__all__ = ["DrawServer", "MAX_BODY", "MAX_SIDE", "PAGE", "TOP", "is_loopback", "make_server", "url"]
