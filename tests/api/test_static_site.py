"""The ML tab's bundle at ``/``: files of the bundle, ``index.html`` for any other page path,
never a file outside it, and ``/rl/*`` left to the API (unknown → JSON 404, wrong method → 405)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from kalshi_rl.api import static_site
from kalshi_rl.api.openapi import main as dump_openapi
from tests.api.conftest import ServeFactory

pytestmark = pytest.mark.slow


@pytest.fixture
def bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A small bundle the service serves instead of the built one (whether or not it is built)."""
    root = tmp_path / "static"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html><div id=root></div>")
    (root / "assets" / "index-abc123.js").write_text("console.log(1)")
    (tmp_path / "secret.txt").write_text("not yours")
    monkeypatch.setattr(static_site, "STATIC_DIR", root)
    return root


def test_the_page_its_assets_and_the_api_side_by_side(serve: ServeFactory, bundle: Path) -> None:
    svc = serve(feed=False)
    page = svc.get("/")
    assert page.status_code == 200 and "id=root" in page.text
    assert (
        page.headers["content-type"].startswith("text/html") and page.headers["cache-control"] == "no-cache"
    )
    asset = svc.get("/assets/index-abc123.js")
    assert asset.text == "console.log(1)" and "immutable" in asset.headers["cache-control"]
    assert "id=root" in svc.get("/models/some/page").text  # the page routes itself
    assert svc.get("/assets/index-abc123.js", headers={"Range": "bytes=0-6"}).status_code in (200, 206)

    escape = svc.get("/assets/..%2f..%2fsecret.txt")
    assert "not yours" not in escape.text
    unknown = svc.get("/rl/nothing-here")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"
    assert svc.get("/rl/status").json()["service"] == "kalshi-rl"
    wrong = svc.post("/")
    assert wrong.status_code == 405 and wrong.headers["allow"] == "GET, HEAD"


def test_a_wrong_method_on_an_api_path_is_405_naming_every_allowed_method(serve: ServeFactory) -> None:
    svc = serve(feed=False)
    cases = {
        ("GET", "/rl/training/start"): "POST",  # GET would otherwise reach the page
        ("DELETE", "/rl/models"): "GET, HEAD, POST",  # two routes at one path
        ("POST", "/rl/models/some-id"): "GET, HEAD, PUT",
        ("PUT", "/rl/status"): "GET, HEAD",
    }
    for (method, path), allow in cases.items():
        answer = svc.http.request(method, svc.url + path)
        assert answer.status_code == 405, (method, path, answer.text)
        assert answer.headers["allow"] == allow, (method, path)
        assert answer.json()["error"]["code"] == "method_not_allowed"


def test_without_a_built_bundle_the_page_says_how_to_build_it(
    serve: ServeFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(static_site, "STATIC_DIR", tmp_path / "missing")
    svc = serve(feed=False)
    page = svc.get("/")
    assert page.status_code == 503 and "make setup" in page.text


def test_the_openapi_dump_is_the_served_document(serve: ServeFactory, tmp_path: Path) -> None:
    out = tmp_path / "openapi.json"
    dump_openapi([str(out)])
    svc = serve(feed=False)
    assert httpx.Response(200, content=out.read_bytes()).json() == svc.get("/rl/openapi.json").json()
