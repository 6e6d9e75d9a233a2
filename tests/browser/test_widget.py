"""The chat widget in headless Chromium against the real server: streaming, citations, XSS, CSS, IME, focus."""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, Request, Response, expect

pytestmark = pytest.mark.browser

ANSWER_TIMEOUT_MS = 90_000  # a first answer on a busy 2-core machine takes ~10 s; leave room


def _answer_event(sse_body: str) -> dict[str, Any]:
    """The authoritative `answer` event of an SSE body, as the widget received it."""
    for block in re.split(r"\r?\n\r?\n", sse_body):
        lines = block.splitlines()
        if "event: answer" in lines:
            data = "\n".join(line[len("data: ") :] for line in lines if line.startswith("data: "))
            parsed: dict[str, Any] = json.loads(data)
            return parsed
    raise AssertionError(f"no answer event in the stream: {sse_body[:500]!r}")


def _host_page(page: Page, server_url: str, path: str, html: str) -> str:
    """Serve a test page at the server's own origin (same-origin, like a real embedding with CORS set up)."""
    url = f"{server_url}{path}"
    page.route(url, lambda route: route.fulfill(status=200, content_type="text/html; charset=utf-8", body=html))
    return url


def _ask(page: Page, question: str) -> Response:
    """Type a question into the widget, press Enter, wait until the widget has finished with the answer."""
    box = page.locator("[data-qa-widget] textarea")
    box.fill(question)
    with page.expect_response(
        lambda r: r.url.endswith("/v1/ask") and r.request.method == "POST", timeout=ANSWER_TIMEOUT_MS
    ) as info:
        box.press("Enter")
    response = info.value
    assert response.status == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    expect(page.locator("[data-qa-widget] .log")).to_have_attribute("aria-busy", "false", timeout=ANSWER_TIMEOUT_MS)
    return response


# Keeps a copy of every /v1/ask reply body as the page's fetch() delivered it: the stream the widget read.
_KEEP_ASK_STREAMS = """
(() => {
  const original = window.fetch;
  const kept = [];
  Object.defineProperty(window, "__askStreams", { value: kept });
  window.fetch = async (...args) => {
    const response = await original(...args);
    const url = String((args[0] && args[0].url) || args[0]);
    if (url.endsWith("/v1/ask")) kept.push(response.clone().text());
    return response;
  };
})();
"""


def _received_answer(page: Page) -> dict[str, Any]:
    """The answer event of the last /v1/ask stream the page received (needs `_KEEP_ASK_STREAMS`)."""
    bodies: list[str] = page.evaluate("() => Promise.all(window.__askStreams)")
    assert bodies, "the widget sent no /v1/ask request"
    return _answer_event(bodies[-1])


def _expect_rendered(bot: Any, answer: dict[str, Any]) -> None:
    """The widget shows exactly the answer it received: its text, each citation marker as a chip (the chip's
    label is the ref). A stream the widget failed to read shows an error or partial text, and fails here."""
    refs = {c["ref"] for c in answer["citations"]}
    expected = re.sub(r"\[(\d+)\]", lambda m: m.group(1) if int(m.group(1)) in refs else m.group(0), answer["answer"])
    shown = bot.locator(".answer").evaluate(
        "el => Array.from(el.childNodes).filter(n => !(n.classList && n.classList.contains('sr-only')))"
        ".map(n => n.textContent).join('')"
    )
    assert shown == expected


def _last_bot(page: Page) -> Any:
    return page.locator("[data-qa-widget] .msg.bot:not(.greeting)").last


def test_streamed_answer_with_citation_chips_and_highlighted_source(
    page: Page, server_url: str, screenshots: Path
) -> None:
    page.add_init_script(_KEEP_ASK_STREAMS)
    page.goto(f"{server_url}/")
    expect(page).to_have_title(re.compile("文档问答"))
    page.locator("[data-qa-widget] button.launcher").click()
    expect(page.locator("[data-qa-widget] textarea")).to_be_focused()

    question = "房寺镇下放了多少项权力?"
    _ask(page, question)
    answer = _received_answer(page)
    assert answer["found"] is True and answer["citations"]

    bot = _last_bot(page)
    text = bot.locator(".answer")
    expect(text).to_contain_text("64", timeout=ANSWER_TIMEOUT_MS)
    expect(text).to_contain_text("413")
    _expect_rendered(bot, answer)
    expect(page.locator("[data-qa-widget] .log")).to_have_attribute("aria-busy", "false")
    chips = text.locator("button.chip")
    expect(chips.first).to_be_visible()
    refs = {c["ref"]: c for c in answer["citations"]}
    assert chips.count() == len(re.findall(r"\[\d+\]", answer["answer"]))
    # The chip's label names the source for screen readers (the page's locale is zh-CN).
    first = chips.first
    ref = int(first.get_attribute("data-ref") or "0")
    expect(first).to_have_attribute("aria-label", f"来源 {ref}")
    expect(first).to_have_attribute("aria-expanded", "false")
    # Markers become buttons, not literal "[1]" text.
    assert f"[{ref}]" not in text.evaluate(
        "el => Array.from(el.childNodes).filter(n => n.nodeType === 3).map(n => n.textContent).join('')"
    )

    with page.expect_response(lambda r: "/documents/" in r.url) as doc_info:
        first.click()
    assert doc_info.value.status == 200
    citation = refs[ref]
    card = bot.locator(".card")
    mark = card.locator("mark")
    expect(mark).to_have_text(citation["text"])
    expect(first).to_have_attribute("aria-expanded", "true")
    expect(card.locator(".card-title")).to_contain_text(citation["title"])
    expect(card.locator(".card-source")).to_have_text(citation["source"])
    # The span sits inside its surrounding passage, taken from the stored document around [start:end].
    passage = card.locator(".passage").inner_text()
    document = doc_info.value.json()["text"]
    before, _, after = passage.partition(citation["text"])
    assert before.lstrip("…") and document[: citation["start"]].endswith(before.lstrip("…"))
    assert after.rstrip("…") == "" or document[citation["end"] :].startswith(after.rstrip("…"))
    page.screenshot(path=str(screenshots / "widget_answer_source.png"))

    # Clicking the same chip again hides the source; the clear button empties the conversation.
    first.click()
    expect(card).to_be_hidden()
    page.locator("[data-qa-widget] button.clear").click()
    expect(page.locator("[data-qa-widget] .msg.user")).to_have_count(0)
    expect(page.locator("[data-qa-widget] textarea")).to_be_focused()


def test_markup_in_documents_is_shown_as_text(page: Page, server_url: str, screenshots: Path) -> None:
    collection = "widget-xss"
    payload = {
        "title": "<b>青石镇</b>图书馆开放时间",
        "text": (
            "青石镇图书馆开放时间公告。青石镇图书馆每周开放六天，周一闭馆。"
            "<script>window.__pwned=1</script> 借书请带好读者证"
            '<img src=x onerror="window.__pwned=2">。馆内提供免费无线网络。'
        ),
    }
    upload = urllib.request.Request(
        f"{server_url}/v1/collections/{collection}/documents",
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(upload, timeout=120) as response:
        assert response.status == 201

    url = _host_page(
        page,
        server_url,
        "/__test/xss.html",
        f'<!doctype html><html><head><meta charset="utf-8"><title>xss</title></head><body><p>host</p>'
        f'<script src="/widget.js" data-collection="{collection}" data-lang="zh"></script></body></html>',
    )
    page.goto(url)
    page.locator("[data-qa-widget] button.launcher").click()
    _ask(page, "借书要带什么？")
    bot = _last_bot(page)
    expect(bot).not_to_have_class(re.compile("refusal|error"))
    expect(bot.locator(".answer")).to_contain_text("<script>window.__pwned=1</script>", timeout=ANSWER_TIMEOUT_MS)
    expect(bot.locator(".answer")).to_contain_text('onerror="window.__pwned=2"')
    # the answer may quote the document's other sentences too: open the citation of the one with the markup
    card = bot.locator(".card")
    chips = bot.locator("button.chip")
    for i in range(chips.count()):
        chips.nth(i).click()
        expect(card).to_be_visible()
        if "<img src=x" in card.locator("mark").inner_text():
            break
    expect(card.locator("mark")).to_contain_text("<img src=x")
    expect(card.locator(".card-title")).to_contain_text("<b>青石镇</b>")
    expect(card.locator(".passage")).to_contain_text("<script>")
    page.screenshot(path=str(screenshots / "widget_xss_as_text.png"))

    assert page.evaluate("() => window.__pwned") is None
    in_shadow = page.evaluate(
        "() => { const r = document.querySelector('[data-qa-widget]').shadowRoot;"
        " return r.querySelectorAll('script, img, b').length; }"
    )
    assert in_shadow == 0


AGGRESSIVE_CSS = """
* { all: unset; color: red !important; font-size: 40px !important; display: inline !important;
    line-height: 3 !important; font-family: "Comic Sans MS", cursive !important; letter-spacing: 6px !important;
    visibility: visible !important; box-sizing: content-box !important; }
div, section, button, textarea, mark, span { border: 5px dashed lime !important; padding: 30px !important;
    margin: 20px !important; background: yellow !important; width: 10px !important; height: 10px !important;
    opacity: 0.5 !important; text-transform: uppercase !important; }
body { direction: rtl !important; text-align: right !important; }
button { display: none !important; }
"""


def test_survives_aggressive_page_css(page: Page, server_url: str, screenshots: Path) -> None:
    url = _host_page(
        page,
        server_url,
        "/__test/hostile.html",
        "<!doctype html><html><head><meta charset='utf-8'><title>hostile</title>"
        f"<style>{AGGRESSIVE_CSS}</style></head><body><div>host page text</div>"
        '<script src="/widget.js" data-collection="default" data-lang="en" data-color="#0a7d45"'
        ' data-title="Seed documents"></script></body></html>',
    )
    page.goto(url)
    launcher = page.locator("[data-qa-widget] button.launcher")
    expect(launcher).to_be_visible()
    box = launcher.bounding_box()
    assert box is not None and 50 <= box["width"] <= 64 and 50 <= box["height"] <= 64
    page.screenshot(path=str(screenshots / "widget_hostile_closed.png"))

    launcher.click()
    panel = page.locator("[data-qa-widget] .panel")
    expect(panel).to_be_visible()
    expect(page.locator("[data-qa-widget] h2")).to_have_text("Seed documents")
    _ask(page, "How many power items were delegated to Fangsi town (房寺镇)?")
    bot = _last_bot(page)
    expect(bot.locator(".answer")).not_to_have_class(re.compile("thinking"), timeout=ANSWER_TIMEOUT_MS)
    # The panel fades in; a fast answer can arrive before the fade ends, so styles are read once it has.
    page.evaluate(
        """async () => {
          const panel = document.querySelector('[data-qa-widget]').shadowRoot.querySelector('.panel');
          await Promise.all(panel.getAnimations().map((a) => a.finished));
        }"""
    )

    styles = page.evaluate(
        """() => {
          const root = document.querySelector('[data-qa-widget]').shadowRoot;
          const pick = (sel) => {
            const el = root.querySelector(sel);
            const s = getComputedStyle(el);
            const r = el.getBoundingClientRect();
            return {color: s.color, fontSize: s.fontSize, display: s.display, fontFamily: s.fontFamily,
                    letterSpacing: s.letterSpacing, opacity: s.opacity, transform: s.textTransform,
                    width: r.width, height: r.height, right: r.right, bottom: r.bottom};
          };
          return {panel: pick('.panel'), answer: pick('.msg.bot:not(.greeting) .answer'),
                  input: pick('textarea'), send: pick('button.send'), title: pick('h2'),
                  launcher: pick('button.launcher'),
                  header: getComputedStyle(root.querySelector('.header')).backgroundColor,
                  viewport: {w: innerWidth, h: innerHeight}};
        }"""
    )
    answer = styles["answer"]
    assert answer["color"] != "rgb(255, 0, 0)"
    assert 12 <= float(answer["fontSize"].removesuffix("px")) <= 18
    assert "Comic" not in answer["fontFamily"]
    assert answer["letterSpacing"] in ("normal", "0px")
    assert answer["transform"] == "none"
    assert styles["panel"]["display"] == "flex"
    assert styles["panel"]["opacity"] == "1"
    assert 300 <= styles["panel"]["width"] <= 420 and 300 <= styles["panel"]["height"] <= 640
    # The panel sits inside the viewport, anchored bottom-right despite the page's rtl.
    assert styles["panel"]["right"] <= styles["viewport"]["w"] and styles["panel"]["bottom"] <= styles["viewport"]["h"]
    assert styles["viewport"]["w"] - styles["panel"]["right"] < 40
    assert 14 <= float(styles["input"]["fontSize"].removesuffix("px")) <= 16
    assert styles["send"]["display"] == "flex" and styles["send"]["width"] == 40
    assert styles["header"] == "rgb(10, 125, 69)"  # data-color applied
    page.screenshot(path=str(screenshots / "widget_hostile_open.png"))


def test_ime_composition_does_not_send_and_shift_enter_adds_newline(page: Page, server_url: str) -> None:
    asked: list[Request] = []
    page.on("request", lambda r: asked.append(r) if r.url.endswith("/v1/ask") else None)
    page.goto(f"{server_url}/")
    page.locator("[data-qa-widget] button.launcher").click()
    box = page.locator("[data-qa-widget] textarea")
    expect(box).to_be_focused()

    box.fill("房寺镇")
    # The Enter that confirms an IME candidate: isComposing (Chrome, Firefox) or keyCode 229 (Safari).
    prevented = box.evaluate(
        """(el) => [
          {key: 'Enter', code: 'Enter', isComposing: true},
          {key: 'Enter', code: 'Enter', keyCode: 229},
        ].map((init) => {
          const ev = new KeyboardEvent('keydown', {bubbles: true, cancelable: true, composed: true, ...init});
          if (init.keyCode) Object.defineProperty(ev, 'keyCode', {get: () => init.keyCode});
          return !el.dispatchEvent(ev);
        })"""
    )
    assert prevented == [False, False]
    # A composition session in progress (compositionstart without compositionend) also holds Enter back.
    box.evaluate("(el) => el.dispatchEvent(new CompositionEvent('compositionstart', {data: ''}))")
    box.press("Enter")
    box.evaluate("(el) => el.dispatchEvent(new CompositionEvent('compositionend', {data: '房寺镇'}))")
    page.wait_for_timeout(300)
    expect(page.locator("[data-qa-widget] .msg.user")).to_have_count(0)
    assert asked == []

    # (That Enter was a real key press, so it typed a newline; a real IME would have consumed it.)
    box.fill("房寺镇")
    box.press("End")
    box.press("Shift+Enter")
    box.type("下放了多少项权力?")
    expect(box).to_have_value("房寺镇\n下放了多少项权力?")
    page.wait_for_timeout(200)
    expect(page.locator("[data-qa-widget] .msg.user")).to_have_count(0)
    assert asked == []

    # Plain Enter does send, and the question keeps its newline.
    box.press("Enter")
    expect(page.locator("[data-qa-widget] .msg.user")).to_have_text(re.compile("房寺镇\n下放了多少项权力"))
    expect(box).to_have_value("")
    assert len(asked) == 1
    assert json.loads(asked[0].post_data or "{}") == {
        "question": "房寺镇\n下放了多少项权力?",
        "collection": "default",
        "stream": True,
    }


def test_escape_closes_and_focus_returns_to_launcher(page: Page, server_url: str) -> None:
    page.goto(f"{server_url}/")
    launcher = page.locator("[data-qa-widget] button.launcher")
    expect(launcher).to_have_attribute("aria-expanded", "false")
    launcher.focus()
    page.keyboard.press("Enter")  # keyboard alone opens it
    panel = page.locator("[data-qa-widget] .panel")
    expect(panel).to_be_visible()
    expect(panel).to_have_attribute("role", "dialog")
    expect(launcher).to_have_attribute("aria-expanded", "true")
    expect(page.locator("[data-qa-widget] textarea")).to_be_focused()
    expect(page.locator("[data-qa-widget] .log")).to_have_attribute("aria-live", "polite")

    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(launcher).to_be_focused()
    expect(launcher).to_have_attribute("aria-expanded", "false")

    # The close button does the same; the programmatic API opens it too.
    page.evaluate("() => window.QAWidget.open()")
    expect(panel).to_be_visible()
    page.locator("[data-qa-widget] button.close").click()
    expect(panel).to_be_hidden()
    expect(launcher).to_be_focused()
    globals_added = page.evaluate("() => Object.keys(window).filter((k) => /qa|widget/i.test(k))")
    assert globals_added == ["QAWidget"]


def _error_after_asking(page: Page, server_url: str, name: str, attributes: str, question: str) -> Locator:
    """The error message of a Chinese widget with `attributes`, on a page of its own, after asking `question`."""
    url = _host_page(
        page,
        server_url,
        f"/__test/{name}.html",
        f'<!doctype html><html><head><meta charset="utf-8"><title>{name}</title></head><body>'
        f'<script src="/widget.js" {attributes} data-lang="zh"></script></body></html>',
    )
    page.goto(url)
    page.locator("[data-qa-widget] button.launcher").click()
    box = page.locator("[data-qa-widget] textarea")
    box.fill(question)
    box.press("Enter")
    return page.locator("[data-qa-widget] .msg.error")


def test_refusals_and_errors_read_as_sentences(page: Page, server_url: str, screenshots: Path) -> None:
    page.set_viewport_size({"width": 390, "height": 760})  # a phone: the panel takes the whole screen
    missing = 'data-collection="no-such-collection"'
    error = _error_after_asking(page, server_url, "missing", missing, "这个集合里有什么？")
    expect(error).to_have_attribute("role", "alert")
    expect(error).to_contain_text("找不到要查询的文档集合")
    expect(error.locator("button.retry")).to_be_visible()
    assert "{" not in error.inner_text()
    panel = page.locator("[data-qa-widget] .panel").bounding_box()
    # full screen; sub-pixel differences come from the opening transition's last frame
    assert (
        panel is not None
        and panel["width"] == pytest.approx(390, abs=1)
        and panel["height"] == pytest.approx(760, abs=1)
    )
    page.screenshot(path=str(screenshots / "widget_error_mobile.png"))

    # A service that cannot be reached: a sentence and a retry button, no stray "null" where no detail is shown.
    down = _error_after_asking(page, server_url, "unreachable", 'data-endpoint="http://127.0.0.1:9"', "服务在吗？")
    expect(down.locator("button.retry")).to_be_visible()
    assert "null" not in down.inner_text(), down.inner_text()

    # A question the collection cannot answer: a plain sentence, marked as a refusal, no citation chips.
    page.goto(f"{server_url}/")
    page.locator("[data-qa-widget] button.launcher").click()
    _ask(page, "火星上的第一座城市叫什么名字？")
    bot = _last_bot(page)
    expect(bot).to_have_class(re.compile("refusal"))
    assert "{" not in bot.inner_text()
    expect(bot.locator("button.chip")).to_have_count(0)


def test_public_key_asks_and_falls_back_to_the_cited_excerpt(
    page: Page, keyed_server_url: str, service_keys: dict[str, str], screenshots: Path
) -> None:
    public_key = service_keys["public"]

    def host(key_attr: str) -> str:
        return (
            '<!doctype html><html><head><meta charset="utf-8"><title>keyed</title></head><body>'
            f'<script src="/widget.js" data-collection="default" data-lang="zh" {key_attr}></script></body></html>'
        )

    # Without a key the service refuses, and the widget says so in words.
    page.goto(_host_page(page, keyed_server_url, "/__test/nokey.html", host("")))
    page.locator("[data-qa-widget] button.launcher").click()
    box = page.locator("[data-qa-widget] textarea")
    box.fill("房寺镇下放了多少项权力?")
    box.press("Enter")
    expect(page.locator("[data-qa-widget] .msg.error")).to_contain_text("需要有效的访问密钥")

    # With the page's public key: asking works; reading the whole document is refused (403), so the card shows
    # the cited excerpt from the answer itself.
    page.add_init_script(_KEEP_ASK_STREAMS)
    page.goto(_host_page(page, keyed_server_url, "/__test/publickey.html", host(f'data-key="{public_key}"')))
    # Another page of the same site in the same tab: the widget comes back open, as it was left.
    expect(page.locator("[data-qa-widget] .panel")).to_be_visible()
    question = "房寺镇下放了多少项权力?"
    response = _ask(page, question)
    assert response.request.headers["authorization"] == f"Bearer {public_key}"
    answer = _received_answer(page)
    bot = _last_bot(page)
    expect(bot.locator(".answer")).to_contain_text("64")
    _expect_rendered(bot, answer)
    chip = bot.locator("button.chip").first
    citation = {c["ref"]: c for c in answer["citations"]}[int(chip.get_attribute("data-ref") or "0")]
    with page.expect_response(lambda r: "/documents/" in r.url) as doc_info:
        chip.click()
    assert doc_info.value.status == 403
    card = bot.locator(".card")
    expect(card.locator("mark")).to_have_text(citation["text"])
    expect(card.locator(".passage")).to_have_text(citation["text"])
    expect(card.locator(".note")).to_contain_text("仅显示引用片段")
    expect(card.locator(".card-title")).to_contain_text(citation["title"])
    page.screenshot(path=str(screenshots / "widget_public_key_excerpt.png"))


def test_a_follow_up_is_answered_in_context_and_the_conversation_survives_a_reload(
    page: Page, server_url: str, screenshots: Path
) -> None:
    page.add_init_script(_KEEP_ASK_STREAMS)
    page.goto(f"{server_url}/")
    page.locator("[data-qa-widget] button.launcher").click()
    headline = "房寺镇下放了多少项权力?"
    first = _ask(page, headline)
    assert "history" not in json.loads(first.request.post_data or "{}")
    first_answer = _received_answer(page)

    second = _ask(page, "那执法权限呢?")
    sent = json.loads(second.request.post_data or "{}")
    assert sent["history"] == [
        {"role": "user", "content": headline},
        {"role": "assistant", "content": first_answer["answer"]},
    ]
    answer = _received_answer(page)
    cited = [c for c in answer["citations"] if "413项执法权" in c["text"]]
    assert cited, answer
    bot = _last_bot(page)
    expect(bot.locator(".answer")).to_contain_text("413")
    _expect_rendered(bot, answer)
    # the question the service searched for is shown, because it differs from the one typed
    assert answer["question"] != "那执法权限呢?"
    expect(bot.locator(".standalone")).to_have_text(f"按此问题检索：{answer['question']}")
    chip = bot.locator(f'button.chip[data-ref="{cited[0]["ref"]}"]').first
    chip.click()
    expect(bot.locator(".card mark")).to_have_text(cited[0]["text"])
    page.screenshot(path=str(screenshots / "widget_follow_up.png"))

    # A reload keeps the conversation: the panel, both turns, the answers with their chips and the rewrite.
    page.reload()
    expect(page.locator("[data-qa-widget] .panel")).to_be_visible()
    expect(page.locator("[data-qa-widget] .msg.user")).to_have_count(2)
    restored = _last_bot(page)
    expect(restored.locator(".answer")).to_contain_text("413")
    _expect_rendered(restored, answer)
    expect(restored.locator(".standalone")).to_have_text(f"按此问题检索：{answer['question']}")
    # ... and the next question still carries it
    third = _ask(page, "来自多少个执法部门?")
    assert [m["content"] for m in json.loads(third.request.post_data or "{}")["history"][::2]] == [
        headline,
        "那执法权限呢?",
    ]
    page.screenshot(path=str(screenshots / "widget_follow_up_reloaded.png"))

    # "New conversation" empties it, also for the next reload, and the next question goes without history.
    page.locator("[data-qa-widget] button.clear").click()
    expect(page.locator("[data-qa-widget] .msg.user")).to_have_count(0)
    page.reload()
    expect(page.locator("[data-qa-widget] .panel")).to_be_visible()
    expect(page.locator("[data-qa-widget] .msg.user")).to_have_count(0)
    fresh = _ask(page, headline)
    assert "history" not in json.loads(fresh.request.post_data or "{}")


def test_the_api_docs_render_with_no_network_but_the_service(page: Page, server_url: str) -> None:
    """Swagger UI's script and style come from the service: the page renders where no CDN is reachable (the page
    fixture lets only 127.0.0.1 through)."""
    page.goto(f"{server_url}/docs")
    expect(page.locator(".opblock").first).to_be_visible(timeout=30_000)
    assert page.locator(".opblock").count() > 5
