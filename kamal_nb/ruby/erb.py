"""Render deploy.yml templates as Kamal does: `ERB.new(text, trim_mode: "-").result`.

With a `ruby` on PATH, that Ruby renders the template (interpreter.py), so every construct works as in
Kamal. Without one, or when the template needs a gem that Ruby lacks, the built-in renderer below runs.

Ruby's ERB compiles a template into a Ruby script and evaluates it. This module does the same in two
halves:

* the compile step is ported exactly (Ruby's ExplicitScanner, the one trim_mode "-" uses): `<%-` at
  the start of a line eats the indentation before it, `-%>` eats the newline after it, `<%%` is a
  literal `<%`, `%%>` inside a tag is a literal `%>`, `<%# %>` is a comment, and pieces on one line
  are joined with "; " just as in Ruby, so a `#` comment in a tag swallows the rest of its line;
* the script is then evaluated by a small Ruby-subset interpreter (lexer / parser /
  evaluator): ENV[...], ENV.fetch (with a default or a block), backticks and %x(), if/unless/elsif/
  else/end, modifiers, ternary, ==, !=, &&, ||, !, and/or/not, +, string interpolation, local
  variables, regexp literals, String/Array/Hash methods (methods.py), `require` of dotenv/uri/json/
  yaml/erb, and the constants and modules of stdlib.py (RUBY_VERSION, File, Dotenv, URI, JSON).

Anything outside that subset is a ConfigError naming the construct, the file and the line, and saying
that with Ruby installed the template renders: never a silent misread.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from kamal_nb.ruby import interpreter
from kamal_nb.ruby.errors import ConfigError
from kamal_nb.ruby.evaluator import Evaluator, LocatedRubyError
from kamal_nb.ruby.lexer import INSERT_MARK, TEXT_MARK, LexError, tokenize
from kamal_nb.ruby.parser import ParseError, Parser

# Ruby's ERB::Compiler::ExplicitScanner regexes (stags/etags in the order Ruby lists them).
_TEXT_UNTIL_TAG = re.compile(r"(.*?)(^[ \t]*<%-|<%-|<%%|<%=|<%#|<%|\Z)", re.DOTALL | re.MULTILINE)
_CODE_UNTIL_END = re.compile(r"(.*?)(-%>|%%>|%>|\Z)", re.DOTALL)
_NEWLINE_AFTER_TRIM = re.compile(r"\r?\n|\Z")
_CR = object()  # ERB's :cr token: a newline in the generated script, none in the output


_INSTALL_RUBY = "install Ruby (a `ruby` on PATH) and kamal_nb renders the template with it"


def render(template: str, *, path: str, env: Mapping[str, str], cwd: str | None = None, use_ruby: bool = True) -> str:
    """The text `ERB.new(template, trim_mode: "-").result` produces.

    `path` names the file in errors. `env` is what ENV means inside the template (the caller sets
    KAMAL_DESTINATION in it, or leaves it out, before rendering, as Kamal does). Commands in
    backticks or %x() run through the shell in `cwd` with `env` as their environment.
    `use_ruby=False` forces the built-in renderer even where a `ruby` is available.
    """
    ruby = interpreter.find_ruby(env) if use_ruby else None
    if ruby is not None:
        try:
            return interpreter.render(ruby, template, path=path, env=env, cwd=cwd)
        except interpreter.RubyFailure as failure:
            message = f"{failure.message} ({failure.ruby_class})"
            raise ConfigError(message, path=path, line=failure.line or None, kamal_class=failure.ruby_class) from None
        except interpreter.MissingLibrary as missing:
            # A gem Kamal bundles (dotenv) that this Ruby lacks: the built-in renderer knows its rules;
            # if it cannot render the template either, Ruby's own complaint is the useful one.
            try:
                return render_builtin(template, path=path, env=env, cwd=cwd)
            except ConfigError:
                raise ConfigError(f"{missing} (LoadError)", path=path, kamal_class="LoadError") from None
    return render_builtin(template, path=path, env=env, cwd=cwd)


def render_builtin(template: str, *, path: str, env: Mapping[str, str], cwd: str | None = None) -> str:
    """The built-in renderer: ERB's compile step ported, the script run by the Ruby-subset evaluator."""
    for sentinel in (TEXT_MARK, INSERT_MARK):
        # The compiled script uses these two control characters as markers; YAML rejects them anyway.
        if sentinel in template:
            line = template.count("\n", 0, template.index(sentinel)) + 1
            raise ConfigError(f"control character {sentinel!r} in template", path=path, line=line)
    script, texts = compile_script(template)
    try:
        tokens = tokenize(script)
        program = Parser(tokens).parse_program()
    except (LexError, ParseError) as error:
        raise ConfigError(_with_hint(error.message), path=path, line=error.line, kamal_class="SyntaxError") from None
    evaluator = Evaluator(env=env, cwd=cwd, texts=texts)
    try:
        evaluator.run(program)
    except LocatedRubyError as located:
        if located.error.ruby_class == "NotImplementedError":
            message = _with_hint(located.error.message)
        else:
            message = f"{located.error.message} ({located.error.ruby_class})"
        ruby_class = located.error.ruby_class
        raise ConfigError(message, path=path, line=located.line, kamal_class=ruby_class) from None
    return "".join(evaluator.output)


def _with_hint(message: str) -> str:
    if message.startswith("unsupported"):
        return f"{message}: {_INSTALL_RUBY}"
    return message


def compile_script(template: str) -> tuple[str, list[str]]:
    """ERB's compile step: the Ruby script, with literal text replaced by sentinels into `texts`."""
    compiler = _Compiler()
    for token in _scan(template, compiler):
        compiler.feed(token)
    return compiler.finish()


def _scan(template: str, compiler: _Compiler) -> Iterator[object]:
    """Ruby's ExplicitScanner: yields text/tag tokens; reads compiler.in_tag to pick its regex."""
    position = 0
    while position < len(template):
        pattern = _CODE_UNTIL_END if compiler.in_tag else _TEXT_UNTIL_TAG
        match = pattern.match(template, position)
        assert match is not None  # both patterns can match the empty end of the text
        position = match.end()
        yield match.group(1)
        element = match.group(2)
        if not compiler.in_tag and element.endswith("<%-"):
            yield "<%"
        elif compiler.in_tag and element == "-%>":
            yield "%>"
            newline = _NEWLINE_AFTER_TRIM.match(template, position)
            if newline is not None:
                position = newline.end()
                yield _CR
        else:
            yield element


class _Compiler:
    """ERB::Compiler#compile with put/insert commands replaced by sentinels the lexer understands."""

    def __init__(self) -> None:
        self.stag: str | None = None
        self.content = ""
        self.line_pieces: list[str] = []
        self.script: list[str] = []
        self.texts: list[str] = []

    @property
    def in_tag(self) -> bool:
        return self.stag is not None

    def feed(self, token: object) -> None:
        if token == "" or token is None:
            return
        if self.stag is None:
            self.text_token(token)
        else:
            self.tag_token(token)

    def text_token(self, token: object) -> None:
        if token is _CR:
            self.newline()
        elif token in ("<%", "<%=", "<%#"):
            assert isinstance(token, str)
            self.stag = token
            self.flush_text()
        elif token == "<%%":
            self.content += "<%"
        else:
            assert isinstance(token, str)
            self.content += token

    def tag_token(self, token: object) -> None:
        if token == "%>":
            self.close_tag()
        elif token == "%%>":
            self.content += "%>"
        elif token is _CR:
            self.newline()
        else:
            assert isinstance(token, str)
            self.content += token

    def close_tag(self) -> None:
        content, self.content = self.content, ""
        if self.stag == "<%":
            if content.endswith("\n"):
                self.line_pieces.append(content[:-1])
                self.newline()
            else:
                self.line_pieces.append(content)
        elif self.stag == "<%=":
            self.line_pieces.append(f"{INSERT_MARK}(({content}).to_s)")
        else:  # "<%#": a comment keeps only its line count
            self.line_pieces.append("\n" * content.count("\n"))
        self.stag = None

    def flush_text(self) -> None:
        if self.content:
            self.add_text(self.content)
        self.content = ""

    def add_text(self, text: str) -> None:
        self.texts.append(text)
        # As in Ruby, the put command is followed by as many newlines as the text holds, so that
        # script lines stay template lines.
        self.line_pieces.append(f"{TEXT_MARK}{len(self.texts) - 1}{TEXT_MARK}" + "\n" * text.count("\n"))

    def newline(self) -> None:
        self.script.append("; ".join(self.line_pieces) + "\n")
        self.line_pieces = []

    def finish(self) -> tuple[str, list[str]]:
        # Ruby's compile ends with `add_put_cmd(content)` whatever state it is in: an unclosed tag's
        # code is output as text, as the real ERB does.
        if self.content:
            self.add_text(self.content)
        self.script.append("; ".join(self.line_pieces))
        return "".join(self.script), self.texts
