"""HTML that is safe to send: nh3 (ammonia) with an allow-list fit for email.

Kept: the structural and text tags email clients render (tables included), inline
``style`` limited to presentational properties, images and links with http(s) (and mailto
for links) URLs. Removed: scripts and their content, event-handler attributes, forms,
frames, objects, ``javascript:``/``data:``/``vbscript:`` URLs and anything else not listed.
"""

from __future__ import annotations

import nh3

EMAIL_TAGS = frozenset({*nh3.ALLOWED_TAGS, "font"})
EMAIL_ATTRIBUTES: dict[str, set[str]] = {
    "*": {"style", "align", "valign", "dir", "lang", "title", "width", "height", "class", "id"},
    "a": {"href", "target", "name"},
    "img": {"src", "alt", "border"},
    "table": {"border", "cellpadding", "cellspacing", "bgcolor", "role"},
    "td": {"colspan", "rowspan", "bgcolor", "nowrap"},
    "th": {"colspan", "rowspan", "bgcolor", "scope"},
    "tr": {"bgcolor"},
    "font": {"color", "face", "size"},
    "col": {"span"},
    "colgroup": {"span"},
}
STYLE_PROPERTIES = frozenset(
    {
        "background-color",
        "border",
        "border-bottom",
        "border-collapse",
        "border-color",
        "border-left",
        "border-radius",
        "border-right",
        "border-spacing",
        "border-style",
        "border-top",
        "border-width",
        "color",
        "display",
        "font",
        "font-family",
        "font-size",
        "font-style",
        "font-weight",
        "height",
        "letter-spacing",
        "line-height",
        "margin",
        "margin-bottom",
        "margin-left",
        "margin-right",
        "margin-top",
        "max-width",
        "min-width",
        "padding",
        "padding-bottom",
        "padding-left",
        "padding-right",
        "padding-top",
        "text-align",
        "text-decoration",
        "text-transform",
        "vertical-align",
        "white-space",
        "width",
        "word-break",
    }
)
URL_SCHEMES = frozenset({"http", "https", "mailto"})
DROPPED_WITH_CONTENT = frozenset({"script", "style", "iframe", "object", "embed", "noscript"})


def sanitize_html(html: str) -> str:
    """``html`` with everything executable removed (see the module docstring)."""
    return nh3.clean(
        html,
        tags=set(EMAIL_TAGS),
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in EMAIL_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        filter_style_properties=set(STYLE_PROPERTIES),
        link_rel="noopener noreferrer",
        strip_comments=True,
    )
