"""Evaluate the Ruby-subset syntax tree of a template, with Ruby's semantics for the values involved.

Values are Ruby's: str (String), None (nil), bool (true/false), int (Integer), float, list (Array),
dict (Hash), and the library objects of stdlib.py. Only nil and false are falsy (an empty string is
true, as in Ruby). `ENV` starts as a copy of the mapping the template is rendered with (`Dotenv.load`
adds to it); commands in backticks and %x() run through `runtime.run_backtick` with that environment.
String methods follow Ruby and ActiveSupport (`present?`/`blank?` treat whitespace-only as blank).
Anything else raises RubyError, which erb.py turns into a ConfigError naming file and line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from kamal_nb.ruby import parser as ast
from kamal_nb.ruby import stdlib
from kamal_nb.ruby.methods import collection_method, inspect_value
from kamal_nb.ruby.regexp import Regexp, compile_regexp
from kamal_nb.ruby.runtime import RubyError, chomp, run_backtick, strip
from kamal_nb.ruby.stdlib import RubyModule, Uri

Value = stdlib.Value

# ActiveSupport's String#blank?: empty or only Unicode whitespace.
_BLANK = re.compile(r"\A[\s\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*\Z")


class LocatedRubyError(Exception):
    def __init__(self, error: RubyError, line: int) -> None:
        super().__init__(str(error))
        self.error = error
        self.line = line


def ruby_class(value: Value) -> str:
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return "Integer"
    if isinstance(value, str):
        return "String"
    names = {float: "Float", list: "Array", dict: "Hash", Regexp: "Regexp", RubyModule: "Module", Uri: "URI::Generic"}
    return names.get(type(value), type(value).__name__)


def to_s(value: Value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return stdlib.float_to_s(value)
    if isinstance(value, Uri):
        return value.text
    if isinstance(value, RubyModule):
        return value.name
    if isinstance(value, Regexp):
        return f"(?-mix:{value.source})"
    return inspect_value(value)


def truthy(value: Value) -> bool:
    return value is not None and value is not False


def ruby_equal(left: Value, right: Value) -> bool:
    # Python's True == 1 must not leak in: Ruby's true == 1 is false.
    return type(left) is type(right) and left == right


def blank(value: Value) -> bool:
    if value is None or value is False:
        return True
    if isinstance(value, str):
        return _BLANK.match(value) is not None
    return False


class Evaluator:
    def __init__(self, *, env: Mapping[str, str], cwd: str | None, texts: list[str]) -> None:
        self.env: dict[str, str] = dict(env)
        self.cwd = cwd
        self.required: set[str] = set()
        self.texts = texts
        self.output: list[str] = []
        self.locals: dict[str, Value] = {}

    def run(self, node: ast.Node) -> Value:
        try:
            return self.eval(node)
        except RubyError as error:
            raise LocatedRubyError(error, getattr(self, "_line", node.line)) from None

    def eval(self, node: ast.Node) -> Value:
        self._line = node.line
        handler = _HANDLERS.get(type(node))
        if handler is None:  # pragma: no cover - every node type has a handler
            raise RubyError("NotImplementedError", f"cannot evaluate {type(node).__name__}")
        return handler(self, node)

    def eval_sequence(self, node: ast.Node) -> Value:
        assert isinstance(node, ast.Sequence)
        result: Value = None
        for statement in node.statements:
            result = self.eval(statement)
        return result

    def eval_text(self, node: ast.Node) -> Value:
        assert isinstance(node, ast.Text)
        self.output.append(self.texts[node.index])
        return None

    def eval_insert(self, node: ast.Node) -> Value:
        assert isinstance(node, ast.Insert)
        self.output.append(to_s(self.eval(node.value)))
        return None

    def eval_literal(self, node: ast.Node) -> Value:
        assert isinstance(node, ast.Literal)
        return node.value

    def eval_interpolated(self, node: ast.Node) -> Value:
        assert isinstance(node, ast.Interpolated)
        text = "".join(part if isinstance(part, str) else to_s(self.eval(part)) for part in node.parts)
        if not node.command:
            return text
        self._line = node.line
        return run_backtick(text, env=self.env, cwd=self.cwd)

    def eval_env(self, node: ast.Node) -> Value:
        raise RubyError("NotImplementedError", "ENV can only be indexed (ENV[...]) or fetched (ENV.fetch)")

    def eval_const(self, node: ast.Node) -> Value:
        assert isinstance(node, ast.ConstRef)
        return stdlib.constant(self, node.name)

    def eval_regexp(self, node: ast.Node) -> Value:
        assert isinstance(node, ast.RegexpLiteral)
        return compile_regexp(node.source, node.flags)

    def eval_function(self, node: ast.Node) -> Value:
        assert isinstance(node, ast.FunctionCall)
        args = [self.eval(arg) for arg in node.args]
        self._line = node.line
        return stdlib.require(self, args)

    def eval_local(self, node: ast.Node) -> Value:
        assert isinstance(node, ast.LocalRead)
        return self.locals.get(node.name)

    def eval_assign(self, node: ast.Node) -> Value:
        assert isinstance(node, ast.Assign)
        value = self.eval(node.value)
        self.locals[node.name] = value
        return value

    def eval_not(self, node: ast.Node) -> Value:
        assert isinstance(node, ast.Not)
        return not truthy(self.eval(node.operand))

    def eval_binary(self, node: ast.Node) -> Value:
        assert isinstance(node, ast.Binary)
        left = self.eval(node.left)
        if node.operator == "&&":
            return self.eval(node.right) if truthy(left) else left
        if node.operator == "||":
            return left if truthy(left) else self.eval(node.right)
        right = self.eval(node.right)
        self._line = node.line
        if node.operator == "==":
            return ruby_equal(left, right)
        if node.operator == "!=":
            return not ruby_equal(left, right)
        return _plus(left, right)

    def eval_conditional(self, node: ast.Node) -> Value:
        assert isinstance(node, ast.Conditional)
        if truthy(self.eval(node.test)) != node.negate:
            return self.eval(node.then)
        if node.otherwise is not None:
            return self.eval(node.otherwise)
        return None

    def eval_call(self, node: ast.Node) -> Value:
        assert isinstance(node, ast.Call)
        if isinstance(node.receiver, ast.EnvConst):
            return self.env_call(node)
        receiver = self.eval(node.receiver)
        args = [self.eval(arg) for arg in node.args]
        self._line = node.line
        if node.block is not None:
            raise RubyError("NotImplementedError", f"unsupported Ruby in template: a block given to {node.method}")
        if isinstance(receiver, RubyModule):
            return stdlib.module_call(self, receiver, node.method, args)
        if isinstance(receiver, Uri):
            return stdlib.uri_attribute(receiver, node.method, args)
        return call_method(receiver, node.method, args)

    def env_call(self, node: ast.Call) -> Value:
        args = [self.eval(arg) for arg in node.args]
        self._line = node.line
        for arg in args[:1]:
            if not isinstance(arg, str):
                raise RubyError("TypeError", f"no implicit conversion of {ruby_class(arg)} into String")
        if node.method == "[]" and len(args) == 1:
            assert isinstance(args[0], str)
            return self.env.get(args[0])
        if node.method == "fetch" and len(args) in (1, 2):
            key = args[0]
            assert isinstance(key, str)
            if key in self.env:
                return self.env[key]
            if len(args) == 2:
                if node.block is not None:
                    # Ruby warns "block supersedes default value argument" and uses the block.
                    return self.eval(node.block)
                return args[1]
            if node.block is not None:
                return self.eval(node.block)
            raise RubyError("KeyError", f"key not found: {_inspect(key)}")
        if node.method in ("key?", "has_key?", "include?", "member?") and len(args) == 1:
            return args[0] in self.env
        raise RubyError("NoMethodError", f"ENV.{node.method} with {len(args)} argument(s) is not supported")


def _inspect(text: str) -> str:
    return inspect_value(text)


def _plus(left: Value, right: Value) -> Value:
    if isinstance(left, str):
        if not isinstance(right, str):
            raise RubyError("TypeError", f"no implicit conversion of {ruby_class(right)} into String")
        return left + right
    if isinstance(left, int) and not isinstance(left, bool):
        if isinstance(right, int) and not isinstance(right, bool):
            return left + right
        raise RubyError("TypeError", f"{ruby_class(right)} can't be coerced into Integer")
    raise RubyError("NoMethodError", f"undefined method '+' for {ruby_class(left)}")


def _string_method(name: str, function: Callable[[str], Value]) -> Callable[[Value, list[Value]], Value]:
    def method(receiver: Value, args: list[Value]) -> Value:
        if not isinstance(receiver, str):
            raise RubyError("NoMethodError", f"undefined method '{name}' for {ruby_class(receiver)}")
        if args:
            raise RubyError("ArgumentError", f"wrong number of arguments (given {len(args)}, expected 0)")
        return function(receiver)

    return method


def _string_predicate(name: str, function: Callable[[str, str], bool]) -> Callable[[Value, list[Value]], Value]:
    def method(receiver: Value, args: list[Value]) -> Value:
        if not isinstance(receiver, str):
            raise RubyError("NoMethodError", f"undefined method '{name}' for {ruby_class(receiver)}")
        if len(args) != 1 or not isinstance(args[0], str):
            raise RubyError("ArgumentError", f"{name} takes one String argument here")
        return function(receiver, args[0])

    return method


def _any_method(function: Callable[[Value], Value]) -> Callable[[Value, list[Value]], Value]:
    def method(receiver: Value, args: list[Value]) -> Value:
        if args:
            raise RubyError("ArgumentError", f"wrong number of arguments (given {len(args)}, expected 0)")
        return function(receiver)

    return method


def _to_i(receiver: Value, args: list[Value]) -> Value:
    if isinstance(receiver, bool):
        raise RubyError("NoMethodError", f"undefined method 'to_i' for {ruby_class(receiver)}")
    if receiver is None:
        return 0
    if isinstance(receiver, int):
        return receiver
    if isinstance(receiver, float):
        return int(receiver)
    if not isinstance(receiver, str):
        raise RubyError("NoMethodError", f"undefined method 'to_i' for {ruby_class(receiver)}")
    match = re.match(r"\s*([-+]?\d[\d_]*)", receiver)
    return int(match.group(1).replace("_", "")) if match else 0


_METHODS: dict[str, Callable[[Value, list[Value]], Value]] = {
    "to_s": _any_method(to_s),
    "inspect": _any_method(inspect_value),
    "nil?": _any_method(lambda value: value is None),
    "present?": _any_method(lambda value: not blank(value)),
    "blank?": _any_method(blank),
    "presence": _any_method(lambda value: None if blank(value) else value),
    "to_i": _to_i,
    "strip": _string_method("strip", strip),
    "lstrip": _string_method("lstrip", lambda text: text.lstrip("\0\t\n\v\f\r ")),
    "rstrip": _string_method("rstrip", lambda text: text.rstrip("\0\t\n\v\f\r ")),
    "chomp": _string_method("chomp", chomp),
    "upcase": _string_method("upcase", str.upper),
    "downcase": _string_method("downcase", str.lower),
    "empty?": _string_method("empty?", lambda text: text == ""),
    "start_with?": _string_predicate("start_with?", str.startswith),
    "end_with?": _string_predicate("end_with?", str.endswith),
    "include?": _string_predicate("include?", lambda text, part: part in text),
}


def call_method(receiver: Value, name: str, args: list[Value]) -> Value:
    found, result = collection_method(receiver, name, list(args))
    if found:
        return result
    method = _METHODS.get(name)
    if method is None:
        owner = {"nil": "NilClass", "true": "TrueClass", "false": "FalseClass"}.get(ruby_class(receiver))
        raise RubyError("NotImplementedError", f"unsupported Ruby in template: {owner or ruby_class(receiver)}#{name}")
    return method(receiver, args)


_HANDLERS: dict[type[ast.Node], Callable[[Evaluator, ast.Node], Value]] = {
    ast.Sequence: Evaluator.eval_sequence,
    ast.Text: Evaluator.eval_text,
    ast.Insert: Evaluator.eval_insert,
    ast.Literal: Evaluator.eval_literal,
    ast.Interpolated: Evaluator.eval_interpolated,
    ast.EnvConst: Evaluator.eval_env,
    ast.LocalRead: Evaluator.eval_local,
    ast.Assign: Evaluator.eval_assign,
    ast.Not: Evaluator.eval_not,
    ast.Binary: Evaluator.eval_binary,
    ast.Conditional: Evaluator.eval_conditional,
    ast.Call: Evaluator.eval_call,
    ast.ConstRef: Evaluator.eval_const,
    ast.RegexpLiteral: Evaluator.eval_regexp,
    ast.FunctionCall: Evaluator.eval_function,
}
