"""The rendering sandbox: Mustache as specified, limits that fail one message and leave the
sandbox working, and HTML sanitising for email."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from delivery.rendering import (
    RenderLimitExceeded,
    RenderLimits,
    RenderSandbox,
    TemplateError,
    render,
    sanitize_html,
)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RenderSandbox]:
    limits = RenderLimits(cpu_seconds=2.0, memory_bytes=400 * 2**20, wall_seconds=20.0)
    with RenderSandbox(limits, workers=1) as box:
        yield box


@pytest.mark.parametrize(
    ("template", "context", "expected"),
    [
        ("Hi {{name}}!", {"name": "Ada"}, "Hi Ada!"),
        (
            "{{html}}|{{{html}}}|{{&html}}",
            {"html": "<b>&\"'"},
            "&lt;b&gt;&amp;&quot;'|<b>&\"'|<b>&\"'",
        ),
        ("{{missing}}.", {}, "."),
        ("{{a.b.c}}", {"a": {"b": {"c": 7}}}, "7"),
        ("{{#items}}<{{.}}>{{/items}}", {"items": [1, 2, 3]}, "<1><2><3>"),
        ("{{#user}}{{name}}{{/user}}", {"user": {"name": "Grace"}}, "Grace"),
        ("{{#on}}yes{{/on}}{{^on}}no{{/on}}", {"on": False}, "no"),
        ("{{^items}}empty{{/items}}", {"items": []}, "empty"),
        ("a{{! a comment }}b", {}, "ab"),
        ("{{=<% %>=}}<% name %> {{name}}", {"name": "x"}, "x {{name}}"),
    ],
    ids=[
        "variable",
        "escaping",
        "missing",
        "dotted",
        "list-section",
        "object-section",
        "inverted-false",
        "inverted-empty",
        "comment",
        "set-delimiters",
    ],
)
def test_mustache_renders_as_specified(
    sandbox: RenderSandbox, template: str, context: dict, expected: str
) -> None:
    assert sandbox.render(template, context) == expected


def test_partials_come_only_from_the_given_mapping(sandbox: RenderSandbox) -> None:
    partials = {"greeting": "Hello {{name}}"}
    assert sandbox.render("{{> greeting}}!", {"name": "Lin"}, partials) == "Hello Lin!"
    assert sandbox.render("[{{> /etc/passwd}}]", {}, partials) == "[]"  # never the disk


def test_the_module_level_render_uses_a_sandbox() -> None:
    assert render("{{#xs}}{{.}},{{/xs}}", {"xs": ["a", "b"]}) == "a,b,"


@pytest.mark.parametrize(
    ("template", "context", "partials", "message"),
    [
        ("{{#open}}never closed", {}, None, "invalid template"),
        ("{{greet}}", {"greet": lambda text: text}, None, "not function"),
        ("{{> loop}}", {}, {"loop": "x{{> loop}}"}, "include themselves"),
        (b"bytes", {}, None, "must be text"),
    ],
    ids=["unclosed-section", "lambda", "recursive-partial", "not-text"],
)
def test_bad_templates_fail_with_a_template_error(
    sandbox: RenderSandbox, template: object, context: dict, partials: dict | None, message: str
) -> None:
    with pytest.raises(TemplateError, match=message):
        sandbox.render(template, context, partials)  # type: ignore[arg-type]


def _bomb(depth: int, fanout: int) -> tuple[str, dict]:
    template = "".join("{{#x}}" for _ in range(depth)) + "{{y}}" + "{{/x}}" * depth
    return template, {"x": list(range(fanout)), "y": "boom " * 20}


def test_an_output_bomb_hits_the_size_cap_and_the_next_render_works() -> None:
    template, context = _bomb(depth=2, fanout=300)  # 90,000 copies of 100 characters
    with RenderSandbox(RenderLimits(max_output_chars=1_000_000), workers=1) as box:
        with pytest.raises(RenderLimitExceeded, match="output size") as caught:
            box.render(template, context)
        assert caught.value.limit == "output size"
        assert box.render("{{ok}}", {"ok": "fine"}) == "fine"


def test_a_cpu_bomb_fails_its_render_only(sandbox: RenderSandbox) -> None:
    template, context = _bomb(depth=6, fanout=40)  # 4 billion iterations
    with pytest.raises(RenderLimitExceeded) as caught:
        sandbox.render(template, context)
    assert caught.value.limit in {"CPU-time", "memory"}
    assert sandbox.render("still {{up}}", {"up": "up"}) == "still up"


def test_a_render_past_the_wall_clock_limit_is_killed_and_the_pool_rebuilt() -> None:
    template, context = _bomb(depth=6, fanout=40)
    limits = RenderLimits(cpu_seconds=60.0, wall_seconds=1.5)
    with RenderSandbox(limits, workers=1) as box:
        with pytest.raises(RenderLimitExceeded, match="wall-clock"):
            box.render(template, context)
        assert box.render("{{n}}", {"n": 1}) == "1"


def test_sanitize_html_removes_everything_executable() -> None:
    dirty = (
        '<table cellpadding="4"><tr><td style="color: red; position: fixed">Hi</td></tr></table>'
        "<script>alert(1)</script>"
        '<a href="javascript:alert(1)" onclick="steal()">x</a>'
        '<a href="https://example.com/offer">offer</a>'
        '<img src="data:image/png;base64,AAAA" onerror="steal()">'
        '<img src="https://cdn.example.com/a.png" alt="a">'
        '<iframe src="https://evil.example"></iframe><form action="/x"><input></form>'
        '<p style="background-image: url(javascript:alert(1))">p</p><!-- hidden -->'
    )
    clean = sanitize_html(dirty)
    for bad in (
        "script",
        "alert",
        "onclick",
        "onerror",
        "javascript",
        "data:",
        "iframe",
        "form",
        "input",
        "position",
        "background-image",
        "hidden",
    ):
        assert bad not in clean, bad
    assert '<td style="color:red">Hi</td>' in clean
    assert 'cellpadding="4"' in clean
    assert '<a href="https://example.com/offer" rel="noopener noreferrer">offer</a>' in clean
    assert '<img src="https://cdn.example.com/a.png" alt="a">' in clean


def test_a_warmed_up_sandbox_has_its_processes_running_before_the_first_render() -> None:
    with RenderSandbox(workers=2) as sandbox:
        sandbox.warm_up()
        pool = sandbox._pool
        assert pool is not None and len(pool._processes) == 2  # type: ignore[attr-defined]
        assert sandbox.render("Hi {{name}}", {"name": "Ada"}) == "Hi Ada"
