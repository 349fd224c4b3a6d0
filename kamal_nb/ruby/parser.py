"""Parse the Ruby subset of deploy.yml templates into a small syntax tree.

Grammar (Ruby precedence, lowest first):

    statements := statement (terminator statement)*
    statement  := simple ((if | unless) expr)*          -- statement modifiers
    simple     := TEXT | INSERT postfix | if/unless ... end | local = expr | expr
    expr       := not expr | test ((and | or) test)*
    test       := or_expr [? test : test]
    or_expr    := and_expr (|| and_expr)*
    and_expr   := equality (&& equality)*
    equality   := additive [(== | !=) additive]
    additive   := unary (+ unary)*
    unary      := ! unary | postfix
    postfix    := primary (. method [(args)] [{ statements }] | [ expr ])*
    primary    := string | `cmd` | %x(cmd) | /regexp/ | [-]integer | nil | true | false | ENV
                | Const(::Const)* | local | require args | ( statements )

A method call after a dot may also take its arguments without parentheses (`Dotenv.load ".env"`).

A bare name is a local variable only after an assignment to it, as in Ruby; otherwise it is an
unknown method and an error.
"""

from __future__ import annotations

from dataclasses import dataclass

from kamal_nb.ruby.lexer import StringPart, Token


class ParseError(Exception):
    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass(frozen=True)
class Node:
    line: int


@dataclass(frozen=True)
class Text(Node):
    index: int


@dataclass(frozen=True)
class Insert(Node):
    value: Node


@dataclass(frozen=True)
class Literal(Node):
    value: str | int | bool | None


@dataclass(frozen=True)
class Interpolated(Node):
    """A double-quoted string (command=False) or a backtick / %x command (command=True)."""

    parts: tuple[str | Node, ...]
    command: bool


@dataclass(frozen=True)
class EnvConst(Node):
    pass


@dataclass(frozen=True)
class ConstRef(Node):
    """A constant other than ENV (`RUBY_VERSION`, `File`, `URI`...); the evaluator knows which exist."""

    name: str


@dataclass(frozen=True)
class RegexpLiteral(Node):
    source: str
    flags: str


@dataclass(frozen=True)
class FunctionCall(Node):
    """A method called without a receiver (`require "dotenv"`)."""

    name: str
    args: tuple[Node, ...]


# Methods a template may call without a receiver.
FUNCTIONS = frozenset({"require"})


@dataclass(frozen=True)
class LocalRead(Node):
    name: str


@dataclass(frozen=True)
class Assign(Node):
    name: str
    value: Node


@dataclass(frozen=True)
class Call(Node):
    receiver: Node
    method: str
    args: tuple[Node, ...]
    block: Node | None


@dataclass(frozen=True)
class Not(Node):
    operand: Node


@dataclass(frozen=True)
class Binary(Node):
    operator: str  # "&&", "||", "==", "!=", "+"
    left: Node
    right: Node


@dataclass(frozen=True)
class Conditional(Node):
    """`if` / `unless` / `elsif` / modifiers / ternary: run `then` when test is truthy (falsy if negate)."""

    test: Node
    negate: bool
    then: Node
    otherwise: Node | None


@dataclass(frozen=True)
class Sequence(Node):
    statements: tuple[Node, ...]


_TERMINATORS = ("nl", ";")


class Parser:
    def __init__(self, tokens: list[Token], locals_: set[str] | None = None) -> None:
        self.tokens = tokens
        self.index = 0
        self.locals: set[str] = locals_ if locals_ is not None else set()

    # -- token helpers -------------------------------------------------------------------------
    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def at(self, kind: str, value: str | None = None) -> bool:
        token = self.current
        return token.kind == kind and (value is None or token.value == value)

    def at_op(self, *values: str) -> bool:
        return self.current.kind == "op" and self.current.value in values

    def at_kw(self, *values: str) -> bool:
        return self.current.kind == "kw" and self.current.value in values

    def advance(self) -> Token:
        token = self.current
        if token.kind != "eof":
            self.index += 1
        return token

    def expect_op(self, value: str) -> Token:
        if not self.at_op(value):
            raise self.unexpected(f"expected {value!r}")
        return self.advance()

    def at_terminator(self) -> bool:
        return self.at("nl") or self.at_op(";")

    def skip_newlines(self) -> None:
        while self.at("nl"):
            self.advance()

    def unexpected(self, expectation: str = "") -> ParseError:
        token = self.current
        shown = {"eof": "end of template", "nl": "end of line", "text": "template text"}.get(
            token.kind, repr(token.value) if token.value else token.kind
        )
        detail = f" ({expectation})" if expectation else ""
        return ParseError(f"unsupported or invalid Ruby: unexpected {shown}{detail}", token.line)

    # -- statements ----------------------------------------------------------------------------
    def parse_program(self) -> Sequence:
        body = self.statements(stop_keywords=())
        if not self.at("eof"):
            if self.at_kw("end", "else", "elsif"):
                raise ParseError(f"unsupported or invalid Ruby: unexpected '{self.current.value}'", self.current.line)
            raise self.unexpected()
        return body

    def statements(self, stop_keywords: tuple[str, ...], stop_op: str | None = None) -> Sequence:
        line = self.current.line
        items: list[Node] = []
        while True:
            while self.at_terminator():
                self.advance()
            if self.at("eof") or (stop_keywords and self.at_kw(*stop_keywords)):
                break
            if stop_op is not None and self.at_op(stop_op):
                break
            items.append(self.statement())
            if self.at_terminator() or self.at("eof") or self.at_kw(*stop_keywords):
                continue
            if stop_op is not None and self.at_op(stop_op):
                continue
            # Two expressions side by side (`a b`): a method call with arguments, not Ruby we support.
            raise self.unexpected()
        return Sequence(line, tuple(items))

    def statement(self) -> Node:
        node = self.simple_statement()
        while self.at_kw("if", "unless"):
            keyword = self.advance()
            test = self.expression()
            node = Conditional(keyword.line, test, keyword.value == "unless", node, None)
        return node

    def simple_statement(self) -> Node:
        token = self.current
        if token.kind == "text":
            self.advance()
            return Text(token.line, int(token.value))
        if token.kind == "insert":
            self.advance()
            return Insert(token.line, self.postfix())
        if self.at_kw("if", "unless"):
            return self.if_statement()
        if token.kind == "ident" and self.tokens[self.index + 1].kind == "op":
            following = self.tokens[self.index + 1].value
            if following == "=":
                self.advance()
                self.advance()
                self.skip_newlines()
                # Ruby declares the local before evaluating the right-hand side.
                self.locals.add(token.value)
                return Assign(token.line, token.value, self.statement_value())
        return self.expression()

    def statement_value(self) -> Node:
        if self.at_kw("if", "unless"):
            return self.if_statement()
        following = self.tokens[self.index + 1]
        if self.current.kind == "ident" and following.kind == "op" and following.value == "=":
            return self.simple_statement()
        return self.expression()

    def if_statement(self) -> Node:
        keyword = self.advance()
        test = self.expression()
        self.then_separator()
        then = self.statements(("elsif", "else", "end"))
        otherwise: Node | None = None
        if keyword.value == "if" and self.at_kw("elsif"):
            otherwise = self.if_statement_tail()
            return Conditional(keyword.line, test, False, then, otherwise)
        if self.at_kw("else"):
            self.advance()
            otherwise = self.statements(("end",))
        if not self.at_kw("end"):
            raise ParseError(f"'{keyword.value}' on line {keyword.line} has no matching 'end'", self.current.line)
        self.advance()
        return Conditional(keyword.line, test, keyword.value == "unless", then, otherwise)

    def if_statement_tail(self) -> Node:
        """`elsif test ... [elsif|else] ... end`, read as a nested if that owns the shared `end`."""
        keyword = self.advance()
        test = self.expression()
        self.then_separator()
        then = self.statements(("elsif", "else", "end"))
        otherwise: Node | None = None
        if self.at_kw("elsif"):
            otherwise = self.if_statement_tail()
            return Conditional(keyword.line, test, False, then, otherwise)
        if self.at_kw("else"):
            self.advance()
            otherwise = self.statements(("end",))
        if not self.at_kw("end"):
            raise ParseError(f"'elsif' on line {keyword.line} has no matching 'end'", self.current.line)
        self.advance()
        return Conditional(keyword.line, test, False, then, otherwise)

    def then_separator(self) -> None:
        if self.at_kw("then"):
            self.advance()
            return
        if not self.at_terminator():
            raise self.unexpected("expected a new line, ';' or 'then' after the condition")
        while self.at_terminator():
            self.advance()
        if self.at_kw("then"):
            self.advance()

    # -- expressions ---------------------------------------------------------------------------
    def expression(self) -> Node:
        if self.at_kw("not"):
            keyword = self.advance()
            return Not(keyword.line, self.expression())
        node = self.ternary()
        while self.at_kw("and", "or"):
            keyword = self.advance()
            self.skip_newlines()
            right = self.not_or_ternary()
            node = Binary(keyword.line, "&&" if keyword.value == "and" else "||", node, right)
        return node

    def not_or_ternary(self) -> Node:
        if self.at_kw("not"):
            keyword = self.advance()
            return Not(keyword.line, self.not_or_ternary())
        return self.ternary()

    def ternary(self) -> Node:
        test = self.or_expression()
        if self.at_op("?"):
            mark = self.advance()
            self.skip_newlines()
            then = self.ternary()
            self.skip_newlines()
            self.expect_op(":")
            self.skip_newlines()
            otherwise = self.ternary()
            return Conditional(mark.line, test, False, then, otherwise)
        return test

    def or_expression(self) -> Node:
        node = self.and_expression()
        while self.at_op("||"):
            operator = self.advance()
            self.skip_newlines()
            node = Binary(operator.line, "||", node, self.and_expression())
        return node

    def and_expression(self) -> Node:
        node = self.equality()
        while self.at_op("&&"):
            operator = self.advance()
            self.skip_newlines()
            node = Binary(operator.line, "&&", node, self.equality())
        return node

    def equality(self) -> Node:
        node = self.additive()
        if self.at_op("==", "!="):
            operator = self.advance()
            self.skip_newlines()
            node = Binary(operator.line, operator.value, node, self.additive())
            if self.at_op("==", "!="):
                raise self.unexpected("comparisons cannot be chained")
        return node

    def additive(self) -> Node:
        node = self.unary()
        while self.at_op("+"):
            operator = self.advance()
            self.skip_newlines()
            node = Binary(operator.line, "+", node, self.unary())
        return node

    def unary(self) -> Node:
        if self.at_op("!"):
            operator = self.advance()
            return Not(operator.line, self.unary())
        return self.postfix()

    def postfix(self) -> Node:
        node = self.primary()
        while True:
            if self.at_op(".") or (self.at("nl") and self.next_line_starts_with_dot()):
                self.skip_newlines()
                dot = self.advance()
                self.skip_newlines()
                if not self.at("ident"):
                    raise self.unexpected("expected a method name after '.'")
                name = self.advance().value
                args = self.call_arguments() or self.command_arguments()
                block = self.call_block()
                node = Call(dot.line, node, name, args, block)
            elif self.at_op("[") and not self.current.spaced:
                bracket = self.advance()
                self.skip_newlines()
                keys = [self.expression()]
                self.skip_newlines()
                while self.at_op(","):
                    self.advance()
                    self.skip_newlines()
                    keys.append(self.expression())
                    self.skip_newlines()
                self.expect_op("]")
                node = Call(bracket.line, node, "[]", tuple(keys), None)
            else:
                return node

    def next_line_starts_with_dot(self) -> bool:
        index = self.index
        while self.tokens[index].kind == "nl":
            index += 1
        token = self.tokens[index]
        return token.kind == "op" and token.value == "."

    def call_arguments(self) -> tuple[Node, ...]:
        if not (self.at_op("(") and not self.current.spaced):
            return ()
        self.advance()
        self.skip_newlines()
        args: list[Node] = []
        while not self.at_op(")"):
            args.append(self.expression())
            self.skip_newlines()
            if self.at_op(","):
                self.advance()
                self.skip_newlines()
            elif not self.at_op(")"):
                raise self.unexpected("expected ',' or ')'")
        self.advance()
        return tuple(args)

    def command_arguments(self) -> tuple[Node, ...]:
        """Arguments without parentheses: `Dotenv.load ".env", ".env.local"`."""
        if not (self.current.spaced and self.current.kind in ("str", "xstr", "int", "const", "regex")):
            return ()
        args = [self.ternary()]
        while self.at_op(","):
            self.advance()
            self.skip_newlines()
            args.append(self.ternary())
        return tuple(args)

    def call_block(self) -> Node | None:
        if not self.at_op("{"):
            return None
        self.advance()
        if self.at_op("|"):
            raise self.unexpected("block parameters are not supported")
        body = self.statements((), stop_op="}")
        self.expect_op("}")
        return body

    def primary(self) -> Node:
        token = self.current
        if token.kind == "str" or token.kind == "xstr":
            self.advance()
            return Interpolated(token.line, self.string_parts(token.parts), token.kind == "xstr")
        if token.kind == "int":
            self.advance()
            return Literal(token.line, int(token.value))
        if self.at_op("-") and self.tokens[self.index + 1].kind == "int" and not self.tokens[self.index + 1].spaced:
            self.advance()
            return Literal(token.line, -int(self.advance().value))
        if token.kind == "regex":
            self.advance()
            return RegexpLiteral(token.line, token.value, token.parts[0].text if token.parts else "")
        if token.kind == "kw" and token.value in ("nil", "true", "false"):
            self.advance()
            return Literal(token.line, {"nil": None, "true": True, "false": False}[token.value])
        if token.kind == "const":
            self.advance()
            name = token.value
            while self.at_op("::") and self.tokens[self.index + 1].kind == "const":
                self.advance()
                name += "::" + self.advance().value
            return EnvConst(token.line) if name == "ENV" else ConstRef(token.line, name)
        if token.kind == "ident" and token.value in FUNCTIONS and token.value not in self.locals:
            self.advance()
            return FunctionCall(token.line, token.value, self.call_arguments() or self.command_arguments())
        if token.kind == "ident":
            if token.value in self.locals and not (
                self.tokens[self.index + 1].kind == "op"
                and self.tokens[self.index + 1].value == "("
                and not self.tokens[self.index + 1].spaced
            ):
                self.advance()
                return LocalRead(token.line, token.value)
            raise ParseError(
                f"unsupported Ruby in template: method {token.value!r}",
                token.line,
            )
        if self.at_op("("):
            self.advance()
            body = self.statements((), stop_op=")")
            self.expect_op(")")
            return body
        raise self.unexpected()

    def string_parts(self, parts: tuple[StringPart, ...]) -> tuple[str | Node, ...]:
        out: list[str | Node] = []
        for part in parts:
            if part.code is None:
                out.append(part.text)
            else:
                inner = Parser(list(part.code), self.locals)
                out.append(inner.statements((), stop_op=None))
                if not inner.at("eof"):
                    raise inner.unexpected()
        return tuple(out)
