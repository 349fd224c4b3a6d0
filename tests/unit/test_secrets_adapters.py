"""`kamal secrets fetch`'s adapters against Kamal 2.12's own adapter tests (test/secrets/*_adapter_test.rb).

Every case is one of Kamal's: the vault CLI calls in the order Kamal makes them, each with the
output Kamal's test stubs give it, and the secrets (or the error) Kamal expects. Each case runs twice:

* in-process, with a shell that answers only the exact command strings Kamal's stubs match (quoting
  included), in that order, so any difference in a command's text or order fails;
* as `kamal-nb secrets fetch` on the command line, with stand-in executables (tests/unit/standin_cli)
  named `op`, `bw`, `aws`... alone on PATH: they check the argv the shell gave them and print the
  stubbed output; the JSON kamal-nb prints is compared with the expected secrets. A "not installed"
  case has no stand-in at all, as on a machine without the CLI.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from kamal_nb.cli import main
from kamal_nb.config.secret_adapters import AdapterError, Shell, camelize, lookup
from kamal_nb.config.secrets import MissingAccount, fetch
from tests.unit.standin_cli import StandIns, split_command

Call = tuple[str, str, int]  # the command Kamal runs, what it prints, its exit status


@dataclass(frozen=True)
class Case:
    name: str
    adapter: str
    secrets: tuple[str, ...]
    calls: tuple[Call, ...]
    expected: dict[str, Any] | str  # the secrets, or the error message
    account: str | None = None
    from_: str | None = None
    env: dict[str, str] = field(default_factory=dict)


def ok(command: str, stdout: str = "") -> Call:
    return (command, stdout, 0)


def fails(command: str, stdout: str = "") -> Call:
    return (command, stdout, 1)


# -- 1Password (one_password_adapter_test.rb) -------------------------------------------------------


def _op_field(item: str, section: str, label: str, value: str) -> dict[str, Any]:
    return {
        "id": "aaaaaaaaaaaaaaaaaaaaaaaaaa",
        "section": {"id": "cccccccccccccccccccccccccc", "label": section},
        "type": "CONCEALED",
        "label": label,
        "value": value,
        "reference": f"op://myvault/{item}/{section}/{label}",
    }


OP_THREE = json.dumps(
    [
        _op_field("myitem", "section", "SECRET1", "VALUE1"),
        _op_field("myitem", "section", "SECRET2", "VALUE2"),
        _op_field("myitem", "section2", "SECRET3", "VALUE3"),
    ],
    indent=2,
)
OP_TWO = json.dumps(
    [_op_field("myitem", "section", "SECRET1", "VALUE1"), _op_field("myitem", "section", "SECRET2", "VALUE2")]
)
OP_ITEM2 = json.dumps(_op_field("myitem2", "section", "SECRET3", "VALUE3"))
OP_SINGLE = json.dumps(_op_field("myitem", "section", "SECRET1", "VALUE1"))
OP_ALL = json.dumps(
    {
        "id": "ucbtiii777",
        "title": "A title",
        "category": "LOGIN",
        "additional_information": "—",
        "fields": [
            _op_field("myitem", "section", "SECRET1", "VALUE1"),
            _op_field("myitem", "section", "SECRET2", "VALUE2"),
        ],
    }
)
OP_START = (ok("op --version 2> /dev/null"), ok("op account get --account myaccount 2> /dev/null"))
OP_GET = 'op item get {item} --vault "myvault" --format "json" --account "myaccount"'

ONE_PASSWORD = [
    Case(
        "1password fetch",
        "1password",
        ("section/SECRET1", "section/SECRET2", "section2/SECRET3"),
        (
            *OP_START,
            ok(
                OP_GET.format(item="myitem")
                + ' --fields "label=section.SECRET1,label=section.SECRET2,label=section2.SECRET3"',
                OP_THREE,
            ),
        ),
        {
            "myvault/myitem/section/SECRET1": "VALUE1",
            "myvault/myitem/section/SECRET2": "VALUE2",
            "myvault/myitem/section2/SECRET3": "VALUE3",
        },
        account="myaccount",
        from_="op://myvault/myitem",
    ),
    Case(
        "1password fetch with multiple items",
        "1password",
        ("myitem/section/SECRET1", "myitem/section/SECRET2", "myitem2/section2/SECRET3"),
        (
            *OP_START,
            ok(OP_GET.format(item="myitem") + ' --fields "label=section.SECRET1,label=section.SECRET2"', OP_TWO),
            ok(OP_GET.format(item="myitem2") + ' --fields "label=section2.SECRET3"', OP_ITEM2),
        ),
        {
            "myvault/myitem/section/SECRET1": "VALUE1",
            "myvault/myitem/section/SECRET2": "VALUE2",
            "myvault/myitem2/section/SECRET3": "VALUE3",
        },
        account="myaccount",
        from_="op://myvault",
    ),
    Case(
        "1password fetch all fields",
        "1password",
        (),
        (*OP_START, ok(OP_GET.format(item="myitem"), OP_ALL)),
        {"myvault/myitem/section/SECRET1": "VALUE1", "myvault/myitem/section/SECRET2": "VALUE2"},
        account="myaccount",
        from_="op://myvault/myitem",
    ),
    Case(
        "1password fetch with signin, no session",
        "1password",
        ("section/SECRET1",),
        (
            ok("op --version 2> /dev/null"),
            fails("op account get --account myaccount 2> /dev/null"),
            ok('op signin --account "myaccount" --force --raw', ""),
            ok(OP_GET.format(item="myitem") + ' --fields "label=section.SECRET1"', OP_SINGLE),
        ),
        {"myvault/myitem/section/SECRET1": "VALUE1"},
        account="myaccount",
        from_="op://myvault/myitem",
    ),
    Case(
        "1password fetch with signin and session",
        "1password",
        ("section/SECRET1",),
        (
            ok("op --version 2> /dev/null"),
            fails("op account get --account myaccount 2> /dev/null"),
            ok('op signin --account "myaccount" --force --raw', "1234567890"),
            ok(OP_GET.format(item="myitem") + ' --session "1234567890" --fields "label=section.SECRET1"', OP_SINGLE),
        ),
        {"myvault/myitem/section/SECRET1": "VALUE1"},
        account="myaccount",
        from_="op://myvault/myitem",
    ),
    Case(
        "1password fetch without CLI installed",
        "1password",
        ("section/SECRET1",),
        (fails("op --version 2> /dev/null"),),
        "1Password CLI is not installed",
        account="myaccount",
        from_="op://myvault/myitem",
    ),
]

# -- Bitwarden (bitwarden_adapter_test.rb) ----------------------------------------------------------

BW_UNLOCKED = '{"serverUrl":null,"lastSync":"2024-09-04T10:11:12.433Z","userEmail":"email@example.com","userId":"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee","status":"unlocked"}\n'
BW_LOCKED = BW_UNLOCKED.replace('"unlocked"', '"locked"')
BW_UNAUTHENTICATED = '{"serverUrl":null,"lastSync":null,"status":"unauthenticated"}'
_BW_FIELDS = [
    {"name": "field1", "value": "secret1", "type": 1, "linkedId": None},
    {"name": "field2", "value": "blam", "type": 1, "linkedId": None},
    {"name": "field3", "value": "fewgrwjgk", "type": 1, "linkedId": None},
    {"name": "field4", "value": "auto", "type": 1, "linkedId": None},
]
_BW_LOGIN: dict[str, Any] = {"fido2Credentials": [], "uris": [], "username": None, "password": None, "totp": None}
BW_MYPASSWORD = json.dumps(
    {"object": "item", "type": 1, "name": "mypassword", "login": {**_BW_LOGIN, "password": "secret123"}}
)
BW_MYITEM = json.dumps({"object": "item", "type": 1, "name": "myitem", "fields": _BW_FIELDS, "login": _BW_LOGIN})
BW_MYITEM2 = json.dumps(
    {"object": "item", "type": 1, "name": "myitem2", "fields": [_BW_FIELDS[2]], "login": _BW_LOGIN}, indent=1
)
BW_NOTE = json.dumps({"object": "item", "type": 2, "name": "noteitem", "notes": "NOTES", "secureNote": {"type": 0}})
BW_NOTE_FIELDS = json.dumps(
    {"object": "item", "type": 2, "name": "noteitem", "fields": _BW_FIELDS, "secureNote": {"type": 0}}
)
BW_START = (ok("bw --version 2> /dev/null"), ok("bw status", BW_UNLOCKED), ok("bw sync"))
EMAIL = "email@example.com"

BITWARDEN = [
    Case(
        "bitwarden fetch",
        "bitwarden",
        ("mypassword",),
        (*BW_START, ok("bw get item mypassword", BW_MYPASSWORD)),
        {"mypassword": "secret123"},
        account=EMAIL,
    ),
    Case(
        "bitwarden fetch with no login",
        "bitwarden",
        ("mynote",),
        (*BW_START, ok("bw get item mynote", BW_NOTE)),
        "Item mynote is not a login type item and no fields were specified",
        account=EMAIL,
    ),
    Case(
        "bitwarden fetch with from",
        "bitwarden",
        ("field1", "field2", "field3"),
        (*BW_START, ok("bw get item myitem", BW_MYITEM)),
        {"myitem/field1": "secret1", "myitem/field2": "blam", "myitem/field3": "fewgrwjgk"},
        account=EMAIL,
        from_="myitem",
    ),
    Case(
        "bitwarden fetch all with from",
        "bitwarden",
        ("mynotefields",),
        (*BW_START, ok("bw get item mynotefields", BW_NOTE_FIELDS)),
        {
            "mynotefields/field1": "secret1",
            "mynotefields/field2": "blam",
            "mynotefields/field3": "fewgrwjgk",
            "mynotefields/field4": "auto",
        },
        account=EMAIL,
    ),
    Case(
        "bitwarden fetch with multiple items",
        "bitwarden",
        ("mypassword", "myitem/field1", "myitem/field2", "myitem2/field3"),
        (
            *BW_START,
            ok("bw get item mypassword", BW_MYPASSWORD),
            ok("bw get item myitem", BW_MYITEM),
            ok("bw get item myitem2", BW_MYITEM2),
        ),
        {"mypassword": "secret123", "myitem/field1": "secret1", "myitem/field2": "blam", "myitem2/field3": "fewgrwjgk"},
        account=EMAIL,
    ),
    Case(
        "bitwarden fetch unauthenticated",
        "bitwarden",
        ("mypassword",),
        (
            ok("bw --version 2> /dev/null"),
            ok("bw status", BW_UNAUTHENTICATED),
            ok("bw login email@example.com", "1234567890"),
            ok("bw status", BW_LOCKED),
            ok("bw unlock --raw", ""),
            ok("bw status", BW_UNLOCKED),
            ok("bw sync"),
            ok("bw get item mypassword", BW_MYPASSWORD),
        ),
        {"mypassword": "secret123"},
        account=EMAIL,
    ),
    Case(
        "bitwarden fetch locked with session",
        "bitwarden",
        ("mypassword",),
        (
            ok("bw --version 2> /dev/null"),
            ok("bw status", BW_LOCKED),
            ok("bw unlock --raw", "0987654321\n"),
            ok("BW_SESSION=0987654321 bw status", BW_UNLOCKED),
            ok("BW_SESSION=0987654321 bw sync"),
            ok("BW_SESSION=0987654321 bw get item mypassword", BW_MYPASSWORD),
        ),
        {"mypassword": "secret123"},
        account=EMAIL,
    ),
    Case(
        "bitwarden fetch without CLI installed",
        "bitwarden",
        ("mynote",),
        (fails("bw --version 2> /dev/null"),),
        "Bitwarden CLI is not installed",
        account=EMAIL,
    ),
]

# -- Bitwarden Secrets Manager (bitwarden_secrets_manager_adapter_test.rb) ---------------------------

BWS_LIST = '[\n  {"key": "KAMAL_REGISTRY_PASSWORD", "value": "some_password"},\n  {"key": "MY_OTHER_SECRET", "value": "my=wierd\\"secret"}\n]\n'
BWS_START = (ok("bws --version 2> /dev/null"), ok("bws project list", "OK"))
UUID1 = "82aeb5bd-6958-4a89-8197-eacab758acce"
UUID2 = "6f8cdf27-de2b-4c77-a35d-07df8050e332"
BWS_ALL = {"KAMAL_REGISTRY_PASSWORD": "some_password", "MY_OTHER_SECRET": 'my=wierd"secret'}

BITWARDEN_SM = [
    Case(
        "bitwarden-sm fetch with no parameters",
        "bitwarden-sm",
        (),
        BWS_START,
        "You must specify what to retrieve from Bitwarden Secrets Manager",
    ),
    Case("bitwarden-sm fetch all", "bitwarden-sm", ("all",), (*BWS_START, ok("bws secret list", BWS_LIST)), BWS_ALL),
    Case(
        "bitwarden-sm fetch all with from",
        "bitwarden-sm",
        ("all",),
        (*BWS_START, ok(f"bws secret list {UUID1}", BWS_LIST)),
        BWS_ALL,
        from_=UUID1,
    ),
    Case(
        "bitwarden-sm fetch item",
        "bitwarden-sm",
        (UUID1,),
        (*BWS_START, ok(f"bws secret get {UUID1}", '{"key": "KAMAL_REGISTRY_PASSWORD", "value": "some_password"}')),
        {"KAMAL_REGISTRY_PASSWORD": "some_password"},
    ),
    Case(
        "bitwarden-sm fetch with multiple items",
        "bitwarden-sm",
        (UUID1, UUID2),
        (
            *BWS_START,
            ok(f"bws secret get {UUID1}", '{"key": "KAMAL_REGISTRY_PASSWORD", "value": "some_password"}'),
            ok(f"bws secret get {UUID2}", '{"key": "MY_OTHER_SECRET", "value": "my=wierd\\"secret"}'),
        ),
        BWS_ALL,
    ),
    Case(
        "bitwarden-sm fetch all empty",
        "bitwarden-sm",
        ("all",),
        (*BWS_START, fails("bws secret list", "Error:\n0: Received error message from server")),
        "Could not read secrets from Bitwarden Secrets Manager",
    ),
    Case(
        "bitwarden-sm fetch nonexistent item",
        "bitwarden-sm",
        (UUID1,),
        (*BWS_START, fails(f"bws secret get {UUID1}", "Error:\n0: Received error message from server")),
        f"Could not read {UUID1} from Bitwarden Secrets Manager",
    ),
    Case(
        "bitwarden-sm fetch item with linebreak in value",
        "bitwarden-sm",
        (UUID1,),
        (*BWS_START, ok(f"bws secret get {UUID1}", '{"key": "SSH_PRIVATE_KEY", "value": "some_key\\nwith_linebreak"}')),
        {"SSH_PRIVATE_KEY": "some_key\nwith_linebreak"},
    ),
    Case(
        "bitwarden-sm fetch with no access token",
        "bitwarden-sm",
        ("all",),
        (ok("bws --version 2> /dev/null"), fails("bws project list")),
        "Could not authenticate to Bitwarden Secrets Manager. Did you set a valid access token?",
    ),
    Case(
        "bitwarden-sm fetch without CLI installed",
        "bitwarden-sm",
        (),
        (fails("bws --version 2> /dev/null"),),
        "Bitwarden Secrets Manager CLI is not installed",
    ),
]

# -- LastPass (last_pass_adapter_test.rb) -----------------------------------------------------------


def _lpass_item(fullname: str, password: str) -> dict[str, str]:
    name = fullname.rsplit("/", 1)[-1]
    group = "Folder" if "/" in fullname else ""
    return {
        "id": "1234567891234567891",
        "name": name,
        "fullname": fullname,
        "username": "",
        "password": password,
        "group": group,
    }


LPASS_THREE = json.dumps(
    [
        _lpass_item("SECRET1", "secret1"),
        _lpass_item("FOLDER1/FSECRET1", "fsecret1"),
        _lpass_item("FOLDER1/FSECRET2", "fsecret2"),
    ]
)
LPASS_FOLDER = json.dumps([_lpass_item("FOLDER1/FSECRET1", "fsecret1"), _lpass_item("FOLDER1/FSECRET2", "fsecret2")])
LPASS_START = (ok("lpass --version 2> /dev/null"), ok("lpass status --color never", "Logged in as email@example.com."))

LAST_PASS = [
    Case(
        "lastpass fetch",
        "lastpass",
        ("SECRET1", "FOLDER1/FSECRET1", "FOLDER1/FSECRET2"),
        (*LPASS_START, ok("lpass show SECRET1 FOLDER1/FSECRET1 FOLDER1/FSECRET2 --json", LPASS_THREE)),
        {"SECRET1": "secret1", "FOLDER1/FSECRET1": "fsecret1", "FOLDER1/FSECRET2": "fsecret2"},
        account=EMAIL,
    ),
    Case(
        "lastpass fetch with from",
        "lastpass",
        ("FSECRET1", "FSECRET2"),
        (*LPASS_START, ok("lpass show FOLDER1/FSECRET1 FOLDER1/FSECRET2 --json", LPASS_FOLDER)),
        {"FOLDER1/FSECRET1": "fsecret1", "FOLDER1/FSECRET2": "fsecret2"},
        account=EMAIL,
        from_="FOLDER1",
    ),
    Case(
        "lastpass fetch with signin",
        "lastpass",
        ("SECRET1",),
        (
            ok("lpass --version 2> /dev/null"),
            fails("lpass status --color never", "Not logged in."),
            ok("lpass login email@example.com"),
            ok("lpass show SECRET1 --json", json.dumps([_lpass_item("SECRET1", "secret1")])),
        ),
        {"SECRET1": "secret1"},
        account=EMAIL,
    ),
    Case(
        "lastpass fetch of a missing entry",
        "lastpass",
        ("SECRET1", "NOPE"),
        (*LPASS_START, ok("lpass show SECRET1 NOPE --json", json.dumps([_lpass_item("SECRET1", "secret1")]))),
        "Could not find NOPE in LastPass",
        account=EMAIL,
    ),
    Case(
        "lastpass fetch without CLI installed",
        "lastpass",
        ("SECRET1",),
        (fails("lpass --version 2> /dev/null"),),
        "LastPass CLI is not installed",
        account=EMAIL,
    ),
]

# -- AWS Secrets Manager (aws_secrets_manager_adapter_test.rb) --------------------------------------


def _aws(*values: tuple[str, str], errors: list[dict[str, str]] | None = None) -> str:
    return json.dumps(
        {
            "SecretValues": [
                {"ARN": f"arn:aws:secretsmanager:us-east-1:aaaaaaaaaaaa:secret:{n}", "Name": n, "SecretString": s}
                for n, s in values
            ],
            "Errors": errors or [],
        },
        indent=2,
    )


AWS_GET = "aws secretsmanager batch-get-secret-value --secret-id-list {} --profile default --output json"
AWS_VERSION = ok("aws --version 2> /dev/null")

AWS = [
    Case(
        "aws fails when errors are present",
        "aws_secrets_manager",
        ("unknown1", "unknown2"),
        (
            AWS_VERSION,
            ok(
                AWS_GET.format("unknown1 unknown2"),
                _aws(
                    errors=[
                        {
                            "SecretId": "unknown1",
                            "ErrorCode": "ResourceNotFoundException",
                            "Message": "Secrets Manager can't find the specified secret.",
                        },
                        {
                            "SecretId": "unknown2",
                            "ErrorCode": "ResourceNotFoundException",
                            "Message": "Secrets Manager can't find the specified secret.",
                        },
                    ]
                ),
            ),
        ),
        "unknown1: Secrets Manager can't find the specified secret. unknown2: Secrets Manager can't find the specified secret.",
        account="default",
    ),
    Case(
        "aws fetch",
        "aws_secrets_manager",
        ("secret", "secret2"),
        (
            AWS_VERSION,
            ok(
                AWS_GET.format("secret secret2"),
                _aws(("secret", '{"KEY1":"VALUE1", "KEY2":"VALUE2"}'), ("secret2", '{"KEY3":"VALUE3"}')),
            ),
        ),
        {"secret/KEY1": "VALUE1", "secret/KEY2": "VALUE2", "secret2/KEY3": "VALUE3"},
        account="default",
    ),
    Case(
        "aws fetch with string value",
        "aws_secrets_manager",
        ("secret", "secret2"),
        (
            AWS_VERSION,
            ok(AWS_GET.format("secret secret2"), _aws(("secret", "a-string-secret"), ("secret2", '{"KEY2":"VALUE2"}'))),
        ),
        {"secret": "a-string-secret", "secret2/KEY2": "VALUE2"},
        account="default",
    ),
    Case(
        "aws fetch with --from prefix",
        "aws_secrets_manager",
        ("KEY1", "KEY2"),
        (
            AWS_VERSION,
            ok(AWS_GET.format("secret/KEY1 secret/KEY2"), _aws(("secret/KEY1", "VALUE1"), ("secret/KEY2", "VALUE2"))),
        ),
        {"secret/KEY1": "VALUE1", "secret/KEY2": "VALUE2"},
        account="default",
        from_="secret",
    ),
    Case(
        "aws fetch with bare JSON primitive SecretString values",
        "aws_secrets_manager",
        ("port", "flag", "name", "nothing"),
        (
            AWS_VERSION,
            ok(
                AWS_GET.format("port flag name nothing"),
                _aws(("port", "5432"), ("flag", "true"), ("name", '"quoted-string"'), ("nothing", "null")),
            ),
        ),
        {"port": "5432", "flag": "true", "name": "quoted-string", "nothing": "null"},
        account="default",
    ),
    Case(
        "aws fetch coerces non-string JSON field values to strings",
        "aws_secrets_manager",
        ("myapp/RailsUser",),
        (
            AWS_VERSION,
            ok(
                AWS_GET.format("myapp/RailsUser"),
                _aws(
                    (
                        "myapp/RailsUser",
                        '{"host":"db.example","port":5432,"ssl":true,"weight":1.5,"missing":null,'
                        '"replicas":{"read":"r.example","port":5433},"tags":["prod","db"]}',
                    )
                ),
            ),
        ),
        {
            "myapp/RailsUser/host": "db.example",
            "myapp/RailsUser/port": "5432",
            "myapp/RailsUser/ssl": "true",
            "myapp/RailsUser/weight": "1.5",
            "myapp/RailsUser/missing": "null",
            "myapp/RailsUser/replicas": '{"read":"r.example","port":5433}',
            "myapp/RailsUser/tags": '["prod","db"]',
        },
        account="default",
    ),
    Case(
        "aws fetch without account option omits --profile",
        "aws_secrets_manager",
        ("secret",),
        (
            AWS_VERSION,
            ok(
                "aws secretsmanager batch-get-secret-value --secret-id-list secret --output json",
                _aws(("secret", '{"KEY1":"VALUE1", "KEY2":"VALUE2"}')),
            ),
        ),
        {"secret/KEY1": "VALUE1", "secret/KEY2": "VALUE2"},
    ),
    Case(
        "aws fetch without CLI installed",
        "aws_secrets_manager",
        ("SECRET1",),
        (fails("aws --version 2> /dev/null"),),
        "AWS CLI is not installed",
        account="default",
    ),
]

# -- Google Secret Manager (gcp_secret_manager_adapter_test.rb) -------------------------------------

GCP_START = (
    ok("gcloud --version 2> /dev/null"),
    ok("gcloud auth list --format=json", '[{"account": "email@example.com", "status": "ACTIVE"}]'),
)
GCP_PAYLOADS = ["c2VjcmV0MQ==", "c2VjcmV0Mg==", "c2VjcmV0Mw=="]


def _gcp_item(
    n: int, project: str | None = None, account: str | None = None, version: str = "latest", sa: str | None = None
) -> Call:
    command = f"gcloud secrets versions access {version} --secret=item{n + 1}"
    command += f" --project={project}" if project else ""
    command += f" --account={account}" if account else ""
    command += f" --impersonate-service-account={sa}" if sa else ""
    payload = json.dumps(
        {"name": "projects/000000001/secrets/item1/versions/1", "payload": {"data": GCP_PAYLOADS[n], "dataCrc32c": "1"}}
    )
    return ok(command + " --format=json", payload)


GCP_MYPASSWORD = ok(
    "gcloud secrets versions access latest --secret=mypassword --format=json",
    '{"name": "projects/000000000/secrets/mypassword/versions/1", "payload": {"data": "c2VjcmV0MTIz", "dataCrc32c": "2522602764"}}',
)

GCP = [
    Case(
        "gcp fetch",
        "gcp",
        ("mypassword",),
        (*GCP_START, GCP_MYPASSWORD),
        {"default/mypassword": "secret123"},
        account="default",
    ),
    Case(
        "gcp fetch unauthenticated",
        "gcp",
        ("mypassword",),
        (
            ok("gcloud --version 2> /dev/null"),
            ok("gcloud auth list --format=json", "[]"),
            ok("gcloud auth login", '{"expired": false, "valid": true}'),
            ok("gcloud auth list --format=json", "[]"),
        ),
        "could not login to gcloud",
        account="default",
    ),
    Case(
        "gcp fetch with from",
        "gcp",
        ("item1", "item2", "item3"),
        (*GCP_START, *(_gcp_item(n, project="other-project") for n in range(3))),
        {"other-project/item1": "secret1", "other-project/item2": "secret2", "other-project/item3": "secret3"},
        account="default",
        from_="other-project",
    ),
    Case(
        "gcp fetch with multiple projects",
        "gcp",
        ("some-project/item1", "project-confidence/item2", "manhattan-project/item3"),
        (
            *GCP_START,
            _gcp_item(0, project="some-project"),
            _gcp_item(1, project="project-confidence"),
            _gcp_item(2, project="manhattan-project"),
        ),
        {"some-project/item1": "secret1", "project-confidence/item2": "secret2", "manhattan-project/item3": "secret3"},
        account="default",
    ),
    Case(
        "gcp fetch with specific version",
        "gcp",
        ("some-project/item1/123",),
        (*GCP_START, _gcp_item(0, project="some-project", version="123")),
        {"some-project/item1": "secret1"},
        account="default",
    ),
    Case(
        "gcp fetch with non-default account",
        "gcp",
        ("some-project/item1/123",),
        (*GCP_START, _gcp_item(0, project="some-project", version="123", account="email@example.com")),
        {"some-project/item1": "secret1"},
        account="email@example.com",
    ),
    Case(
        "gcp fetch with service account impersonation",
        "gcp",
        ("some-project/item1/123",),
        (*GCP_START, _gcp_item(0, project="some-project", version="123", sa="service-user@example.com")),
        {"some-project/item1": "secret1"},
        account="default|service-user@example.com",
    ),
    Case(
        "gcp fetch with delegation chain and specific user",
        "gcp",
        ("some-project/item1/123",),
        (
            *GCP_START,
            _gcp_item(
                0,
                project="some-project",
                version="123",
                account="user@example.com",
                sa="service-user@example.com,service-user2@example.com",
            ),
        ),
        {"some-project/item1": "secret1"},
        account="user@example.com|service-user@example.com,service-user2@example.com",
    ),
    Case(
        "gcp fetch without CLI installed",
        "gcp_secret_manager",
        ("item1",),
        (fails("gcloud --version 2> /dev/null"),),
        "gcloud CLI is not installed",
        account="default",
    ),
]

# -- Doppler (doppler_adapter_test.rb) --------------------------------------------------------------

DOPPLER_THREE = json.dumps(
    {
        "SECRET1": {"computed": "secret1", "computedVisibility": "unmasked", "note": ""},
        "FSECRET1": {"computed": "fsecret1", "computedVisibility": "unmasked", "note": ""},
        "FSECRET2": {"computed": "fsecret2", "computedVisibility": "unmasked", "note": ""},
    }
)
DOPPLER_START = (ok("doppler --version 2> /dev/null"), ok("doppler me --json 2> /dev/null"))
DOPPLER_EXPECTED = {"SECRET1": "secret1", "FSECRET1": "fsecret1", "FSECRET2": "fsecret2"}

DOPPLER = [
    Case(
        "doppler fetch",
        "doppler",
        ("SECRET1", "FSECRET1", "FSECRET2"),
        (
            *DOPPLER_START,
            ok("doppler secrets get SECRET1 FSECRET1 FSECRET2 --json -p my-project -c prd", DOPPLER_THREE),
        ),
        DOPPLER_EXPECTED,
        from_="my-project/prd",
    ),
    Case(
        "doppler fetch having DOPPLER_TOKEN",
        "doppler",
        ("SECRET1", "FSECRET1", "FSECRET2"),
        (*DOPPLER_START, ok("doppler secrets get SECRET1 FSECRET1 FSECRET2 --json ", DOPPLER_THREE)),
        DOPPLER_EXPECTED,
        env={"DOPPLER_TOKEN": "dp.st.xxxxxxxxxxxxxxxxxxxxxx"},
    ),
    Case(
        "doppler fetch with folder in secret",
        "doppler",
        ("my-project/prd/SECRET1", "my-project/prd/FSECRET1", "my-project/prd/FSECRET2"),
        (
            *DOPPLER_START,
            ok("doppler secrets get SECRET1 FSECRET1 FSECRET2 --json -p my-project -c prd", DOPPLER_THREE),
        ),
        DOPPLER_EXPECTED,
    ),
    Case(
        "doppler fetch without --from",
        "doppler",
        ("FSECRET1", "FSECRET2"),
        DOPPLER_START,
        "Missing project or config from '--from=project/config' option",
    ),
    Case(
        "doppler fetch with signin",
        "doppler",
        ("SECRET1",),
        (
            ok("doppler --version 2> /dev/null"),
            fails("doppler me --json 2> /dev/null"),
            ok("doppler login -y"),
            ok(
                "doppler secrets get SECRET1 --json -p my-project -c prd",
                json.dumps({"SECRET1": {"computed": "secret1"}}),
            ),
        ),
        {"SECRET1": "secret1"},
        from_="my-project/prd",
    ),
    Case(
        "doppler fetch without CLI installed",
        "doppler",
        ("HOST", "PORT"),
        (fails("doppler --version 2> /dev/null"),),
        "Doppler CLI is not installed",
    ),
]

# -- Enpass (enpass_adapter_test.rb) ----------------------------------------------------------------


def _enpass(*items: tuple[str, str, str]) -> str:
    return json.dumps(
        [
            {"category": "computer", "label": label, "login": "", "password": p, "title": t, "type": "password"}
            for t, label, p in items
        ]
    )


ENPASS_VERSION = ok("enpass-cli version 2> /dev/null")

ENPASS = [
    Case(
        "enpass fetch without CLI installed",
        "enpass",
        ("mynote",),
        (fails("enpass-cli version 2> /dev/null"),),
        "Enpass CLI is not installed",
        from_="vault-path",
    ),
    Case(
        "enpass fetch one item",
        "enpass",
        ("FooBar/SECRET_1",),
        (
            ENPASS_VERSION,
            ok("enpass-cli -json -vault vault-path show FooBar", _enpass(("FooBar", "SECRET_1", "my-password-1"))),
        ),
        {"FooBar/SECRET_1": "my-password-1"},
        from_="vault-path",
    ),
    Case(
        "enpass fetch multiple items",
        "enpass",
        ("FooBar/SECRET_1", "FooBar/SECRET_2"),
        (
            ENPASS_VERSION,
            ok(
                "enpass-cli -json -vault vault-path show FooBar",
                _enpass(
                    ("FooBar", "SECRET_1", "my-password-1"),
                    ("FooBar", "SECRET_2", "my-password-2"),
                    ("Hello", "SECRET_3", "my-password-1"),
                ),
            ),
        ),
        {"FooBar/SECRET_1": "my-password-1", "FooBar/SECRET_2": "my-password-2"},
        from_="vault-path",
    ),
    Case(
        "enpass fetch all with from",
        "enpass",
        ("FooBar",),
        (
            ENPASS_VERSION,
            ok(
                "enpass-cli -json -vault vault-path show FooBar",
                _enpass(
                    ("FooBar", "SECRET_1", "my-password-1"),
                    ("FooBar", "SECRET_2", "my-password-2"),
                    ("Hello", "SECRET_3", "my-password-1"),
                    ("FooBar", "", "my-password-3"),
                ),
            ),
        ),
        {"FooBar/SECRET_1": "my-password-1", "FooBar/SECRET_2": "my-password-2", "FooBar": "my-password-3"},
        from_="vault-path",
    ),
]

# -- Passbolt (passbolt_adapter_test.rb) ------------------------------------------------------------

PROJECT_ID = "dcbe0e39-42d8-42db-9637-8256b9f2f8e3"
OTHER_ID = "14e11dd8-b279-4689-8bd9-fa33ebb527da"
SUB_ID = "6a3f21fc-aa40-4ba9-852c-7477fdd0310d"


def _folders(*folders: tuple[str, str, str]) -> str:
    return json.dumps(
        [
            {"id": i, "folder_parent_id": p, "name": n, "created_timestamp": "2025-02-21T19:52:50Z"}
            for i, p, n in folders
        ]
    )


def _resources(parent: str, *names: tuple[str, str]) -> str:
    return json.dumps(
        [
            {
                "id": "4c116996",
                "folder_parent_id": parent,
                "name": n,
                "username": "",
                "uri": "",
                "password": p,
                "description": "",
            }
            for n, p in names
        ]
    )


PB_START = (ok("passbolt --version 2> /dev/null"), ok("passbolt verify"))
PB_THREE = (("FSECRET1", "fsecret1"), ("FSECRET2", "fsecret2"), ("SECRET1", "secret1"))
PB_EXPECTED = {"SECRET1": "secret1", "FSECRET1": "fsecret1", "FSECRET2": "fsecret2"}
PB_MY_PROJECT = ok(
    "passbolt list folders --filter 'Name == \"my-project\"' --json", _folders((PROJECT_ID, "", "my-project"))
)


def _in_folder(folder: str, *names: str) -> str:
    return " || ".join(f'(Name == "{n}" && FolderParentID == "{folder}")' for n in names)


PASSBOLT = [
    Case(
        "passbolt fetch",
        "passbolt",
        ("SECRET1", "FSECRET1", "FSECRET2"),
        (
            *PB_START,
            ok(
                'passbolt list resources --filter \'Name == "SECRET1" || Name == "FSECRET1" || Name == "FSECRET2"\'  --column name --column password --json',
                _resources("", *PB_THREE),
            ),
        ),
        PB_EXPECTED,
    ),
    Case(
        "passbolt fetch with --from",
        "passbolt",
        ("SECRET1", "FSECRET1", "FSECRET2"),
        (
            *PB_START,
            PB_MY_PROJECT,
            ok(
                f"passbolt list resources --filter '{_in_folder(PROJECT_ID, 'SECRET1', 'FSECRET1', 'FSECRET2')}' --folder {PROJECT_ID} --column name --column password --json",
                _resources(PROJECT_ID, *PB_THREE),
            ),
        ),
        PB_EXPECTED,
        from_="my-project",
    ),
    Case(
        "passbolt fetch from multiple folders",
        "passbolt",
        ("my-project/SECRET1", "my-project/FSECRET1", "other-project/FSECRET2"),
        (
            *PB_START,
            ok(
                'passbolt list folders --filter \'Name == "my-project" || Name == "other-project"\' --json',
                _folders((PROJECT_ID, "", "my-project"), (OTHER_ID, "", "other-project")),
            ),
            ok(
                f"passbolt list resources --filter '{_in_folder(PROJECT_ID, 'SECRET1', 'FSECRET1')} || {_in_folder(OTHER_ID, 'FSECRET2')}' --folder {PROJECT_ID} --folder {OTHER_ID} --column name --column password --json",
                _resources(PROJECT_ID, *PB_THREE),
            ),
        ),
        PB_EXPECTED,
    ),
    Case(
        "passbolt fetch from nested folder",
        "passbolt",
        ("SECRET1", "FSECRET1", "FSECRET2"),
        (
            *PB_START,
            PB_MY_PROJECT,
            ok(
                f'passbolt list folders --filter \'Name == "subfolder" && FolderParentID == "{PROJECT_ID}"\' --json',
                _folders((SUB_ID, PROJECT_ID, "subfolder")),
            ),
            ok(
                f"passbolt list resources --filter '{_in_folder(SUB_ID, 'SECRET1', 'FSECRET1', 'FSECRET2')}' --folder {PROJECT_ID} --folder {SUB_ID} --column name --column password --json",
                _resources(SUB_ID, *PB_THREE),
            ),
        ),
        PB_EXPECTED,
        from_="my-project/subfolder",
    ),
    Case(
        "passbolt fetch without CLI installed",
        "passbolt",
        ("HOST", "PORT"),
        (fails("passbolt --version 2> /dev/null"),),
        "Passbolt CLI is not installed",
    ),
    Case(
        "passbolt fetch with special characters in folder id",
        "passbolt",
        ("my-project/SECRET1",),
        (
            *PB_START,
            ok(
                "passbolt list folders --filter 'Name == \"my-project\"' --json",
                _folders(("abc def-123", "", "my-project")),
            ),
            ok(
                'passbolt list resources --filter \'(Name == "SECRET1" && FolderParentID == "abc\\\\ def-123")\' --folder abc\\ def-123 --column name --column password --json',
                _resources("abc def-123", ("SECRET1", "secret1")),
            ),
        ),
        {"SECRET1": "secret1"},
    ),
    Case(
        "passbolt fetch of a missing secret",
        "passbolt",
        ("SECRET1", "NOPE"),
        (
            *PB_START,
            ok(
                'passbolt list resources --filter \'Name == "SECRET1" || Name == "NOPE"\'  --column name --column password --json',
                _resources("", ("SECRET1", "secret1")),
            ),
        ),
        "Could not find the following secrets in Passbolt: NOPE",
    ),
]

# -- Kamal's own test adapter (test/cli/secrets_test.rb) ---------------------------------------------

TEST_ADAPTER = [
    Case(
        "test fetch", "test", ("foo", "bar", "baz"), (), {"foo": "oof", "bar": "rab", "baz": "zab"}, account="myaccount"
    ),
    Case(
        "test fetch with from and parentheses",
        "test",
        ("x", "LPARENyRPAREN"),
        (),
        {"V/I/x": "x/I/V", "V/I/LPARENyRPAREN": ")y(/I/V"},
        account="a",
        from_="V/I",
    ),
]

CASES = [*ONE_PASSWORD, *BITWARDEN, *BITWARDEN_SM, *LAST_PASS, *AWS, *GCP, *DOPPLER, *ENPASS, *PASSBOLT, *TEST_ADAPTER]


class ExactShell:
    """Answers only the calls of the case, in their order and with their exact text."""

    def __init__(self, calls: tuple[Call, ...]) -> None:
        self.pending = list(calls)

    def __call__(self, command: str) -> tuple[str, int]:
        assert self.pending, f"unexpected extra command: {command}"
        expected, stdout, status = self.pending.pop(0)
        assert command == expected
        return stdout, status


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_kamals_exact_commands_in_order(case: Case) -> None:
    answers = ExactShell(case.calls)
    shell = Shell(env=case.env, runner=answers)
    if isinstance(case.expected, str):
        with pytest.raises(AdapterError) as raised:
            fetch(case.secrets, adapter=case.adapter, account=case.account, from_=case.from_, shell=shell)
        assert str(raised.value) == case.expected
    else:
        assert (
            fetch(case.secrets, adapter=case.adapter, account=case.account, from_=case.from_, shell=shell)
            == case.expected
        )
    assert answers.pending == []
    assert shell.commands == [command for command, _, _ in case.calls]


@pytest.fixture
def standins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[StandIns]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    # only the stand-ins: a vault CLI installed on this machine must never be reached
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.delenv("DOPPLER_TOKEN", raising=False)
    monkeypatch.delenv("BW_SESSION", raising=False)
    monkeypatch.chdir(tmp_path)
    yield StandIns(bin_dir)


def _cli_args(case: Case) -> list[str]:
    args = ["secrets", "fetch", *case.secrets, "--adapter", case.adapter]
    args += ["--account", case.account] if case.account is not None else []
    return args + (["--from", case.from_] if case.from_ is not None else [])


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_kamal_nb_secrets_fetch_with_stand_in_clis(
    case: Case, standins: StandIns, monkeypatch: pytest.MonkeyPatch
) -> None:
    not_installed = len(case.calls) == 1 and case.calls[0][2] != 0
    if not not_installed:  # a missing CLI is missing: no stand-in answers
        for command, stdout, status in case.calls:
            standins.reply(command, stdout, status)
    for key, value in case.env.items():
        monkeypatch.setenv(key, value)
    out, err = io.StringIO(), io.StringIO()
    code = main(_cli_args(case), out=out, err=err)
    if isinstance(case.expected, str):
        assert (code, out.getvalue(), err.getvalue()) == (1, "", f"kamal-nb secrets fetch: {case.expected}\n")
    else:
        assert (code, err.getvalue()) == (0, "")
        printed = json.loads(out.getvalue())
        assert printed == case.expected
        # Ruby's JSON.dump: compact, non-ASCII and "/" as they are, in the vault's order
        assert out.getvalue() == json.dumps(printed, separators=(",", ":"), ensure_ascii=False) + "\n"
    expected_calls = [split_command(command) for command, _, _ in case.calls] if not not_installed else []
    assert standins.calls() == expected_calls


def test_missing_account_is_only_a_message_as_in_kamal(standins: StandIns) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert main(["secrets", "fetch", "foo", "--adapter", "1password"], out=out, err=err) == 0
    assert out.getvalue() == "No value provided for required options '--account'\n" and err.getvalue() == ""
    assert standins.calls() == []  # nothing ran, not even `op --version`
    with pytest.raises(MissingAccount):
        fetch(["foo"], adapter="test")


def test_adapter_names_as_kamal_looks_them_up() -> None:
    assert camelize("one_password") == "OnePassword" and camelize("one_PASSWORD") == "OnePassword"
    assert camelize("bitwarden_secrets_manager") == "BitwardenSecretsManager"
    names = {
        "1password": "OnePassword",
        "1Password": "OnePassword",
        "lastpass": "LastPass",
        "last_pass": "LastPass",
        "gcp": "GcpSecretManager",
        "bitwarden-sm": "BitwardenSecretsManager",
        "aws_secrets_manager": "AwsSecretsManager",
        "Test": "Test",
    }
    for name, cls in names.items():
        assert type(lookup(name)).__name__ == cls, name
    for unknown in ("TEST", "op", "base", "aws"):
        with pytest.raises(AdapterError, match=f"^Unknown secrets adapter: {unknown}$"):
            lookup(unknown)


def test_unknown_adapter_on_the_command_line(standins: StandIns) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert main(["secrets", "fetch", "x", "-a", "nope", "--account", "a"], out=out, err=err) == 1
    assert err.getvalue() == "kamal-nb secrets fetch: Unknown secrets adapter: nope\n"
