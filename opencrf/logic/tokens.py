"""The lexer: expression text → tokens (GRAMMAR.md §1)."""

from __future__ import annotations

import math
from typing import Literal, NamedTuple, TypeAlias

from opencrf.logic import errors

Kind: TypeAlias = Literal["number", "string", "word", "op", "bracket", "end"]

WHITESPACE = " \t\n\r\f\v\u00a0"
TWO_CHARACTER_OPERATORS = ("==", "<>", "!=", "<=", ">=", "&&", "||")
ONE_CHARACTER_OPERATORS = "+-*/^=<>(),"
ASCII_DIGITS = "0123456789"
ASCII_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
WORD_CHARACTERS = ASCII_LETTERS + ASCII_DIGITS + "_"


class Token(NamedTuple):
    kind: Kind
    text: str  # operator or word as written; string or bracket contents without delimiters
    pos: int
    end: int


def describe_character(character: str) -> str:
    """`` `а` (U+0430) `` for a visible character, `U+0000` for an invisible one."""
    code = f"U+{ord(character):04X}"
    if character.isprintable() and character not in WHITESPACE:
        return f"`{character}` ({code})"
    return code


class Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.at_line_start = True

    def tokens(self) -> list[Token]:
        found: list[Token] = []
        while True:
            self.skip_blanks_and_comments()
            if self.pos >= len(self.text):
                found.append(Token("end", "", self.pos, self.pos))
                return found
            found.append(self.next_token())
            self.at_line_start = False

    def skip_blanks_and_comments(self) -> None:
        text = self.text
        while self.pos < len(text):
            character = text[self.pos]
            if character in WHITESPACE:
                self.at_line_start = self.at_line_start or character == "\n"
                self.pos += 1
            elif self.at_line_start and text.startswith(("#", "//"), self.pos):
                end = text.find("\n", self.pos)
                self.pos = len(text) if end < 0 else end
            else:
                return

    def next_token(self) -> Token:
        character = self.text[self.pos]
        if character in ASCII_DIGITS or (character == "." and self.peek_digit(1)):
            return self.number()
        if character in "'\"":
            return self.string(character)
        if character in ASCII_LETTERS:
            return self.word()
        if character == "[":
            return self.bracket()
        return self.operator()

    def peek_digit(self, ahead: int) -> bool:
        index = self.pos + ahead
        return index < len(self.text) and self.text[index] in ASCII_DIGITS

    def take_while(self, allowed: str) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in allowed:
            self.pos += 1

    def number(self) -> Token:
        start = self.pos
        self.take_while(ASCII_DIGITS)
        if self.text.startswith(".", self.pos) and self.peek_digit(1):
            self.pos += 1
            self.take_while(ASCII_DIGITS)
        literal = self.text[start : self.pos]
        if math.isinf(float(literal)):
            raise errors.syntax_error(self.text, start, errors.NUMBER_TOO_LARGE)
        return Token("number", literal, start, self.pos)

    def string(self, quote: str) -> Token:
        start = self.pos
        end = self.text.find(quote, start + 1)
        if end < 0:
            raise errors.syntax_error(self.text, start, errors.UNTERMINATED_STRING)
        self.pos = end + 1
        return Token("string", self.text[start + 1 : end], start, self.pos)

    def word(self) -> Token:
        start = self.pos
        self.take_while(WORD_CHARACTERS)
        return Token("word", self.text[start : self.pos], start, self.pos)

    def bracket(self) -> Token:
        start = self.pos
        index = start + 1
        while index < len(self.text) and self.text[index] not in "[]\n":
            index += 1
        if index >= len(self.text) or self.text[index] != "]":
            raise errors.syntax_error(self.text, start, errors.UNCLOSED_BRACKET)
        self.pos = index + 1
        return Token("bracket", self.text[start + 1 : index], start, self.pos)

    def operator(self) -> Token:
        start = self.pos
        pair = self.text[start : start + 2]
        if pair in TWO_CHARACTER_OPERATORS:
            self.pos += 2
            return Token("op", pair, start, self.pos)
        character = self.text[start]
        if character in ONE_CHARACTER_OPERATORS:
            self.pos += 1
            return Token("op", character, start, self.pos)
        described = describe_character(character)
        raise errors.syntax_error(
            self.text, start, errors.UNEXPECTED_CHARACTER, character=described
        )


def tokenize(text: str) -> list[Token]:
    """The tokens of `text`, ending with an `end` token; raises LogicSyntaxError."""
    return Lexer(text).tokens()
