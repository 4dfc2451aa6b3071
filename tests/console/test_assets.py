"""What /console serves, without a browser: the page and its assets from the package, each with
headers that keep it to itself, and nothing fetched from anywhere else."""

from __future__ import annotations

import re

import httpx
from api.apikit import Server

from imprint.console.routes import ASSETS


def test_console_redirects_to_its_page(server: Server) -> None:
    response = httpx.get(f"http://{server.endpoint}/console")
    assert response.status_code == 308 and response.headers["location"] == "/console/"


def test_page_and_assets_come_from_the_package_with_a_strict_policy(server: Server) -> None:
    page = httpx.get(f"http://{server.endpoint}/console/")
    assert page.status_code == 200 and page.text == (ASSETS / "index.html").read_text()
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "default-src 'self'" in policy and "unsafe" not in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    for path in ("js/app.js", "js/sign.js", "js/api.js", "style.css"):
        asset = httpx.get(f"http://{server.endpoint}/console/{path}")
        assert asset.status_code == 200, path
        assert asset.content == (ASSETS / path).read_bytes()
        assert "content-security-policy" in asset.headers


def test_no_asset_loads_anything_from_elsewhere() -> None:
    outside = re.compile(r"""(src|href)=["']?(https?:)?//|import[^;]*["']https?:|url\(["']?https?:""")
    for path in ASSETS.rglob("*"):
        if path.is_file():
            assert not outside.search(path.read_text()), f"{path} refers to another site"


def test_user_strings_never_reach_html_parsing() -> None:
    """Everything is built with textContent and createElement; nothing parses strings as HTML."""
    for path in (ASSETS / "js").glob("*.js"):
        text = path.read_text()
        sinks = ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function")
        for sink in sinks:
            assert sink not in text, f"{path.name} uses {sink}"


def test_unknown_console_path_is_a_404(server: Server) -> None:
    assert httpx.get(f"http://{server.endpoint}/console/nothing-here.js").status_code == 404
