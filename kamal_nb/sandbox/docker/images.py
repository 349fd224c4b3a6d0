"""The emulator's image and registry commands: images, image prune, rmi, tag, pull, push, login,
logout (images come from and go to the sandbox registry).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from kamal_nb.sandbox import objects
from kamal_nb.sandbox.docker.args import (
    DockerExit,
    daemon_error,
    label_matches,
    parse_filters,
    parse_options,
    reference_match,
    unsupported,
)
from kamal_nb.sandbox.docker.engine import Engine, Handler, registrar
from kamal_nb.sandbox.layout import (
    EMPTY_REGISTRY,
    locked_json,
    read_json,
    registry_file,
    write_json,
)
from kamal_nb.sandbox.objects import normalize_reference, short_id, split_reference

COMMANDS: dict[tuple[str, ...], Handler] = {}
command = registrar(COMMANDS)


IMAGES_SPEC = {
    "--all|-a": "bool",
    "--filter|-f": "list",
    "--format": "value",
    "--no-trunc": "bool",
    "--quiet|-q": "bool",
    "--digests": "bool",
}


@command("images", "image ls", "image list")
def cmd_images(engine: Engine, argv: list[str]) -> int:
    opts, positional = parse_options("image ls", argv, IMAGES_SPEC, max_args=1)
    filters = parse_filters(
        "image ls",
        opts.list("--filter"),
        {"label", "reference", "dangling"},
        {"label", "reference", "dangling", "before", "since", "until"},
    )
    references = filters.get("reference", []) + positional
    trunc = not opts.flag("--no-trunc")
    rows = []
    for image in sorted(engine.images.values(), key=lambda i: i["created"], reverse=True):
        if "label" in filters and not label_matches(image.get("labels", {}), filters["label"]):
            continue
        dangling = not image.get("tags")
        if "dangling" in filters and (filters["dangling"][-1] == "true") != dangling:
            continue
        for repository, tag in objects.image_rows(image):
            if references and (dangling or not any(reference_match(p, f"{repository}:{tag}") for p in references)):
                continue
            rows.append(objects.image_ls_row(image, repository, tag, engine.now, trunc))
    if opts.flag("--quiet") and opts.value("--format") is None:
        seen: list[str] = []
        for row in rows:
            if row["ID"] not in seen:
                seen.append(row["ID"])
                engine.print(row["ID"])
        return 0
    template = opts.value("--format") or "table {{.Repository}}\\t{{.Tag}}\\t{{.ID}}\\t{{.CreatedSince}}\\t{{.Size}}"
    engine.format_lines(template, rows, {"ID": "IMAGE ID", "CreatedSince": "CREATED"})
    return 0


@command("image prune")
def cmd_image_prune(engine: Engine, argv: list[str]) -> int:
    opts, _ = parse_options(
        "image prune", argv, {"--all|-a": "bool", "--filter": "list", "--force|-f": "bool"}, max_args=0
    )
    if not opts.flag("--force"):
        raise unsupported("image prune without --force (it would ask for confirmation on a terminal)")
    filters = parse_filters("image prune", opts.list("--filter"), {"label"}, {"label", "until"})
    deleted: list[str] = []
    reclaimed = 0
    for image in sorted(engine.images.values(), key=lambda i: i["created"]):
        if not label_matches(image.get("labels", {}), filters.get("label", [])):
            continue
        if engine.image_in_use(image["id"]):
            continue
        if image.get("tags") and not opts.flag("--all"):
            continue
        deleted += [f"untagged: {t}" for t in sorted(image.get("tags", []))]
        deleted.append(f"deleted: {image['id']}")
        reclaimed += int(image.get("size", 0))
        del engine.images[image["id"]]
    if deleted:
        engine.print("Deleted Images:")
        for line in deleted:
            engine.print(line)
        engine.print()
    engine.print(f"Total reclaimed space: {objects.human_size(reclaimed)}")
    return 0


@command("rmi", "image rm", "image remove")
def cmd_rmi(engine: Engine, argv: list[str]) -> int:
    opts, refs = parse_options(
        "image rm", argv, {"--force|-f": "bool", "--no-prune": "bool"}, min_args=1, usage="[OPTIONS] IMAGE [IMAGE...]"
    )
    force = opts.flag("--force")
    failed = False
    for ref in refs:
        image = engine.find_image(ref)
        if image is None:
            if not force:
                engine.eprint(f"Error response from daemon: No such image: {ref}")
                failed = True
            continue
        by_tag = normalize_reference(ref) in image.get("tags", [])
        users = engine.image_in_use(image["id"])
        if by_tag and len(image["tags"]) > 1:
            engine.untag(normalize_reference(ref))
            engine.print(f"Untagged: {normalize_reference(ref)}")
            continue
        if users and not force:
            user = users[0]["id"][:12]
            what = f'repository reference "{ref}"' if by_tag else short_id(image["id"])
            engine.eprint(
                f"Error response from daemon: conflict: unable to remove {what} (must force) - "
                f"container {user} is using its referenced image {short_id(image['id'])}"
            )
            failed = True
            continue
        if any(u["status"] == "running" for u in users):
            engine.eprint(
                f"Error response from daemon: conflict: unable to delete {short_id(image['id'])} (cannot be forced) - "
                f"image is being used by running container {users[0]['id'][:12]}"
            )
            failed = True
            continue
        for tag in sorted(image.get("tags", [])):
            engine.print(f"Untagged: {tag}")
        image["tags"] = []
        if not users:
            del engine.images[image["id"]]
            engine.print(f"Deleted: {image['id']}")
    return 1 if failed else 0


@command("tag", "image tag")
def cmd_tag(engine: Engine, argv: list[str]) -> int:
    _, (source, target) = parse_options(
        "tag", argv, {}, min_args=2, max_args=2, usage="SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]"
    )
    image = engine.find_image(source)
    if image is None:
        raise daemon_error(f"No such image: {source}")
    wanted = normalize_reference(target)
    engine.untag(wanted)
    image["tags"] = sorted({*image.get("tags", []), wanted})
    return 0


@command("pull", "image pull")
def cmd_pull(engine: Engine, argv: list[str]) -> int:
    opts, (ref,) = parse_options(
        "pull",
        argv,
        {"--quiet|-q": "bool", "--platform": "value", "--all-tags|-a": "bool", "--disable-content-trust": "bool"},
        min_args=1,
        max_args=1,
        usage="[OPTIONS] NAME[:TAG|@DIGEST]",
    )
    if "@" in ref:
        raise unsupported(f"pulling by digest ({ref})")
    if opts.flag("--all-tags"):
        raise unsupported("--all-tags")
    engine.pull(ref, quiet=opts.flag("--quiet"))
    engine.print(normalize_reference(ref))
    return 0


def push_image(engine: Engine, ref: str, image: Mapping[str, Any]) -> str:
    """Put ``image`` in the sandbox registry under ``ref`` (after docker's access checks)."""
    engine.check_registry_access(ref, "push")
    assert engine.root is not None
    manifest = {k: v for k, v in image.items() if k not in ("tags",)}
    manifest["digest"] = "sha256:" + hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()
    with locked_json(registry_file(engine.root), EMPTY_REGISTRY) as registry:
        registry.setdefault("images", {})[normalize_reference(ref)] = manifest
    return str(manifest["digest"])


@command("push", "image push")
def cmd_push(engine: Engine, argv: list[str]) -> int:
    _opts, (ref,) = parse_options(
        "push",
        argv,
        {"--quiet|-q": "bool", "--all-tags|-a": "bool", "--platform": "value", "--disable-content-trust": "bool"},
        min_args=1,
        max_args=1,
        usage="[OPTIONS] NAME[:TAG]",
    )
    image = engine.find_image(normalize_reference(ref))
    if image is None:
        raise DockerExit(1, f"An image does not exist locally with the tag: {split_reference(ref)[0]}")
    name, tag = split_reference(ref)
    engine.print(f"The push refers to repository [{name}]")
    digest = push_image(engine, ref, image)
    engine.print(f"{short_id(image['id'])}: Pushed")
    engine.print(f"{tag}: digest: {digest} size: 527")
    return 0


@command("login")
def cmd_login(engine: Engine, argv: list[str]) -> int:
    opts, positional = parse_options(
        "login", argv, {"--username|-u": "value", "--password|-p": "value", "--password-stdin": "bool"}, max_args=1
    )
    server = positional[0] if positional else "docker.io"
    user = opts.value("--username")
    password = opts.value("--password")
    if opts.flag("--password-stdin"):
        if password is not None:
            raise DockerExit(1, "--password and --password-stdin are mutually exclusive")
        password = engine.stdin.rstrip("\n")
    elif password is not None:
        engine.eprint("WARNING! Using --password via the CLI is insecure. Use --password-stdin.")
    if not user or password is None:
        raise unsupported("interactive login (give --username and --password)")
    registry = engine.registry()
    if server != registry.get("server"):
        host = "registry-1.docker.io" if server in ("docker.io", "index.docker.io") else server.split(":")[0]
        raise daemon_error(
            f'Get "https://{host}/v2/": dial tcp: lookup {host}: no such host (the sandbox has no network)'
        )
    if registry.get("users", {}).get(user) != password:
        raise daemon_error(f"login attempt to http://{server}/v2/ failed with status: 401 Unauthorized")
    path = engine.docker_config_path()
    config = read_json(path, {"auths": {}})
    config.setdefault("auths", {})[server] = {"auth": base64.b64encode(f"{user}:{password}".encode()).decode()}
    write_json(path, config)
    path.chmod(0o600)
    engine.print("")
    engine.print(f"WARNING! Your credentials are stored unencrypted in '{path}'.")
    engine.print("Configure a credential helper to remove this warning. See")
    engine.print("https://docs.docker.com/go/credential-store/")
    engine.print("")
    engine.print("Login Succeeded")
    return 0


@command("logout")
def cmd_logout(engine: Engine, argv: list[str]) -> int:
    _, positional = parse_options("logout", argv, {}, max_args=1)
    server = positional[0] if positional else "docker.io"
    path = engine.docker_config_path()
    config = read_json(path, {"auths": {}})
    if server not in config.get("auths", {}):
        engine.print(f"Not logged in to {server}")
        return 0
    engine.print(f"Removing login credentials for {server}")
    del config["auths"][server]
    write_json(path, config)
    return 0
