"""Every public command method of Kamal 2.12's command classes, read from lib/kamal/commands/**.rb at
v2.12.0 (eee0083b): the methods each file defines with ``def`` before ``private`` (plus
``alias_method``), ``initialize`` aside. Methods a class inherits (Base's for all; Builder::Base's
for the builders; Remote's for Hybrid) are listed under the class that defines them.

The runner's call table must cover all of these (tests/unit/test_commands_runner.py checks it).
"""

from __future__ import annotations

BASE = (
    "run_over_ssh",
    "container_id_for",
    "make_directory_for",
    "make_directory",
    "remove_directory",
    "remove_file",
    "ensure_docker_installed",
)

KAMAL_COMMAND_METHODS: dict[str, tuple[str, ...]] = {
    "Base": BASE,
    "App": (
        # app.rb
        "run",
        "start",
        "status",
        "stop",
        "info",
        "current_running_container_id",
        "container_id_for_version",
        "current_running_version",
        "list_versions",
        "ensure_env_directory",
        # app/assets.rb
        "extract_assets",
        "sync_asset_volumes",
        "clean_up_assets",
        # app/containers.rb
        "list_containers",
        "list_container_names",
        "remove_container",
        "rename_container",
        "remove_containers",
        "container_health_log",
        # app/error_pages.rb
        "create_error_pages_directory",
        "clean_up_error_pages",
        # app/execution.rb
        "execute_in_existing_container",
        "execute_in_new_container",
        "execute_in_existing_container_over_ssh",
        "execute_in_new_container_over_ssh",
        # app/images.rb
        "list_images",
        "remove_images",
        "tag_latest_image",
        # app/logging.rb
        "logs",
        "follow_logs",
        # app/proxy.rb
        "deploy",
        "remove",
        "live",
        "maintenance",
        "remove_proxy_app_directory",
        "create_ssl_directory",
    ),
    "Accessory": (
        "run",
        "start",
        "stop",
        "info",
        "logs",
        "follow_logs",
        "execute_in_existing_container",
        "execute_in_new_container",
        "execute_in_existing_container_over_ssh",
        "execute_in_new_container_over_ssh",
        "run_over_ssh",
        "ensure_local_file_present",
        "pull_image",
        "remove_service_directory",
        "remove_container",
        "remove_image",
        "ensure_env_directory",
        # accessory/proxy.rb
        "deploy",
        "remove",
    ),
    "Auditor": ("record", "reveal"),
    "Builder": ("name", "target", "remote", "local", "hybrid", "pack", "cloud"),
    "Builder::Base": (
        "clean",
        "push",
        "pull",
        "info",
        "inspect_builder",
        "build_options",
        "build_context",
        "validate_image",
        "first_mirror",
        "login_to_registry_locally?",
        "push_env",
    ),
    "Builder::Clone": (
        "clone",
        "clone_reset_steps",
        "clone_status",
        "clone_revision",
        "escaped_root",
        "escaped_build_directory",
    ),
    "Builder::Cloud": ("create", "remove"),
    "Builder::Hybrid": ("create",),
    "Builder::Local": ("create", "remove"),
    "Builder::Pack": ("push", "remove", "info", "inspect_builder"),
    "Builder::Remote": ("create", "remove", "info", "inspect_builder", "login_to_registry_locally?", "push_env"),
    "Docker": (
        "install",
        "installed?",
        "running?",
        "superuser?",
        "root?",
        "in_docker_group?",
        "add_to_docker_group",
        "refresh_session",
        "create_network",
    ),
    "Hook": ("run", "env", "hook_exists?"),
    "Lock": ("acquire", "release", "status", "ensure_locks_directory"),
    "Proxy": (
        "run",
        "start",
        "stop",
        "start_or_run",
        "info",
        "version",
        "logs",
        "follow_logs",
        "remove_container",
        "remove_image",
        "cleanup_traefik",
        "ensure_proxy_directory",
        "remove_proxy_directory",
        "ensure_apps_config_directory",
        "boot_config",
        "read_boot_options",
        "read_image",
        "read_image_version",
        "read_run_command",
        "reset_boot_options",
        "reset_image",
        "reset_image_version",
        "reset_run_command",
    ),
    "Prune": ("dangling_images", "tagged_images", "app_containers"),
    "Registry": ("login", "logout", "setup", "remove", "local?"),
    "Server": ("ensure_run_directory", "remove_app_directory", "app_directory_count"),
}

# Builder delegates these to its target (Builder.new(config).push is the target's push); `dev` is in
# Kamal's delegate list but no builder defines it, so calling it raises NoMethodError there.
BUILDER_DELEGATED = (
    "create",
    "remove",
    "dev",
    "push",
    "clean",
    "pull",
    "info",
    "inspect_builder",
    "validate_image",
    "first_mirror",
    "login_to_registry_locally?",
    "push_env",
)


def method_count() -> int:
    return sum(len(methods) for methods in KAMAL_COMMAND_METHODS.values())
