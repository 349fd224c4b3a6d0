"""A registry's HTTP API (distribution spec), for what the Docker engine cannot do: push a manifest
list (image index) that names one pushed image per platform, under a tag.

Authentication is the registry's own: a 401 answer's ``WWW-Authenticate`` challenge says either
Basic (the login goes with each request) or Bearer (a token is asked of the realm with the login,
for the repository's pull and push scope). The scheme is HTTPS; plain HTTP only for a registry the
pushing engine itself treats as insecure (its ``insecure-registries``, or a loopback address), and
the login is never sent over plain HTTP to any other registry.
"""

from __future__ import annotations

import base64
import json
import re
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
TIMEOUT = 60


class RegistryApiError(Exception):
    """The registry refused or did not answer (one line, naming it)."""


@dataclass(frozen=True)
class Entry:
    """One platform's image in an index: its manifest's digest, size and media type."""

    arch: str
    digest: str
    size: int
    media_type: str
    os: str = "linux"


def _challenge(header: str) -> tuple[str, dict[str, str]]:
    scheme, _, rest = header.strip().partition(" ")
    return scheme.lower(), dict(re.findall(r'(\w+)="([^"]*)"', rest))


class RegistryApi:
    def __init__(self, server: str, username: str = "", password: str = "", *, insecure: bool = False) -> None:
        self.server = server
        self.login = (username, password) if username else None
        self.insecure = insecure
        self.scheme = "https"
        self._authorization: str | None = None

    def _open(self, request: urllib.request.Request) -> tuple[int, Mapping[str, str], bytes]:
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                return int(response.status), dict(response.headers.items()), response.read()
        except urllib.error.HTTPError as error:
            return int(error.code), dict(error.headers.items()), error.read()

    def _send(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes | None
    ) -> tuple[int, Mapping[str, str], bytes]:
        def request() -> urllib.request.Request:
            sent = dict(headers)
            if self._authorization and (self.scheme == "https" or self.insecure):
                sent["Authorization"] = self._authorization
            return urllib.request.Request(
                f"{self.scheme}://{self.server}{path}", data=body, headers=sent, method=method
            )

        try:
            return self._open(request())
        except (urllib.error.URLError, ssl.SSLError, OSError) as error:
            if self.scheme == "https" and self.insecure:  # as the engine does for an insecure registry
                self.scheme = "http"
                try:
                    return self._open(request())
                except (urllib.error.URLError, OSError) as again:
                    raise RegistryApiError(f"registry {self.server} does not answer: {again}") from None
            raise RegistryApiError(f"registry {self.server} does not answer over HTTPS: {error}") from None

    def request(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes | None = None, *, scope: str
    ) -> tuple[int, Mapping[str, str], bytes]:
        status, answer, data = self._send(method, path, headers, body)
        if status != 401:
            return status, answer, data
        challenge = next((v for k, v in answer.items() if k.lower() == "www-authenticate"), "")
        self._authorization = self._authorize(challenge, scope)
        return self._send(method, path, headers, body)

    def _authorize(self, challenge: str, scope: str) -> str:
        scheme, params = _challenge(challenge)
        basic = (
            "Basic " + base64.b64encode(f"{self.login[0]}:{self.login[1]}".encode()).decode() if self.login else None
        )
        if scheme == "basic":
            if basic is None:
                raise RegistryApiError(f"registry {self.server} wants a login, and registry.username is not set")
            return basic
        if scheme != "bearer" or "realm" not in params:
            raise RegistryApiError(
                f"registry {self.server}: an authentication scheme kamal_nb does not know: {challenge}"
            )
        query = {"scope": scope, **({"service": params["service"]} if "service" in params else {})}
        url = f"{params['realm']}?{urllib.parse.urlencode(query)}"
        if urllib.parse.urlsplit(url).scheme != "https" and not self.insecure:
            raise RegistryApiError(f"registry {self.server}: its token service {params['realm']} is not HTTPS")
        headers = {"Authorization": basic} if basic else {}
        status, _, data = self._open(urllib.request.Request(url, headers=headers))
        if status != 200:
            raise RegistryApiError(f"registry {self.server}: its token service answered {status}")
        token = json.loads(data or b"{}")
        value = token.get("token") or token.get("access_token")
        if not value:
            raise RegistryApiError(f"registry {self.server}: its token service gave no token")
        return f"Bearer {value}"

    def manifest(self, repository: str, reference: str) -> tuple[str, int, str]:
        """(digest, size, media type) of a pushed manifest."""
        accept = ", ".join((DOCKER_MANIFEST, OCI_MANIFEST, DOCKER_LIST, OCI_INDEX))
        status, headers, data = self.request(
            "GET", f"/v2/{repository}/manifests/{reference}", {"Accept": accept}, scope=_scope(repository)
        )
        if status != 200:
            raise RegistryApiError(f"registry {self.server}: {repository}:{reference} not found ({status})")
        media_type = json.loads(data).get("mediaType") or headers.get("Content-Type", DOCKER_MANIFEST)
        digest = headers.get("Docker-Content-Digest") or _digest(data)
        return digest, len(data), str(media_type)

    def put_index(self, repository: str, tag: str, entries: Sequence[Entry]) -> str:
        """PUT an index of ``entries`` as ``repository:tag``; returns its digest."""
        body, media_type = index(entries)
        status, headers, data = self.request(
            "PUT",
            f"/v2/{repository}/manifests/{tag}",
            {"Content-Type": media_type},
            body,
            scope=_scope(repository),
        )
        if status not in (200, 201):
            said = data.decode(errors="replace").strip()[:300]
            raise RegistryApiError(
                f"registry {self.server} refused the manifest list {repository}:{tag} ({status}): {said}"
            )
        return headers.get("Docker-Content-Digest") or _digest(body)


def _scope(repository: str) -> str:
    return f"repository:{repository}:pull,push"


def _digest(data: bytes) -> str:
    import hashlib

    return "sha256:" + hashlib.sha256(data).hexdigest()


def index(entries: Sequence[Entry]) -> tuple[bytes, str]:
    """The manifest list JSON and its media type: Docker's list for Docker manifests, else OCI's."""
    oci = any(e.media_type == OCI_MANIFEST for e in entries)
    media_type = OCI_INDEX if oci else DOCKER_LIST
    document = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "manifests": [
            {
                "mediaType": e.media_type,
                "digest": e.digest,
                "size": e.size,
                "platform": {"architecture": e.arch, "os": e.os},
            }
            for e in entries
        ],
    }
    return json.dumps(document, indent=3).encode(), media_type


def split_image(reference: str) -> tuple[str, str, str]:
    """(registry server, repository, tag) of ``server/repo:tag`` (Docker Hub when no server)."""
    name, _, tag = reference.rpartition(":")
    if "/" in name and (("." in name.split("/")[0]) or (":" in name.split("/")[0]) or name.startswith("localhost")):
        server, _, repository = name.partition("/")
    else:
        server, repository = "registry-1.docker.io", name if "/" in name else f"library/{name}"
    return server, repository, tag
