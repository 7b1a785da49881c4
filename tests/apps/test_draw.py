"""`fastnn draw`: the drawing page's server (fastnn.draw), its command, and the page in headless Chromium.

The HTTP tests serve an untrained MLP: its answers need only be well formed. The browser test trains LeNet-5
as `fastnn draw` does when it finds no model (one epoch on the shipped digits, about a minute on two cores),
draws digits with the mouse and saves screenshots to $FASTNN_SCREENSHOT_DIR (else the test's tmp_path). It is
skipped when selenium, chromium or chromedriver is missing (.ci/run installs them).
"""
import contextlib
import http.client
import io
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

import fastnn
from fastnn import cli, draw, models
from fastnn.digits import to_mnist

from .cli_run import module_env, run

PNG_TYPE = {"Content-Type": "image/png"}


def _png(image):
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


def drawing(lines=(((80, 60), (200, 60), (120, 230)),), size=(280, 280), width=16):
    """Black polylines on a white canvas, as PNG bytes (the default: a 7)."""
    img = Image.new("RGB", size, "white")
    pen = ImageDraw.Draw(img)
    for points in lines:
        pen.line(points, fill="black", width=width, joint="curve")
    return _png(img)


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("draw") / "model.fastnn"
    models.mlp(seed=0).save(path)
    return path


@pytest.fixture(scope="module")
def served(model_path):
    """(server, model): an untrained MLP served on a free port of 127.0.0.1, NumPy kernels."""
    previous = fastnn.get_backend()
    fastnn.set_backend("numpy")
    model = fastnn.load_model(model_path, compile=False)
    server = draw.make_server(model, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, model
    server.shutdown()
    server.server_close()
    thread.join(10)
    fastnn.set_backend(previous)


def send(server, method, path, body=None, headers=None, length=None):
    """One request; (status, Content-Type, body). length: the Content-Length to announce (default: the
    body's), False for none. headers may set Host (else http.client sends the server's address)."""
    host, port = server.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=60)
    try:
        conn.putrequest(method, path, skip_host="Host" in (headers or {}))
        for name, value in (headers or {}).items():
            conn.putheader(name, value)
        if length is None and body is not None:
            length = len(body)
        if length is not False and length is not None:
            conn.putheader("Content-Length", str(length))
        conn.endheaders(body)
        response = conn.getresponse()
        return response.status, response.getheader("Content-Type"), response.read()
    finally:
        conn.close()


def predict(server, png):
    status, kind, body = send(server, "POST", "/predict", png, PNG_TYPE)
    assert kind == "application/json"
    return status, json.loads(body)


# -- the server -------------------------------------------------------------------------------------------
def test_the_page_is_served_at_the_root(served):
    server, _ = served
    status, kind, body = send(server, "GET", "/")
    assert status == 200 and kind == "text/html; charset=utf-8"
    assert body == draw.PAGE.read_bytes()
    page = body.decode()
    for part in ('<canvas id="pad"', 'id="width"', 'id="undo"', 'id="clear"', 'id="top"', 'id="seen"',
                 '"/predict"', '"image/png"'):
        assert part in page
    assert send(server, "GET", "/?from=bookmark")[0] == 200


def test_predict_answers_the_top_3_and_the_image_to_mnist_made(served):
    server, model = served
    png = drawing()
    status, answer = predict(server, png)
    assert status == 200 and set(answer) == {"top", "image28"}
    top = answer["top"]
    assert len(top) == 3 and all(isinstance(c, str) and isinstance(p, float) for c, p in top)
    probs = [p for _, p in top]
    assert probs == sorted(probs, reverse=True) and min(probs) >= 0 and sum(probs) <= 1 + 1e-6
    assert len({c for c, _ in top}) == 3 and {c for c, _ in top} <= {str(d) for d in range(10)}
    # the image is to_mnist's, and the classes are the model's for it, fed as `fastnn predict` feeds it
    x = to_mnist(png)
    np.testing.assert_array_equal(np.array(answer["image28"]), np.rint(x * 255).astype(int))
    expected = model.predict(x[None, :, :, None])[0]
    order = np.argsort(-expected, kind="stable")[:3]
    assert [c for c, _ in top] == [str(c) for c in order]
    np.testing.assert_allclose(probs, expected[order], rtol=1e-6)


@pytest.mark.parametrize("canvas", [Image.new("RGB", (280, 280), "white"), Image.new("RGBA", (280, 280), 0),
                                    Image.new("L", (40, 30), 0)], ids=["white", "transparent", "black"])
def test_an_empty_canvas_is_no_ink(served, canvas):
    status, answer = predict(served[0], _png(canvas))
    assert status == 422 and answer["error"] == "no ink" and "draw a digit" in answer["message"]


def _jpeg():
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), "white").save(buf, "JPEG")
    return buf.getvalue()


# (method, path, headers, body, announced Content-Length or None: the body's, False: none) -> status, message
BAD_REQUESTS = {
    "no content length": (("POST", "/predict", PNG_TYPE, None, False), 411, "Content-Length"),
    "chunked": (("POST", "/predict", {**PNG_TYPE, "Transfer-Encoding": "chunked"}, None, False), 411,
                "Content-Length"),
    "body too large": (("POST", "/predict", PNG_TYPE, None, draw.MAX_BODY + 1), 413, f"{draw.MAX_BODY:,} bytes"),
    "length not a number": (("POST", "/predict", PNG_TYPE, None, "12abc"), 400, "Received: '12abc'"),
    "text content type": (("POST", "/predict", {"Content-Type": "text/plain"}, b"hello", None), 415, "image/png"),
    "no content type": (("POST", "/predict", {}, b"hello", None), 415, "image/png"),
    "garbage bytes": (("POST", "/predict", PNG_TYPE, b"\x00garbage" * 20, None), 400, "expects a PNG image"),
    "empty body": (("POST", "/predict", PNG_TYPE, b"", None), 400, "expects a PNG image"),
    "a jpeg": (("POST", "/predict", PNG_TYPE, _jpeg(), None), 400, "Received: a JPEG image"),
    "truncated png": (("POST", "/predict", PNG_TYPE, drawing()[:600], None), 400, "could not read the image"),
    "too many pixels": (("POST", "/predict", PNG_TYPE, _png(Image.new("L", (draw.MAX_SIDE + 1, 8), 255)), None),
                        400, f"at most {draw.MAX_SIDE}x{draw.MAX_SIDE} pixels. Received: {draw.MAX_SIDE + 1}x8"),
    "unknown path": (("GET", "/missing", {}, None, None), 404, "no such page: '/missing'"),
    "post to unknown path": (("POST", "/index.html", PNG_TYPE, drawing(), None), 404, "no such page"),
    "get predict": (("GET", "/predict", {}, None, None), 405, "POST"),
}


@pytest.mark.parametrize("case", BAD_REQUESTS)
def test_a_bad_request_gets_its_status_and_a_json_message(served, case):
    (method, path, headers, body, length), status, message = BAD_REQUESTS[case]
    got, kind, answer = send(served[0], method, path, body, headers, length)
    assert got == status and kind == "application/json"
    assert message in json.loads(answer)["error"]


def test_the_server_still_answers_after_bad_requests(served):
    server, _ = served
    for (method, path, headers, body, length), status, _ in BAD_REQUESTS.values():
        assert send(server, method, path, body, headers, length)[0] == status
    with contextlib.closing(http.client.HTTPConnection(*server.server_address[:2], timeout=10)) as conn:
        conn.request("POST", "/predict", b"\x89PNG", PNG_TYPE)   # a client that hangs up before the answer
    assert send(server, "GET", "/")[0] == 200
    assert predict(server, drawing())[0] == 200


def test_concurrent_requests_get_the_same_answer(served):
    server, _ = served
    png = drawing()
    answers = queue.Queue()
    threads = [threading.Thread(target=lambda: answers.put(predict(server, png))) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    got = [answers.get_nowait() for _ in threads]
    assert all(status == 200 for status, _ in got) and all(a == got[0][1] for _, a in got)


def test_head_and_options_are_answered(served):
    server, _ = served
    status, kind, body = send(server, "HEAD", "/")
    assert status == 200 and kind.startswith("text/html") and body == b""
    host, port = server.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=60)
    try:
        conn.request("OPTIONS", "/predict")
        response = conn.getresponse()
        assert response.status == 204 and response.getheader("Allow") == "POST, OPTIONS"
    finally:
        conn.close()
    assert send(server, "HEAD", "/nowhere")[0] == 404


# headers of a request -> the status of POST /predict with a drawing, and of GET / (which ignores Origin)
@pytest.mark.parametrize("headers,post,get", [
    ({"Host": "evil.example:{port}"}, 403, 403),          # DNS rebinding: another name for 127.0.0.1
    ({"Host": "127.0.0.1:{port}"}, 200, 200),
    ({"Host": "localhost:{port}"}, 200, 200),
    ({"Host": "127.0.0.1:1"}, 403, 403),                  # another port
    ({"Host": "127.0.0.2:{port}"}, 403, 403),             # another address than the one bound
    ({"Host": "127.0.0.1:{port}", "Origin": "http://evil.example"}, 403, 200),
    ({"Host": "127.0.0.1:{port}", "Origin": "http://localhost:{port}"}, 200, 200),
    ({"Host": "127.0.0.1:{port}", "Origin": "null"}, 403, 200),
], ids=["rebinding", "address", "localhost", "port", "other-address", "foreign-origin", "own-origin", "null-origin"])
def test_only_requests_for_this_server_are_answered(served, headers, post, get):
    server, _ = served
    port = server.server_address[1]
    headers = {name: value.format(port=port) for name, value in headers.items()}
    status, kind, body = send(server, "POST", "/predict", drawing(), {**PNG_TYPE, **headers})
    assert status == post and kind == "application/json"
    if post == 403:
        assert "own" in json.loads(body)["error"]
    assert send(server, "GET", "/", headers=headers)[0] == get


def test_a_burst_of_200_connections_is_served(served):
    # 200 clients connect at once and every one is accepted at once: a connection the listen queue has no room
    # for is dropped and waits for the client to try again a second later, so each gets 0.9 s to connect (with
    # the standard library's queue of 5, about 45 of the 200 did not)
    server, _ = served
    results = queue.Queue()

    def one():
        conn = http.client.HTTPConnection(*server.server_address[:2], timeout=0.9)
        try:
            conn.connect()
            conn.sock.settimeout(60)
            conn.request("GET", "/")
            results.put(conn.getresponse().status)
        except OSError as exc:
            results.put(type(exc).__name__)
        finally:
            conn.close()

    threads = [threading.Thread(target=one) for _ in range(200)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    answers = [results.get() for _ in range(200)]
    assert answers.count(200) == 200, {a: answers.count(a) for a in set(answers)}


def test_make_server_refuses_bad_arguments(served):
    model = served[1]
    with pytest.raises(ValueError, match=r"make_server\(port=\.\.\.\) expects an integer in 0\.\.65535 "
                                         r"\(0: any free port\)\. Received: 70000"):
        draw.make_server(model, "127.0.0.1", 70000)
    with pytest.raises(TypeError, match=r"make_server\(host=...\) expects an address .* Received: None"):
        draw.make_server(model, None, 0)
    with pytest.raises(ValueError, match=r"make_server\(host=...\) expects an address .* Received: ''"):
        draw.make_server(model, "", 0)
    port = served[0].server_address[1]
    with pytest.raises(OSError, match=f"cannot listen on 127.0.0.1 port {port}: .*--port"):
        draw.make_server(model, "127.0.0.1", port)


@pytest.mark.parametrize("host, loopback", [("127.0.0.1", True), ("127.1.2.3", True), ("::1", True),
                                             ("localhost", True), ("0.0.0.0", False), ("192.168.1.5", False),
                                             ("example.org", False)])
def test_is_loopback(host, loopback):
    assert draw.is_loopback(host) is loopback


# -- the command ------------------------------------------------------------------------------------------
@pytest.fixture
def restore_backend():
    """The draw command sets the process's backend and threads; put them back."""
    backend, threads = fastnn.get_backend(), fastnn.get_num_threads()
    yield
    fastnn.set_backend(backend)
    fastnn.set_num_threads(threads)


def test_draw_without_a_model_trains_one_says_so_and_serves_it(monkeypatch, tmp_path, restore_backend):
    trained = []

    def fake_train(args):   # the real one takes a minute; what matters here is what draw asks of it
        trained.append(args)
        models.mlp(seed=0).save(args.out)
        return 0

    def interrupted(self):
        raise KeyboardInterrupt

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli.train, "run", fake_train)
    monkeypatch.setattr(draw.DrawServer, "serve_forever", interrupted)   # Ctrl-C at once
    code, out, err = run(["draw", "--port", "0", "--backend", "numpy", "--threads", "1"])
    assert code == 130 and "fastnn draw: interrupted" in err
    assert "no --model given and no model.fastnn here, so training LeNet-5 first: 1 epoch on the digits" in err
    (args,) = trained
    assert (args.model, args.dataset, args.epochs, args.augment) == ("lenet", "mnist_10k", 1, 0)
    assert (args.backend, args.threads, args.out) == ("numpy", 1, "model.fastnn")
    assert "Model: mlp (235,146 parameters) from model.fastnn" in out
    assert "Serving the drawing page at http://127.0.0.1:" in out
    # the next run finds ./model.fastnn and trains nothing
    code, out, err = run(["draw", "--port", "0", "--backend", "numpy"])
    assert code == 130 and len(trained) == 1 and "training" not in err


def test_draw_refuses_a_missing_model_and_a_bad_port(tmp_path, model_path, restore_backend):
    code, _, err = run(["draw", "--model", tmp_path / "none.fastnn", "--backend", "numpy"])
    assert code == 1 and "fastnn draw: error: load_model: no such file" in err
    with pytest.raises(SystemExit) as exc, contextlib.redirect_stderr(io.StringIO()) as usage:
        cli.main(["draw", "--port", "70000"])
    assert exc.value.code == 2 and "expected a port number in 0..65535" in usage.getvalue()
    code, _, err = run(["draw", "--model", model_path, "--host", "", "--backend", "numpy"])
    assert code == 1 and err.startswith("fastnn draw: error: make_server(host=...) expects an address")


def test_python_m_fastnn_draw_serves_until_ctrl_c(model_path, tmp_path):
    shutil.copy(model_path, tmp_path / "model.fastnn")
    proc = subprocess.Popen([sys.executable, "-m", "fastnn", "draw", "--port", "0", "--backend", "numpy"],
                            cwd=tmp_path, env=module_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    try:
        line = ""
        while "Serving the drawing page at" not in line:
            line = lines.get(timeout=120)
        url = line.split(" at ")[1].split()[0]
        host, port = url.removeprefix("http://").rstrip("/").split(":")
        assert host == "127.0.0.1"
        conn = http.client.HTTPConnection(host, int(port), timeout=60)
        conn.request("POST", "/predict", drawing(), PNG_TYPE)
        answer = json.loads(conn.getresponse().read())
        conn.close()
        assert len(answer["top"]) == 3
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 130
        assert "fastnn draw: interrupted" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# -- the page in a browser --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def chrome():
    """Headless Chromium driven by Selenium, from the system's chromium and chromedriver (Selenium Manager
    never downloads anything: both paths are given)."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.skip("selenium is not installed (pip install selenium)")
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if browser is None or driver_path is None:
        pytest.skip("chromium and chromedriver are not installed (apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=900,860"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def digits_page(chrome, tmp_path_factory):
    """The page, served with LeNet-5 trained as `fastnn draw` trains it when it finds no model (seeded)."""
    path = tmp_path_factory.mktemp("lenet") / "model.fastnn"
    previous = fastnn.get_backend()
    code, _, _ = run(["train", *cli.draw.TRAIN_ARGS, "--seed", "0", "--out", path])
    assert code == 0
    server = draw.make_server(fastnn.load_model(path, compile=False), "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    chrome.get(draw.url(server))
    yield chrome
    server.shutdown()
    server.server_close()
    fastnn.set_backend(previous)


def _stroke(driver, canvas, points, steps=8):
    """Drag the mouse along `points`, (x, y) fractions of the canvas's width and height from its top-left."""
    from selenium.webdriver.common.action_chains import ActionChains

    w, h = canvas.size["width"], canvas.size["height"]
    at = lambda x, y: (round((x - 0.5) * w), round((y - 0.5) * h))   # CSS pixels from the centre
    actions = ActionChains(driver, duration=10)
    actions.move_to_element_with_offset(canvas, *at(*points[0])).click_and_hold()
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        for i in range(1, steps + 1):
            actions.move_to_element_with_offset(canvas, *at(x0 + (x1 - x0) * i / steps, y0 + (y1 - y0) * i / steps))
    actions.release().perform()


def _answer(driver, after):
    """Wait for the page to show an answer newer than number `after`: (state, status text, [class...], seq)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    status = driver.find_element(By.ID, "status")
    WebDriverWait(driver, 60).until(lambda d: int(status.get_attribute("data-seq")) > after)
    classes = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#top li .cls")]
    return status.get_attribute("data-state"), status.text, classes, int(status.get_attribute("data-seq"))


def _seen_ink(driver):
    return driver.execute_script(
        "const d = document.getElementById('seen').getContext('2d').getImageData(0, 0, 28, 28).data;"
        "let s = 0; for (let i = 0; i < d.length; i += 4) s += d[i]; return s;")


def _screenshot(driver, name, tmp_path):
    folder = Path(os.environ.get("FASTNN_SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    assert driver.save_screenshot(str(path))
    print(f"screenshot: {path}")
    return path


def test_drawing_digits_in_chromium(digits_page, tmp_path):
    from selenium.webdriver.common.by import By

    driver = digits_page
    canvas = driver.find_element(By.ID, "pad")
    state, text, classes, seq = _answer(driver, 0)              # the empty canvas on load
    assert (state, text) == ("empty", "no ink: draw a digit") and classes == ["–"] * 3 and _seen_ink(driver) == 0

    _stroke(driver, canvas, [(0.5, 0.16), (0.5, 0.84)])         # a 1: one vertical stroke
    state, text, classes, seq = _answer(driver, seq)
    assert state == "ok" and classes[0] == "1", (text, classes)
    assert text.startswith("The model reads 1 (") and _seen_ink(driver) > 0
    _screenshot(driver, "draw-1.png", tmp_path)

    driver.find_element(By.ID, "undo").click()                  # undo the only stroke: no ink again
    state, text, classes, seq = _answer(driver, seq)
    assert state == "empty" and "no ink" in text and _seen_ink(driver) == 0
    assert not driver.find_element(By.ID, "undo").is_enabled()

    driver.execute_script("const w = document.getElementById('width'); w.value = 40;"
                          "w.dispatchEvent(new Event('input'));")   # a fatter pen
    assert driver.find_element(By.ID, "width-value").text == "40 px"
    _stroke(driver, canvas, [(0.25, 0.21), (0.75, 0.21), (0.43, 0.86)])   # a 7: across, then down-left
    state, text, classes, seq = _answer(driver, seq)
    assert state == "ok" and classes[0] == "7", (text, classes)
    _screenshot(driver, "draw-7.png", tmp_path)

    driver.find_element(By.ID, "clear").click()
    state, text, _, seq = _answer(driver, seq)
    assert state == "empty" and "no ink" in text
