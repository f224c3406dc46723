"""The playground's files, as the server serves them: the page at `/`, its modules and styles
from the package, nothing loaded from anywhere else (the browser tests drive the page itself)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from outframe.api.routes.playground import FILES

# src= and href= in the page, import ... from "..." in the modules, url(...) in the styles.
_REFERENCES = re.compile(
    r"""(?:src|href)="([^"#]+)"|^import\b[^;]*?\bfrom\s+"([^"]+)"|url\(([^)]+)\)""", re.MULTILINE
)


def test_the_page_is_served_at_the_root(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "connect-src 'self'" in policy
    assert '<script type="module" src="/playground/main.js">' in response.text


def test_every_file_the_page_uses_is_served_from_the_package(client: TestClient) -> None:
    """Follow every reference from the page, module by module: each is a local file, served
    with its type; none points at another host."""
    kinds = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
    seen: set[str] = set()
    todo = ["/"]
    while todo:
        path = todo.pop()
        response = client.get(path)
        assert response.status_code == 200, path
        for suffix, kind in kinds.items():
            if path.endswith(suffix):
                assert response.headers["content-type"].startswith(kind), path
        for match in _REFERENCES.finditer(response.text):
            ref = next(group for group in match.groups() if group)
            assert "://" not in ref and not ref.startswith("//"), f"{path} loads {ref}"
            if ref.startswith("./"):
                ref = path.rsplit("/", 1)[0] + ref[1:]
            if ref not in seen:
                seen.add(ref)
                todo.append(ref)
    assert {"/playground/main.js", "/playground/api.js", "/playground/app.css"} <= seen
    # Every file in the folder (the page itself is served at /) is reached: none is left over.
    assert {f"/playground/{f.name}" for f in FILES.iterdir() if f.name != "index.html"} == seen


def test_head_and_unknown_files(client: TestClient) -> None:
    assert client.head("/playground/main.js").status_code == 200
    assert client.get("/playground/nothing.js").status_code == 404
    assert client.get("/playground/../core/config.py").status_code == 404
