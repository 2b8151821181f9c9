"""The plain-text part of an HTML message: its words, with links written out."""

from __future__ import annotations

import re
from html import unescape

BLOCKS = frozenset(
    {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "hr", "ul", "ol"}
)
SKIPPED = frozenset({"style", "script", "head", "title"})


# One token of HTML: a start or end tag (attribute values may hold ">"), or a comment,
# declaration or processing instruction (skipped). Everything between tokens is text.
TOKEN = re.compile(
    r"<(/?)([a-zA-Z][a-zA-Z0-9:-]*)((?:\"[^\"]*\"|'[^']*'|[^'\">])*)>"
    r"|<!--.*?(?:-->|$)|<![^>]*>|<\?[^>]*>",
    re.DOTALL,
)
HREF = re.compile(r"""\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""", re.IGNORECASE)
RAW_TEXT = ("script", "style")  # their content is not HTML (html.parser's CDATA elements)
WHITESPACE = re.compile(r"\s+")


def html_to_text(html: str) -> str:
    """Readable plain text of ``html`` (paragraphs kept, links as "text (url)").

    A tokenizer of its own rather than :class:`html.parser.HTMLParser`: every message's
    text part is made from its HTML, and the standard parser is the slowest step of
    assembly. It reads what the parser reads on the sanitized HTML that messages have.
    """
    parts: list[str] = []
    skip = 0
    hrefs: list[str | None] = []
    position = 0
    while True:
        found = TOKEN.search(html, position)
        end = found.start() if found else len(html)
        if end > position and not skip:
            parts.append(WHITESPACE.sub(" ", unescape(html[position:end])))
        if found is None:
            break
        position = found.end()
        name = found.group(2)
        if name is None:
            continue  # a comment or a declaration
        tag = name.lower()
        if found.group(1):
            _end_tag(tag, parts, hrefs)
            skip = max(0, skip - 1) if tag in SKIPPED else skip
            continue
        attributes = found.group(3)
        if tag in SKIPPED:
            skip += 1
        elif tag in BLOCKS:
            parts.append("\n")
        if tag == "li":
            parts.append("- ")
        if tag == "a":
            href = HREF.search(attributes)
            hrefs.append(
                unescape(next(g for g in href.groups() if g is not None)) if href else None
            )
        if attributes.rstrip().endswith("/"):  # <br/>: a start and an end tag
            _end_tag(tag, parts, hrefs)
            skip = max(0, skip - 1) if tag in SKIPPED else skip
        elif tag in RAW_TEXT:
            close = re.compile(rf"</{tag}\s*>", re.IGNORECASE).search(html, position)
            position = close.start() if close else len(html)
    lines = (line.strip() for line in "".join(parts).splitlines())
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def _end_tag(tag: str, parts: list[str], hrefs: list[str | None]) -> None:
    if tag in BLOCKS and tag not in SKIPPED:
        parts.append("\n")
    if tag == "a" and hrefs:
        href = hrefs.pop()
        if href and href.startswith(("http://", "https://", "mailto:")):
            parts.append(f" ({href})")
