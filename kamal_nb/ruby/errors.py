"""The error every reader of a configuration source raises: a message, and where it was found.

It lives here, below ``kamal_nb.config``, because the Ruby-compatible readers (ERB, YAML, dotenv)
raise it before any configuration exists; ``kamal_nb.config.errors`` re-exports it as the error of
the whole configuration layer, so callers catch one class.
"""

from __future__ import annotations


class ConfigError(Exception):
    """A configuration that Kamal would refuse, or that kamal_nb cannot read exactly as Kamal does.

    The message is the one a user sees; it names the file (and line) or the key path.

    `ConfigError("message")` keeps working as a plain message. Loaders that know where the problem is
    pass `path=` (and `line=`, 1-based): the text shown becomes `path:line: message`, and the parts stay
    available as attributes so widgets can point at the spot without parsing the text. `kamal_class`
    names the Ruby exception Kamal raises in the same case (a template's NameError, a YAML syntax
    error's Psych::SyntaxError...).
    """

    # The Ruby class Kamal raises for it (kamal_nb.kamal_errors prints it as Kamal does).
    kamal_class = "Kamal::ConfigurationError"

    def __init__(
        self, message: str, *, path: str | None = None, line: int | None = None, kamal_class: str | None = None
    ) -> None:
        self.detail = message
        self.path = path
        self.line = line
        if kamal_class is not None:
            self.kamal_class = kamal_class
        super().__init__(self._located(message, path, line))

    @staticmethod
    def _located(message: str, path: str | None, line: int | None) -> str:
        if path is None:
            return message
        if line is None:
            return f"{path}: {message}"
        return f"{path}:{line}: {message}"
