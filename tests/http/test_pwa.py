"""The installable app's files over HTTP: manifest, service worker, offline page."""
import json

from visits.pwa import SHELL_FILES, shell_version


def test_service_worker_is_served_from_the_root_with_its_shell_and_version(client):
    response = client.get("/sw.js")
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and response.mimetype == "text/javascript"
    assert response.headers["Service-Worker-Allowed"] == "/" and response.headers["Cache-Control"] == "no-cache"
    assert '"tocnscd-shell-" + VERSION' in body and f'const VERSION = "{shell_version()}"' in body
    shell = json.loads(body.split("const SHELL = ", 1)[1].split(";\n", 1)[0])
    assert shell == [f"/static/{name}" for name in SHELL_FILES] + ["/offline"]
    assert "__SHELL__" not in body and "__VERSION__" not in body


def test_service_worker_checks_after_each_navigation_cost_a_304(client):
    first = client.get("/sw.js")
    again = client.get("/sw.js", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.get_data() == b""


def test_manifest_and_offline_page(client):
    manifest = client.get("/manifest.webmanifest")
    assert manifest.mimetype == "application/manifest+json"
    body = manifest.get_json(force=True)
    assert body["name"] == "Tổ công nghệ số cộng đồng" and body["display"] == "standalone"
    assert {icon["sizes"] for icon in body["icons"]} == {"192x192", "512x512"}
    assert any(icon.get("purpose") == "maskable" for icon in body["icons"])
    offline = client.get("/offline")
    assert offline.status_code == 200 and "Đang không có mạng" in offline.get_data(as_text=True)
    assert "Set-Cookie" not in offline.headers  # the worker precaches it: it must not carry a session
