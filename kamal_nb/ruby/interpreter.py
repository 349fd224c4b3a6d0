"""Render a template with a real `ruby`, when one is on PATH: then any Ruby a config uses works exactly.

Kamal renders deploy.yml with `ERB.new(text, trim_mode: "-").result` inside its own Ruby process,
KAMAL_DESTINATION set in ENV first. Here a `ruby` child process does the same with the environment
the loader prepared, in the project directory, the template on stdin. The template is evaluated in a
fresh top-level binding, as `ERB#result` does, so the wrapper's own variables are not visible to it.

`KAMAL_NB_RUBY` chooses: unset, the `ruby` found on PATH; `none` (or empty), never (the built-in
evaluator); a path, that executable.

A template that requires a gem this Ruby does not have (Kamal bundles dotenv; Debian's ruby has it only
with ruby-dotenv) is rendered by the built-in evaluator instead, which knows dotenv's rules.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass

# Runs in `ruby -e`: ARGV[0] is the template's path (for Ruby's own messages and line numbers).
# Exit 3: a LoadError (the caller falls back); exit 2: any other exception, reported as
# "Class<TAB>line<TAB>message" on stdout (stderr stays the terminal's, for the template's commands).
_WRAPPER = r"""
require "erb"; require "yaml"; require "json"; require "uri"  # what Kamal has loaded by then
# Kamal loads ActiveSupport: `present?`, `blank?` and `presence` work in its templates.
begin
  require "active_support/core_ext/object/blank"
rescue LoadError
  class Object
    def blank?; respond_to?(:empty?) ? !!empty? : !self; end
    def present?; !blank?; end
    def presence; self if present?; end
  end
  class String
    def blank?; /\A[[:space:]]*\z/.match?(self); end
  end
  class Integer
    def blank?; false; end
  end
end
def __kamal_nb_render(path)
  template = $stdin.read
  erb = ERB.new(template, trim_mode: "-")
  erb.filename = path
  erb.result
end
path = ARGV[0]
out = STDOUT
$stdout = STDERR  # what the template itself prints goes to the terminal, as in Kamal
begin
  output = __kamal_nb_render(path)
rescue LoadError => error
  out.write("#{error.class}\t0\t#{error.message}")
  exit 3
rescue Exception => error
  location = (error.backtrace_locations || []).find { |l| l.path == path }
  line = location ? location.lineno : 0
  if error.is_a?(SyntaxError) && error.message =~ /#{Regexp.escape(path)}:(\d+)/
    line = $1.to_i
  end
  message = error.message.lines.first.to_s.chomp.sub(/\A#{Regexp.escape(path)}:\d+: /, "")
  out.write("#{error.class}\t#{line}\t#{message}")
  exit 2
end
out.write(output)
"""

# How long a template (and the commands in its backticks) may take before the load gives up.
RENDER_TIMEOUT = 300.0


@dataclass(frozen=True)
class RubyFailure(Exception):
    """The template raised inside Ruby: Ruby's class, the template line (0 if unknown), the message."""

    ruby_class: str
    line: int
    message: str


class MissingLibrary(Exception):
    """The template requires a library this Ruby cannot load."""


def find_ruby(env: Mapping[str, str]) -> str | None:
    choice = os.environ.get("KAMAL_NB_RUBY", env.get("KAMAL_NB_RUBY"))
    if choice is not None:
        return None if choice.strip().lower() in ("", "none") else choice
    return shutil.which("ruby", path=env.get("PATH", os.environ.get("PATH")))


def render(ruby: str, template: str, *, path: str, env: Mapping[str, str], cwd: str | None) -> str:
    """The text ERB gives for `template` in this Ruby; raises RubyFailure or MissingLibrary."""
    try:
        completed = subprocess.run(
            [ruby, "-EUTF-8:UTF-8", "-e", _WRAPPER, path],
            input=template.encode("utf-8"),
            env=dict(env),
            cwd=cwd,
            stdout=subprocess.PIPE,
            timeout=RENDER_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise RubyFailure("Timeout::Error", 0, f"rendering took longer than {RENDER_TIMEOUT:.0f} s") from None
    except OSError as error:
        raise RubyFailure("Errno::ENOENT", 0, f"cannot run {ruby}: {error.strerror}") from None
    if completed.returncode in (2, 3):
        record = completed.stdout.decode("utf-8", errors="replace")
        ruby_class, line, message = [*record.split("\t", 2), "", ""][:3]
        if completed.returncode == 3:
            raise MissingLibrary(message)
        raise RubyFailure(ruby_class, int(line or 0), message)
    if completed.returncode != 0:
        raise RubyFailure("RuntimeError", 0, f"{ruby} exited with status {completed.returncode}")
    try:
        return completed.stdout.decode("utf-8")
    except UnicodeDecodeError:
        raise RubyFailure("ArgumentError", 0, "the rendered template is not valid UTF-8") from None
