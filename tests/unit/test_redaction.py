"""Secret values never print, and registered values are masked in any text."""

from __future__ import annotations

import logging
import pickle
import threading
from collections.abc import Iterator

import pytest

from kamal_nb.redaction import REDACTED, Secret, forget_all, redact, register


@pytest.fixture(autouse=True)
def clean_registry() -> Iterator[None]:
    forget_all()
    yield
    forget_all()


def test_every_printing_path_is_redacted(caplog: pytest.LogCaptureFixture) -> None:
    secret = Secret("hunter2-password")
    assert str(secret) == REDACTED
    assert repr(secret) == f"Secret({REDACTED})"
    assert f"{secret}" == REDACTED
    assert f"{secret!r}" == f"Secret({REDACTED})"
    assert f"[{secret:>12}]" == f"[  {REDACTED}]"
    assert "%s" % secret == REDACTED  # noqa: UP031
    assert str([secret]) == f"[Secret({REDACTED})]"
    assert str({"k": secret}) == f"{{'k': Secret({REDACTED})}}"
    logging.getLogger("t").warning("value %s", secret)
    assert "hunter2" not in caplog.text
    assert "hunter2" not in str(ValueError(secret))


def test_reveal_equality_and_hash() -> None:
    assert Secret("abc").reveal() == "abc"
    assert Secret("abc") == Secret("abc")
    assert Secret("abc") != Secret("abd")
    assert Secret("abc") != "abc"  # a Secret is not a str, so it cannot slip into str APIs
    assert len({Secret("abc"), Secret("abc")}) == 1
    assert not Secret("") and Secret("x")


def test_not_a_str_and_not_picklable() -> None:
    with pytest.raises(TypeError):
        "prefix-" + Secret("value")  # type: ignore[operator]
    with pytest.raises(TypeError):
        pickle.dumps(Secret("value"))
    with pytest.raises(TypeError):
        Secret(1234)  # type: ignore[arg-type]


def test_redact_masks_known_values_longest_first() -> None:
    Secret("abcd")
    Secret("abcdefgh")
    assert redact("x abcdefgh y abcd z") == f"x {REDACTED} y {REDACTED} z"
    assert redact("nothing here") == "nothing here"


def test_short_values_are_not_masked_in_free_text() -> None:
    Secret("no")
    Secret("abc")
    assert redact("no abc") == "no abc"


def test_multi_line_values_are_masked_line_by_line() -> None:
    Secret("-----BEGIN KEY-----\nMIIEvQIBADANBgkq\n-----END KEY-----\n")
    assert redact("stderr: MIIEvQIBADANBgkq") == f"stderr: {REDACTED}"


def test_regex_characters_in_values_are_literal() -> None:
    register("a.b*c(d)")
    assert redact("a.b*c(d) axbbbc(d)") == f"{REDACTED} axbbbc(d)"


def test_concurrent_registration_and_redaction() -> None:
    values = [f"secret-value-{index:03d}" for index in range(200)]

    def add(chunk: list[str]) -> None:
        for value in chunk:
            register(value)
            assert redact(value) == REDACTED

    threads = [threading.Thread(target=add, args=(values[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert redact(" ".join(values)) == " ".join([REDACTED] * 200)
