"""The images table: the app repository's images on each host, and which containers use them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kamal_nb.state.deployment import Deployment
from kamal_nb.state.model import HostSnapshot
from kamal_nb.state.releases_logic import RoleRelease, latest_image_id
from kamal_nb.state.table import Column, Level, Table, boolean, integer, moment, string


def columns() -> list[Column]:
    return [
        string("host"),
        string("repository"),
        string("tag"),
        string("version"),  # the tag, unless it is latest[-<destination>] or <none>
        string("image_id"),
        moment("created_at"),
        string("size"),
        boolean("latest"),  # the image tagged latest[-<destination>]: what Kamal boots by default
        integer("containers"),  # containers of the deployment made from it
        boolean("current"),  # a current app container runs it
        string("status"),
    ]


def build(deployment: Deployment, snapshots: Sequence[HostSnapshot], releases: Sequence[RoleRelease]) -> Table:
    current_images = {(r.host, r.current.container.image_id) for r in releases if r.current is not None}
    selected = set(deployment.hosts)
    rows: list[dict[str, Any]] = []
    levels: list[Level] = []
    for snapshot in snapshots:
        if snapshot.host not in selected:
            continue
        latest = latest_image_id(deployment, snapshot)
        for image in snapshot.images:
            users = sum(1 for c in snapshot.containers if c.image_id == image.id)
            is_current = (snapshot.host, image.id) in current_images
            tag = image.tag
            untagged = tag in ("<none>", "")
            version = None if untagged or tag in ("latest", deployment.latest_tag) else tag
            words = []
            if is_current:
                words.append("current")
            if latest is not None and image.id == latest:
                words.append("latest")
            if untagged:
                words.append("untagged")
            if not is_current:
                words.append("in use" if users else "unused")
            rows.append(
                {
                    "host": snapshot.host,
                    "repository": image.repository,
                    "tag": tag,
                    "version": version,
                    "image_id": image.id.removeprefix("sha256:")[:12],
                    "created_at": image.created,
                    "size": image.size or None,
                    "latest": latest is not None and image.id == latest,
                    "containers": users,
                    "current": is_current,
                    "status": ", ".join(words),
                }
            )
            levels.append("warn" if untagged else "ok")
    return Table("images", columns(), rows, levels, empty="no images of the app on the selected hosts")
