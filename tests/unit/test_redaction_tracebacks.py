"""A traceback printed with `%xmode Verbose` (or walked by a debugger) shows no revealed secret: the
frames an error went through lose their locals (`forget_locals`, which `%kamal` applies to every
error of an operation), and a secret's Python repr, in str or bytes, is one of its masked forms."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from IPython.core.ultratb import VerboseTB

from kamal_nb.redaction import REDACTED, Secret, forget_all, forget_locals, redact

VALUE = 'pa\'ss\\wörd-"4711"\nline two'


@pytest.fixture(autouse=True)
def clean_registry() -> Iterator[None]:
    forget_all()
    yield
    forget_all()


def upload(content: bytes) -> None:
    wire = f"docker login -p {content.decode()}"
    raise RuntimeError(f"the transport broke after {len(wire)} bytes")


def failing(secret: Secret) -> None:
    revealed = secret.reveal()
    try:
        upload(f"APP_SECRET={revealed}\n".encode())
    except RuntimeError as error:
        raise ValueError("while pushing the env file") from error


def verbose_traceback(error: BaseException) -> str:
    shown = VerboseTB(theme_name="nocolor")
    return "\n".join(shown.structured_traceback(type(error), error, error.__traceback__))


def raised() -> ValueError:
    secret = Secret(VALUE)  # what the frames below hold revealed; this one holds it as a Secret
    with pytest.raises(ValueError) as caught:
        failing(secret)
    return caught.value


def test_a_verbose_traceback_shows_the_locals_of_frames_until_they_are_forgotten() -> None:
    before = verbose_traceback(raised())
    assert repr(VALUE)[1:-1] in before or repr(VALUE.encode())[2:-1] in before  # what this is about
    error = raised()
    forget_locals(error)
    after = verbose_traceback(error)
    assert "RuntimeError" in after and "while pushing the env file" in after  # the traceback stays
    assert "failing" in after and "upload" in after
    for form in (VALUE, repr(VALUE)[1:-1], repr(VALUE.encode())[2:-1], "wörd", "4711"):
        assert form not in after, form
    assert error.__cause__ is not None and error.__cause__.__traceback__ is not None


def test_a_secrets_python_repr_in_str_and_bytes_is_masked() -> None:
    Secret(VALUE)
    assert redact(repr(VALUE)) == f"'{REDACTED}'"
    assert redact(repr(f"K={VALUE}\n".encode())) == f"b'K={REDACTED}\\n'"
