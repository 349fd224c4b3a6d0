"""AWS Secrets Manager through the ``aws`` CLI (``Kamal::Secrets::Adapters::AwsSecretsManager``).

One ``batch-get-secret-value`` for every secret (``--account`` is the AWS profile, optional). A
secret whose value is a JSON object gives one key per member (``NAME/KEY``); any other value gives
``NAME``. Non-string values are written as JSON (``5432``, ``true``, ``{"a":1}``), as Kamal 2.12 does.
"""

from __future__ import annotations

from typing import Any

from kamal_nb.config.secret_adapters.base import Adapter, AdapterError, escape, prefixed_secrets
from kamal_nb.ruby import json_text as ruby_json
from kamal_nb.ruby.values import is_present


class AwsSecretsManager(Adapter):
    name = "aws_secrets_manager"
    requires_account = False

    def check_dependencies(self) -> None:
        if not self.cli_installed("aws --version"):
            raise AdapterError("AWS CLI is not installed")

    def login(self, account: str | None) -> None:
        return None

    def fetch_secrets(
        self, secrets: list[str], *, from_: str | None, account: str | None, session: Any
    ) -> dict[str, Any]:
        results: dict[str, Any] = {}
        for secret in self._batch_get(prefixed_secrets(secrets, from_), account):
            secret = secret if isinstance(secret, dict) else {}
            name = ruby_json.to_s(secret.get("Name"))
            text = secret.get("SecretString")
            if not isinstance(text, str):
                raise AdapterError(f"AWS Secrets Manager: {name} has no SecretString (a binary secret)")
            try:
                value = ruby_json.parse(text)
            except ruby_json.RubyJSONError:
                results[name] = text
                continue
            if isinstance(value, dict):
                for key, member in value.items():
                    results[f"{name}/{key}"] = _stringify(member)
            else:
                results[name] = _stringify(value)
        return results

    def _batch_get(self, secrets: list[str], account: str | None) -> list[Any]:
        args = ["aws", "secretsmanager", "batch-get-secret-value", "--secret-id-list", *(escape(s) for s in secrets)]
        if account is not None:
            args += ["--profile", escape(account)]
        args += ["--output", "json"]
        output = self.sh(" ".join(args))
        if not self.sh.success:
            # Kamal's message interpolates the command's output here (its block variable shadows `secrets`)
            raise AdapterError(f"Could not read {output} from AWS Secrets Manager")
        answer = self.parse(output, "aws secretsmanager batch-get-secret-value")
        answer = answer if isinstance(answer, dict) else {}
        errors = answer.get("Errors")
        if isinstance(errors, list) and is_present(errors):
            raise AdapterError(
                " ".join(f"{ruby_json.to_s(e.get('SecretId'))}: {ruby_json.to_s(e.get('Message'))}" for e in errors)
            )
        values = answer.get("SecretValues")
        return values if isinstance(values, list) else []


def _stringify(value: Any) -> str:
    return value if isinstance(value, str) else ruby_json.dump(value)
