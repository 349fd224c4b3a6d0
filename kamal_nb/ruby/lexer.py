"""Tokens of the small Ruby subset that deploy.yml templates use.

The input is the script ERB compiles a template into (see erb.py): Ruby code from `<% %>` tags, with
two sentinels standing for what ERB itself generates: TEXT_MARK + index + TEXT_MARK for "append
literal text number i", and INSERT_MARK for "append the value of the following expression". Lines of
the script are lines of the template, so every token knows its template line.

Anything outside the subset is reported with its line instead of being guessed at.
"""

from __future__ import annotations

from dataclasses import dataclass, field

TEXT_MARK = "\x00"
INSERT_MARK = "\x01"

KEYWORDS = frozenset({"if", "unless", "elsif", "else", "end", "then", "nil", "true", "false", "and", "or", "not"})
# Longest first, so that "==" is not read as "=" "=".
_OPERATORS = ("&&", "||", "==", "!=", "=~", "!~", "**", "::", "..", "<=", ">=", "<<", ">>", "+=")
_SINGLE_OPERATORS = "!+-*/%=?:()[]{},.<>|&^~;"
_PERCENT_CLOSERS = {"(": ")", "[": "]", "{": "}", "<": ">"}


class LexError(Exception):
    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass(frozen=True)
class StringPart:
    """A piece of a string literal: literal text, or an interpolated `#{...}` (its tokens)."""

    text: str = ""
    code: tuple[Token, ...] | None = None


@dataclass(frozen=True)
class Token:
    kind: str  # "ident", "const", "kw", "int", "str", "xstr", "regex", "op", "nl", "text", "insert", "eof"
    value: str
    line: int
    parts: tuple[StringPart, ...] = field(default=())
    # True when whitespace came before the token (Ruby reads `a ?b` and `a?b` differently).
    spaced: bool = False


def tokenize(source: str, first_line: int = 1) -> list[Token]:
    lexer = _Lexer(source, first_line)
    tokens = lexer.run(stop_at_brace=False)
    return tokens


class _Lexer:
    def __init__(self, source: str, first_line: int) -> None:
        self.src = source
        self.pos = 0
        self.line = first_line

    def error(self, message: str) -> LexError:
        return LexError(message, self.line)

    def run(self, *, stop_at_brace: bool) -> list[Token]:
        tokens: list[Token] = []
        depth = 0
        spaced = False
        while self.pos < len(self.src):
            char = self.src[self.pos]
            if char in " \t\r":
                self.pos += 1
                spaced = True
                continue
            if char == "\\" and self.src.startswith("\n", self.pos + 1):
                self.pos += 2
                self.line += 1
                spaced = True
                continue
            if char == "\n":
                tokens.append(Token("nl", "\n", self.line))
                self.line += 1
                self.pos += 1
                spaced = True
                continue
            if char == "#":
                end = self.src.find("\n", self.pos)
                self.pos = len(self.src) if end == -1 else end
                continue
            if stop_at_brace and char == "}" and depth == 0:
                self.pos += 1
                return tokens
            token = self.next_token(char, tokens, spaced)
            if token.kind == "op" and token.value == "{":
                depth += 1
            elif token.kind == "op" and token.value == "}":
                depth -= 1
            tokens.append(token)
            spaced = False
        if stop_at_brace:
            raise self.error("unterminated #{ interpolation")
        tokens.append(Token("eof", "", self.line))
        return tokens

    def next_token(self, char: str, previous: list[Token], spaced: bool) -> Token:
        line = self.line
        if char == TEXT_MARK:
            end = self.src.index(TEXT_MARK, self.pos + 1)
            value = self.src[self.pos + 1 : end]
            self.pos = end + 1
            return Token("text", value, line)
        if char == INSERT_MARK:
            self.pos += 1
            return Token("insert", "", line)
        if char.isalpha() or char == "_":
            return self.word(previous, spaced)
        if char.isdigit():
            start = self.pos
            while self.pos < len(self.src) and (self.src[self.pos].isdigit() or self.src[self.pos] == "_"):
                self.pos += 1
            if self.pos < len(self.src) and (
                self.src[self.pos] == "." and self.src[self.pos + 1 : self.pos + 2].isdigit()
            ):
                raise self.error("floating-point numbers are not supported in kamal_nb's ERB")
            return Token("int", self.src[start : self.pos].replace("_", ""), line, spaced=spaced)
        if char == "'":
            self.pos += 1
            return Token("str", "", line, parts=(StringPart(self.single_quoted("'")),), spaced=spaced)
        if char == '"':
            self.pos += 1
            return Token("str", "", line, parts=self.double_quoted('"', None), spaced=spaced)
        if char == "`":
            self.pos += 1
            return Token("xstr", "", line, parts=self.double_quoted("`", None), spaced=spaced)
        if char == "%" and self.percent_literal_ahead(previous, spaced):
            return self.percent_literal(line, spaced)
        if char == "/" and self.operand_expected(previous, spaced, self.src[self.pos + 1 : self.pos + 2]):
            return self.regexp(line, spaced)
        for operator in _OPERATORS:
            if self.src.startswith(operator, self.pos):
                self.pos += len(operator)
                return Token("op", operator, line, spaced=spaced)
        if char in _SINGLE_OPERATORS:
            self.pos += 1
            return Token("op", char, line, spaced=spaced)
        raise self.error(f"unexpected character {char!r}")

    def word(self, previous: list[Token], spaced: bool) -> Token:
        start = self.pos
        while self.pos < len(self.src) and (self.src[self.pos].isalnum() or self.src[self.pos] == "_"):
            self.pos += 1
        after_dot = bool(previous) and previous[-1].kind == "op" and previous[-1].value == "."
        # `present?`, `nil?`, `key?`: a method name may end in ? or ! (not followed by `=`, which
        # would make `x!= y` a comparison). Only method names after a dot get this reading.
        if (
            after_dot
            and self.pos < len(self.src)
            and self.src[self.pos] in "?!"
            and not self.src.startswith("=", self.pos + 1)
        ):
            self.pos += 1
        name = self.src[start : self.pos]
        if after_dot:
            return Token("ident", name, self.line, spaced=spaced)
        if name in KEYWORDS:
            return Token("kw", name, self.line, spaced=spaced)
        if name[0].isupper():
            return Token("const", name, self.line, spaced=spaced)
        return Token("ident", name, self.line, spaced=spaced)

    @staticmethod
    def operand_expected(previous: list[Token], spaced: bool, following: str) -> bool:
        """Where Ruby reads `%`/`/` as the start of a literal rather than an operator."""
        expects_operand = not previous or previous[-1].kind in ("op", "kw", "nl", "text", "insert")
        if previous and previous[-1].kind == "op" and previous[-1].value in (")", "]", "}"):
            expects_operand = False
        if previous and previous[-1].kind == "ident" and spaced and following and not following.isspace():
            expects_operand = True
        return expects_operand

    def regexp(self, line: int, spaced: bool) -> Token:
        """`/source/flags`: the source kept raw (Ruby's escapes are the regex's own)."""
        self.pos += 1
        start = self.pos
        while self.pos < len(self.src) and self.src[self.pos] != "/":
            if self.src[self.pos] == "\\":
                self.pos += 1
            elif self.src[self.pos] == "\n":
                raise self.error("unterminated regexp meets end of line")
            self.pos += 1
        if self.pos >= len(self.src):
            raise self.error("unterminated regexp meets end of file")
        source = self.src[start : self.pos]
        self.pos += 1
        flags_start = self.pos
        while self.pos < len(self.src) and self.src[self.pos] in "imxo":
            self.pos += 1
        return Token("regex", source, line, parts=(StringPart(self.src[flags_start : self.pos]),), spaced=spaced)

    def percent_literal_ahead(self, previous: list[Token], spaced: bool) -> bool:
        """`%x(...)`, `%q(...)`, `%Q(...)`, `%(...)` start a literal where an operand is expected."""
        rest = self.src[self.pos + 1 : self.pos + 3]
        if not rest:
            return False
        if not self.operand_expected(previous, spaced, rest[0]):
            return False
        if rest[0] in "xqQ" and len(rest) > 1 and not rest[1].isalnum() and not rest[1].isspace():
            return True
        return not rest[0].isalnum() and not rest[0].isspace()

    def percent_literal(self, line: int, spaced: bool) -> Token:
        self.pos += 1
        kind = "Q"
        if self.src[self.pos] in "xqQ":
            kind = self.src[self.pos]
            self.pos += 1
        opener = self.src[self.pos]
        self.pos += 1
        closer = _PERCENT_CLOSERS.get(opener, opener)
        nest = opener if opener != closer else None
        if kind == "q":
            return Token("str", "", line, parts=(StringPart(self.single_quoted(closer, nest)),), spaced=spaced)
        parts = self.double_quoted(closer, nest)
        return Token("xstr" if kind == "x" else "str", "", line, parts=parts, spaced=spaced)

    def single_quoted(self, closer: str, nest: str | None = None) -> str:
        out: list[str] = []
        depth = 0
        start_line = self.line
        while True:
            if self.pos >= len(self.src):
                raise LexError("unterminated string literal", start_line)
            char = self.src[self.pos]
            if char == "\\" and self.src[self.pos + 1 : self.pos + 2] in ("\\", closer, nest or closer):
                out.append(self.src[self.pos + 1])
                self.pos += 2
                continue
            if nest is not None and char == nest:
                depth += 1
            elif char == closer:
                if depth == 0:
                    self.pos += 1
                    return "".join(out)
                depth -= 1
            if char == "\n":
                self.line += 1
            out.append(char)
            self.pos += 1

    def double_quoted(self, closer: str, nest: str | None) -> tuple[StringPart, ...]:
        parts: list[StringPart] = []
        text: list[str] = []
        depth = 0
        start_line = self.line
        while True:
            if self.pos >= len(self.src):
                raise LexError("unterminated string literal", start_line)
            char = self.src[self.pos]
            if char == "\\":
                text.append(self.escape())
                continue
            if char == "#" and self.src.startswith("{", self.pos + 1):
                if text:
                    parts.append(StringPart("".join(text)))
                    text = []
                self.pos += 2
                inner = self.run(stop_at_brace=True)
                inner.append(Token("eof", "", self.line))
                parts.append(StringPart(code=tuple(inner)))
                continue
            if nest is not None and char == nest:
                depth += 1
            elif char == closer:
                if depth == 0:
                    self.pos += 1
                    if text or not parts:
                        parts.append(StringPart("".join(text)))
                    return tuple(parts)
                depth -= 1
            if char == "\n":
                self.line += 1
            text.append(char)
            self.pos += 1

    def escape(self) -> str:
        """One backslash escape inside a double-quoted (or backtick) literal, as Ruby reads it."""
        self.pos += 1
        if self.pos >= len(self.src):
            raise self.error("unterminated string literal")
        char = self.src[self.pos]
        self.pos += 1
        simple = {"n": "\n", "t": "\t", "s": " ", "r": "\r", "e": "\x1b", "a": "\a", "b": "\b"}
        simple |= {"f": "\f", "v": "\v"}
        if char in simple:
            return simple[char]
        if char == "\n":
            self.line += 1
            return ""
        if char in "01234567":
            digits = char
            while len(digits) < 3 and self.src[self.pos : self.pos + 1] in tuple("01234567"):
                digits += self.src[self.pos]
                self.pos += 1
            return chr(int(digits, 8))
        if char == "x":
            digits = ""
            while len(digits) < 2 and self.src[self.pos : self.pos + 1].lower() in tuple("0123456789abcdef"):
                if not self.src[self.pos : self.pos + 1]:
                    break
                digits += self.src[self.pos]
                self.pos += 1
            if not digits:
                raise self.error("invalid hex escape")
            return chr(int(digits, 16))
        if char == "u":
            return self.unicode_escape()
        if char in "cCM":
            raise self.error(f"the \\{char} escape is not supported in kamal_nb's ERB")
        return char

    def unicode_escape(self) -> str:
        if self.src.startswith("{", self.pos):
            end = self.src.find("}", self.pos)
            if end == -1:
                raise self.error("unterminated Unicode escape")
            codes = self.src[self.pos + 1 : end].split()
            self.pos = end + 1
            try:
                return "".join(chr(int(code, 16)) for code in codes)
            except ValueError:
                raise self.error("invalid Unicode escape") from None
        digits = self.src[self.pos : self.pos + 4]
        if len(digits) != 4 or any(c not in "0123456789abcdefABCDEF" for c in digits):
            raise self.error("invalid Unicode escape")
        self.pos += 4
        return chr(int(digits, 16))
