"""A real OpenID provider (npm ``oidc-provider``, see provider.mjs) for the SSO tests.

:func:`start_provider` installs the pinned package (``npm ci``) when ``node_modules`` is
missing and runs the provider with node on a free loopback port; :func:`sign_in` drives its
login and consent pages the way a browser would.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import requests

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Provider:
    issuer: str


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(
            f"The SSO tests need `{name}` (Node.js 20 or later with npm) to run the OpenID "
            f"provider in {HERE}; install it (e.g. `apt-get install -y nodejs npm`)."
        )
    return path


def _install() -> None:
    """``npm ci`` once, even with several test workers starting at the same moment."""
    lock_path = Path(tempfile.gettempdir()) / "wellness-oidc-npm.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (HERE / "node_modules" / "oidc-provider").is_dir():
            return
        done = subprocess.run(  # noqa: S603 - npm from PATH with fixed arguments
            [_tool("npm"), "ci", "--no-audit", "--no-fund"],
            cwd=HERE,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"`npm ci` in {HERE} failed:\n{done.stdout}\n{done.stderr}")


@contextmanager
def start_provider(
    workdir: Path, clients: list[dict[str, Any]], accounts: dict[str, dict[str, str]]
) -> Iterator[Provider]:
    node = _tool("node")
    _install()
    port = _free_port()
    config = workdir / "oidc-provider.json"
    config.write_text(json.dumps({"port": port, "clients": clients, "accounts": accounts}))
    log = (workdir / "oidc-provider.log").open("w")
    process = subprocess.Popen(  # noqa: S603 - node from PATH running our own script
        [node, str(HERE / "provider.mjs"), str(config)], stdout=log, stderr=subprocess.STDOUT
    )
    issuer = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{issuer}/.well-known/openid-configuration", timeout=1).ok:
                    break
            except requests.RequestException:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                log.flush()
                raise RuntimeError(
                    "The OpenID provider did not start:\n"
                    + (workdir / "oidc-provider.log").read_text()
                )
            time.sleep(0.1)
        yield Provider(issuer=issuer)
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


class _Forms(HTMLParser):
    """The forms of a page: action and the named inputs with their values."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append((a.get("action", ""), {}))
        elif tag in ("input", "button") and self.forms and a.get("name"):
            self.forms[-1][1][a["name"]] = a.get("value", "")


def sign_in(authorize_url: str, login: str, relying_party: str = "http://localhost/") -> str:
    """Follow the provider from its authorization URL through login and consent, as a browser
    would, and return the URL it finally sends the browser back to (our callback)."""
    browser = requests.Session()
    response = browser.get(authorize_url, allow_redirects=False, timeout=10)
    for _ in range(20):
        if response.is_redirect:
            target = urljoin(response.url, response.headers["Location"])
            if target.startswith(relying_party):
                return target
            response = browser.get(target, allow_redirects=False, timeout=10)
            continue
        parser = _Forms()
        parser.feed(response.text)
        if response.status_code != 200 or not parser.forms:
            raise AssertionError(
                f"provider page without a form ({response.status_code}): {response.text[:500]}"
            )
        action, fields = parser.forms[0]
        if "login" in fields:
            fields.update(login=login, password="any password works at the dev login")
        response = browser.post(
            urljoin(response.url, action), data=fields, allow_redirects=False, timeout=10
        )
    raise AssertionError("the provider never redirected back to the relying party")
