/*
 * qa chat widget — one script tag, no build step:
 *
 *   <script src="https://host/widget.js" data-collection="default"></script>
 *
 * Optional attributes: data-title, data-color (any CSS colour), data-lang ("zh" | "en"; default from
 * navigator.language), data-position ("bottom-right" | "bottom-left"), data-key (a *public* key, sent as
 * "Authorization: Bearer"), data-endpoint (default: the origin this script was loaded from).
 *
 * Safe by construction: every piece of server data (answers, titles, document text) reaches the page only
 * through textContent / createTextNode / setAttribute on fixed attribute names — never through innerHTML —
 * so a document that contains markup is shown as text. The widget never holds an LLM key: it only talks to
 * the qa service, which does.
 *
 * Everything lives in a shadow root so the host page's CSS cannot reach in and ours cannot leak out; the only
 * global is window.QAWidget (open/close/toggle/clear/ask for the first widget on the page).
 *
 * A conversation: each question is sent with the earlier turns as `history`, so a follow-up ("那执法权限呢?")
 * is answered in context; when the service searched for a rewritten question, the answer shows it. The
 * conversation is kept in sessionStorage (this tab, this service and collection), so it survives a reload;
 * "new conversation" starts over.
 */
(() => {
  "use strict";

  // Must be read synchronously: document.currentScript is null once this script has finished running.
  const script =
    document.currentScript ||
    Array.from(document.querySelectorAll("script[src]")).reverse().find((s) => /\/widget\.js(\?|#|$)/.test(s.src));
  if (!script) return;

  const STRINGS = {
    zh: {
      title: "文档问答",
      open: "打开问答",
      close: "关闭问答",
      clear: "新对话",
      cleared: "已开始新对话",
      searchedFor: "按此问题检索：",
      inputLabel: "输入问题",
      placeholder: "输入问题（Shift+Enter 换行）",
      send: "发送",
      stop: "停止",
      you: "你",
      assistant: "助手",
      greeting: "你好！请就文档内容提问，回答会标注出处，点击 [1] 这样的编号即可查看原文。",
      thinking: "正在查找资料",
      sources: "来源",
      source: (n) => `来源 ${n}`,
      sourceTitled: (n, title) => `来源 ${n}：${title}`,
      loadingSource: "正在加载原文…",
      excerptOnly: "仅显示引用片段（当前密钥无权查看全文）。",
      sourceGone: "无法加载原文，仅显示引用片段。",
      passage: "原文片段",
      notFound: "没有找到答案",
      stopped: "（已停止）",
      interrupted: "回答中断了，请重试。",
      retry: "重试",
      details: "详情：",
      errNetwork: "无法连接到问答服务，请检查网络后重试。",
      errAuth: "问答服务需要有效的访问密钥。",
      errForbidden: "此网页无权使用问答服务。",
      errNotFound: "找不到要查询的文档集合。",
      errRate: (s) => (s ? `提问太频繁了，请 ${s} 秒后再试。` : "提问太频繁了，请稍后再试。"),
      errBusy: "问答服务暂时不可用，请稍后再试。",
      errServer: "问答服务出错了，请稍后再试。",
      errInput: "这个问题无法处理：",
      errGeneric: "出错了：",
      poweredBy: "回答仅依据已收录的文档",
    },
    en: {
      title: "Ask the documents",
      open: "Open the assistant",
      close: "Close the assistant",
      clear: "New conversation",
      cleared: "New conversation started",
      searchedFor: "Searched for: ",
      inputLabel: "Your question",
      placeholder: "Ask a question (Shift+Enter: new line)",
      send: "Send",
      stop: "Stop",
      you: "You",
      assistant: "Assistant",
      greeting: "Hello! Ask about the documents; answers cite their sources — click a marker like [1] to read it.",
      thinking: "Searching the documents",
      sources: "Sources",
      source: (n) => `source ${n}`,
      sourceTitled: (n, title) => `source ${n}: ${title}`,
      loadingSource: "Loading the source…",
      excerptOnly: "Showing the cited excerpt only (this key may not read whole documents).",
      sourceGone: "Could not load the document; showing the cited excerpt only.",
      passage: "Passage",
      notFound: "No answer found",
      stopped: "(stopped)",
      interrupted: "The answer was interrupted. Please try again.",
      retry: "Retry",
      details: "Details: ",
      errNetwork: "Cannot reach the question-answering service. Check your connection and try again.",
      errAuth: "The service needs a valid access key.",
      errForbidden: "This page is not allowed to use the service.",
      errNotFound: "The document collection was not found.",
      errRate: (s) => (s ? `Too many questions — try again in ${s} s.` : "Too many questions — try again shortly."),
      errBusy: "The service is temporarily unavailable. Please try again later.",
      errServer: "The service ran into a problem. Please try again later.",
      errInput: "This question could not be handled: ",
      errGeneric: "Something went wrong: ",
      poweredBy: "Answers come only from the indexed documents",
    },
  };

  const CONTEXT_CHARS = 200; // passage shown on each side of a cited span
  // Earlier turns sent with a question: a follow-up leans on the last few, and the service bounds history
  // (QA_MAX_HISTORY_MESSAGES, QA_MAX_HISTORY_CHARS); an answer is cut before it is sent back.
  const HISTORY_TURNS = 4;
  const HISTORY_ANSWER_CHARS = 600;
  // Turns kept in sessionStorage (each with its citations): enough to scroll back, small next to the quota.
  const STORED_TURNS = 30;
  const MARKER = /\[(\d{1,3})\]/g;

  const data = script.dataset;
  const lang = pickLang(data.lang);
  const t = STRINGS[lang];
  const config = {
    collection: data.collection || "default",
    title: data.title || t.title,
    color: data.color && window.CSS && CSS.supports("color", data.color) ? data.color : "#1a5fd0",
    position: data.position === "bottom-left" ? "bottom-left" : "bottom-right",
    key: data.key || "",
    endpoint: endpointOf(script, data.endpoint),
  };

  function pickLang(value) {
    const wanted = (value || navigator.language || "en").toLowerCase();
    return wanted.startsWith("zh") ? "zh" : "en";
  }

  function endpointOf(el, explicit) {
    try {
      return new URL(explicit || el.src, document.baseURI).href.replace(/\/widget\.js([?#].*)?$/, "").replace(/\/+$/, "");
    } catch {
      return location.origin;
    }
  }

  /** Build an element: attributes by fixed name, children as nodes or strings (always text nodes). */
  function h(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === false || value === null || value === undefined) continue;
      if (name === "class") node.className = value;
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    append(node, children);
    return node;
  }

  function append(node, children) {
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  function svgIcon(paths) {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    for (const d of paths) {
      const path = document.createElementNS(ns, "path");
      path.setAttribute("d", d);
      svg.appendChild(path);
    }
    return svg;
  }

  const ICONS = {
    chat: ["M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"],
    close: ["M6 6l12 12", "M18 6L6 18"],
    clear: ["M4 7h16", "M9 7V4h6v3", "M6 7l1 13h10l1-13"],
    send: ["M4 12l16-8-6 16-3-7z"],
    stop: ["M7 7h10v10H7z"],
  };

  const CSS_TEXT = `
:host {
  all: initial !important;
  display: block !important;
  position: static !important;
  width: 0 !important;
  height: 0 !important;
  margin: 0 !important;
  padding: 0 !important;
  border: 0 !important;
  visibility: visible !important;
  opacity: 1 !important;
  transform: none !important;
  contain: none !important;
}
*, *::before, *::after { box-sizing: border-box; }
[hidden] { display: none !important; }
.root {
  --qa-accent: #1a5fd0;
  --qa-on-accent: #ffffff;
  --qa-bg: #ffffff;
  --qa-fg: #1c2330;
  --qa-muted: #5b6475;
  --qa-line: #dde2ea;
  --qa-soft: #f3f5f9;
  --qa-user: #e8f0fe;
  --qa-mark: #fff1a8;
  --qa-danger: #b42318;
  font: 400 14px/1.6 system-ui, -apple-system, "Segoe UI", "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei",
    "Noto Sans CJK SC", "WenQuanYi Zen Hei", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: var(--qa-fg);
  text-align: start;
  letter-spacing: normal;
  word-spacing: normal;
  text-transform: none;
  text-indent: 0;
  white-space: normal;
  direction: ltr;
  -webkit-font-smoothing: antialiased;
}
@media (prefers-color-scheme: dark) {
  .root {
    --qa-bg: #171b22;
    --qa-fg: #e7eaf0;
    --qa-muted: #a2abbb;
    --qa-line: #2d3440;
    --qa-soft: #20262f;
    --qa-user: #1e3252;
    --qa-mark: #6b5a00;
    --qa-danger: #ff8a80;
  }
}
button, textarea { font: inherit; color: inherit; letter-spacing: inherit; }
button { cursor: pointer; }
svg { width: 20px; height: 20px; fill: none; stroke: currentColor; stroke-width: 2; stroke-linecap: round;
  stroke-linejoin: round; display: block; flex: none; }
:focus-visible { outline: 3px solid var(--qa-accent); outline-offset: 2px; }
.sr-only { position: absolute !important; width: 1px; height: 1px; margin: -1px; padding: 0; overflow: hidden;
  clip: rect(0 0 0 0); white-space: nowrap; border: 0; }

.launcher {
  position: fixed; bottom: 20px; z-index: 2147483000;
  width: 56px; height: 56px; border-radius: 50%; border: 0; padding: 0;
  display: flex; align-items: center; justify-content: center;
  background: var(--qa-accent); color: var(--qa-on-accent);
  box-shadow: 0 6px 20px rgba(15, 23, 42, .28);
  transition: transform .15s ease;
}
.launcher:hover { transform: scale(1.06); }
.launcher svg { width: 26px; height: 26px; }
.right .launcher { right: 20px; }
.left .launcher { left: 20px; }

.panel {
  position: fixed; bottom: 88px; z-index: 2147483001;
  width: min(400px, calc(100vw - 32px)); height: min(620px, calc(100vh - 112px));
  display: flex; flex-direction: column; overflow: hidden;
  background: var(--qa-bg); color: var(--qa-fg);
  border: 1px solid var(--qa-line); border-radius: 14px;
  box-shadow: 0 18px 50px rgba(15, 23, 42, .25);
  animation: qa-in .16s ease-out;
}
.right .panel { right: 20px; }
.left .panel { left: 20px; }
@keyframes qa-in { from { opacity: 0; transform: translateY(8px); } to { opacity: 1; transform: none; } }
@media (prefers-reduced-motion: reduce) { .panel { animation: none; } .launcher { transition: none; } }
@media (max-width: 480px) {
  .panel { inset: 0 !important; width: 100vw; height: 100vh; height: 100dvh; border-radius: 0; border: 0; }
}

.header {
  display: flex; align-items: center; gap: 8px; padding: 12px 12px 12px 16px;
  background: var(--qa-accent); color: var(--qa-on-accent);
}
.header h2 { margin: 0; flex: 1; font-size: 16px; font-weight: 600; line-height: 1.3;
  overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.icon-btn {
  width: 34px; height: 34px; border-radius: 8px; border: 0; padding: 0; background: transparent;
  color: inherit; display: flex; align-items: center; justify-content: center;
}
.icon-btn:hover { background: rgba(255, 255, 255, .18); }
.header :focus-visible { outline-color: var(--qa-on-accent); }

.log { flex: 1; overflow-y: auto; padding: 16px; display: flex; flex-direction: column; gap: 12px;
  overscroll-behavior: contain; }
.msg { max-width: 92%; padding: 10px 12px; border-radius: 12px; overflow-wrap: anywhere; }
.msg.user { align-self: flex-end; background: var(--qa-user); border-bottom-right-radius: 4px; white-space: pre-wrap; }
.msg.bot { align-self: flex-start; background: var(--qa-soft); border-bottom-left-radius: 4px; }
.msg.greeting { color: var(--qa-muted); }
.msg.refusal { border-left: 3px solid var(--qa-muted); }
.msg.error { background: transparent; border: 1px solid var(--qa-danger); color: var(--qa-danger); }
.msg .label { font-size: 12px; font-weight: 600; color: var(--qa-muted); display: block; margin-bottom: 2px; }
.answer { white-space: pre-wrap; }
.detail { display: block; font-size: 12px; margin-top: 4px; opacity: .85; }
.standalone { display: block; font-size: 12px; color: var(--qa-muted); margin-bottom: 4px; }
.thinking { color: var(--qa-muted); }
.thinking::after { content: ""; display: inline-block; width: 1.2em; text-align: left;
  animation: qa-dots 1.2s steps(4, end) infinite; }
@keyframes qa-dots { 0% { content: ""; } 25% { content: "."; } 50% { content: ".."; } 75% { content: "..."; } }
@media (prefers-reduced-motion: reduce) { .thinking::after { animation: none; } }

.chip {
  display: inline-flex; align-items: center; justify-content: center; vertical-align: 1px;
  min-width: 22px; height: 20px; margin: 0 2px; padding: 0 6px; border-radius: 10px;
  border: 1px solid var(--qa-accent); background: var(--qa-bg); color: var(--qa-accent);
  font-size: 12px; font-weight: 600; line-height: 1;
}
.chip:hover, .chip[aria-expanded="true"] { background: var(--qa-accent); color: var(--qa-on-accent); }
.sources { display: flex; flex-wrap: wrap; align-items: center; gap: 6px; margin-top: 8px; padding-top: 8px;
  border-top: 1px solid var(--qa-line); font-size: 12px; color: var(--qa-muted); }
.source-btn {
  display: inline-flex; align-items: center; gap: 4px; max-width: 100%; padding: 2px 8px; border-radius: 10px;
  border: 1px solid var(--qa-line); background: var(--qa-bg); color: var(--qa-fg); font-size: 12px;
}
.source-btn .label { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; max-width: 220px; }
.source-btn .ref { color: var(--qa-accent); }
.source-btn[aria-expanded="true"] { border-color: var(--qa-accent); }
.retry { margin-top: 6px; padding: 3px 10px; border-radius: 8px; border: 1px solid currentColor;
  background: transparent; color: inherit; font-size: 12px; }

.card { margin-top: 8px; padding: 10px 12px; border-radius: 10px; background: var(--qa-bg);
  border: 1px solid var(--qa-line); font-size: 13px; }
.card-head { display: flex; align-items: flex-start; gap: 6px; }
.card-title { flex: 1; margin: 0; font-size: 14px; font-weight: 600; line-height: 1.4; overflow-wrap: anywhere; }
.card-close { width: 26px; height: 26px; margin: -4px -6px 0 0; border-radius: 6px; color: var(--qa-muted); }
.card-close:hover { background: var(--qa-soft); }
.card-close svg { width: 16px; height: 16px; }
.card-source { display: block; margin: 2px 0 8px; color: var(--qa-muted); font-size: 12px; overflow-wrap: anywhere; }
a.card-source { color: var(--qa-accent); text-decoration: underline; }
.passage { margin: 0; max-height: 220px; overflow-y: auto; white-space: pre-wrap; overflow-wrap: anywhere;
  padding: 8px 10px; border-radius: 8px; background: var(--qa-soft); line-height: 1.7; }
.passage mark { background: var(--qa-mark); color: inherit; padding: 1px 0; border-radius: 2px; }
.note { margin: 6px 0 0; color: var(--qa-muted); font-size: 12px; }

.composer { display: flex; align-items: flex-end; gap: 8px; padding: 10px 12px; border-top: 1px solid var(--qa-line); }
.composer textarea {
  flex: 1; min-height: 40px; max-height: 132px; resize: none; padding: 9px 12px; margin: 0;
  border: 1px solid var(--qa-line); border-radius: 10px; background: var(--qa-bg); line-height: 1.5;
  white-space: pre-wrap; overflow-y: auto;
}
.composer textarea::placeholder { color: var(--qa-muted); opacity: 1; }
.composer textarea:focus { outline: none; border-color: var(--qa-accent); box-shadow: 0 0 0 2px var(--qa-accent); }
.send { width: 40px; height: 40px; flex: none; border: 0; border-radius: 10px; padding: 0;
  display: flex; align-items: center; justify-content: center;
  background: var(--qa-accent); color: var(--qa-on-accent); }
.send:disabled { opacity: .45; cursor: default; }
.foot { padding: 0 12px 8px; font-size: 11px; color: var(--qa-muted); text-align: center; }
`;

  /** Read the SSE stream of a fetch() body: yields {event, data} per the EventSource parsing rules. */
  async function* readEvents(body) {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    let event = "";
    let lines = [];
    for (;;) {
      const { value, done } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      const eol = /\r\n|\r|\n/g;
      let start = 0;
      let match;
      while ((match = eol.exec(buffer))) {
        // A lone "\r" at the end of a chunk may be the first half of "\r\n": wait for the next chunk.
        if (!done && match[0] === "\r" && match.index === buffer.length - 1) break;
        const line = buffer.slice(start, match.index);
        start = eol.lastIndex;
        if (line === "") {
          if (lines.length) yield { event: event || "message", data: lines.join("\n") };
          event = "";
          lines = [];
        } else if (line[0] !== ":") {
          const colon = line.indexOf(":");
          const field = colon < 0 ? line : line.slice(0, colon);
          let value = colon < 0 ? "" : line.slice(colon + 1);
          if (value[0] === " ") value = value.slice(1);
          if (field === "event") event = value;
          else if (field === "data") lines.push(value);
        }
      }
      buffer = buffer.slice(start);
      if (done) {
        if (lines.length) yield { event: event || "message", data: lines.join("\n") };
        return;
      }
    }
  }

  class ApiError extends Error {
    constructor(status, code, message, retryAfter) {
      super(message || code || `HTTP ${status}`);
      this.status = status;
      this.code = code || "";
      this.detail = message || "";
      this.retryAfter = retryAfter || "";
    }
  }

  async function apiError(response) {
    let code = "";
    let message = "";
    try {
      const body = await response.json();
      if (body && body.error) {
        code = String(body.error.code || "");
        message = String(body.error.message || "");
      }
    } catch {
      // Not our JSON (a proxy's error page, say): the status alone decides the message.
    }
    return new ApiError(response.status, code, message, response.headers.get("Retry-After"));
  }

  /** A sentence a person can act on, plus the server's own detail when it adds something. */
  function describeError(err) {
    if (!(err instanceof ApiError)) return { text: t.errNetwork, detail: "" };
    const { status, code, detail } = err;
    if (status === 401) return { text: t.errAuth, detail };
    if (status === 403) return { text: t.errForbidden, detail };
    if (status === 429) return { text: t.errRate(/^\d+$/.test(err.retryAfter) ? err.retryAfter : ""), detail: "" };
    if (status === 503 || code === "llm_unavailable" || code === "model_unavailable") return { text: t.errBusy, detail };
    if (code === "collection_not_found") return { text: t.errNotFound, detail };
    if (status >= 500) return { text: t.errServer, detail: "" };
    if (status >= 400) return { text: t.errInput, detail };
    return { text: t.errGeneric, detail: detail || code };
  }

  function headers(json) {
    const out = { Accept: json ? "application/json" : "text/event-stream, application/json" };
    if (json !== null) out["Content-Type"] = "application/json";
    if (config.key) out.Authorization = `Bearer ${config.key}`;
    return out;
  }

  function isWebUrl(value) {
    return /^https?:\/\//i.test(value || "");
  }

  function createWidget() {
    const host = document.createElement("div");
    host.setAttribute("data-qa-widget", "");
    const shadow = host.attachShadow({ mode: "open" });
    try {
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS_TEXT);
      shadow.adoptedStyleSheets = [sheet]; // not blocked by a page's CSP on inline <style>
    } catch {
      shadow.appendChild(h("style", {}, CSS_TEXT));
    }

    const uid = Math.random().toString(36).slice(2, 8);
    const ids = { panel: `qa-panel-${uid}`, title: `qa-title-${uid}`, input: `qa-input-${uid}` };
    const docCache = new Map(); // doc_id -> Promise of the document (or of an ApiError)
    let controller = null; // AbortController of the answer being streamed
    const storageKey = `qa-widget:${config.endpoint}:${config.collection}`;
    let turns = []; // the conversation: {question, answer} with the service's final answer body
    let lastFocusedChip = null;
    let cardSeq = 0;

    const launcherIcon = svgIcon(ICONS.chat);
    const launcher = h("button", {
      type: "button",
      class: "launcher",
      "aria-label": t.open,
      "aria-expanded": "false",
      "aria-controls": ids.panel,
      title: config.title,
    });
    launcher.appendChild(launcherIcon);

    const log = h("div", {
      class: "log",
      role: "log",
      "aria-live": "polite",
      "aria-relevant": "additions text",
      "aria-label": config.title,
    });
    const input = h("textarea", {
      id: ids.input,
      rows: "1",
      maxlength: "2000",
      placeholder: t.placeholder,
      "aria-label": t.inputLabel,
      enterkeyhint: "send",
      autocomplete: "off",
    });
    const sendBtn = h("button", { type: "submit", class: "send", "aria-label": t.send, title: t.send });
    sendBtn.appendChild(svgIcon(ICONS.send));
    const clearBtn = h("button", { type: "button", class: "icon-btn clear", "aria-label": t.clear, title: t.clear });
    clearBtn.appendChild(svgIcon(ICONS.clear));
    const closeBtn = h("button", { type: "button", class: "icon-btn close", "aria-label": t.close, title: t.close });
    closeBtn.appendChild(svgIcon(ICONS.close));
    const status = h("div", { class: "sr-only", role: "status", "aria-live": "polite" });
    const form = h("form", { class: "composer", novalidate: true }, input, sendBtn);
    const panel = h(
      "section",
      { id: ids.panel, class: "panel", role: "dialog", "aria-labelledby": ids.title, hidden: true },
      h("div", { class: "header" }, h("h2", { id: ids.title }, config.title), clearBtn, closeBtn),
      log,
      form,
      h("div", { class: "foot" }, t.poweredBy),
      status,
    );
    const root = h("div", { class: `root ${config.position === "bottom-left" ? "left" : "right"}`, lang });
    root.append(launcher, panel);
    shadow.appendChild(root);

    addGreeting();
    const saved = load();
    turns = saved.turns;
    for (const turn of turns) showTurn(turn);

    // ---- open / close -------------------------------------------------------------------------------------
    function isOpen() {
      return !panel.hidden;
    }

    function open(focus = true) {
      if (isOpen()) return;
      panel.hidden = false;
      save(true);
      launcher.setAttribute("aria-expanded", "true");
      launcher.setAttribute("aria-label", t.close);
      launcher.replaceChildren(svgIcon(ICONS.close));
      if (focus !== false) input.focus();
      log.scrollTop = log.scrollHeight;
    }

    function close() {
      if (!isOpen()) return;
      panel.hidden = true;
      save(false);
      launcher.setAttribute("aria-expanded", "false");
      launcher.setAttribute("aria-label", t.open);
      launcher.replaceChildren(svgIcon(ICONS.chat));
      launcher.focus();
    }

    launcher.addEventListener("click", () => (isOpen() ? close() : open()));
    closeBtn.addEventListener("click", close);
    clearBtn.addEventListener("click", clear);
    root.addEventListener("keydown", (event) => {
      // Escape during IME composition cancels the composition, not the widget.
      if (event.key === "Escape" && isOpen() && !event.isComposing && event.keyCode !== 229) {
        event.preventDefault();
        event.stopPropagation();
        close();
      }
    });

    // ---- composing ----------------------------------------------------------------------------------------
    let composing = false;
    input.addEventListener("compositionstart", () => (composing = true));
    input.addEventListener("compositionend", () => (composing = false));
    input.addEventListener("keydown", (event) => {
      if (event.key !== "Enter") return;
      // Enter confirms an IME candidate (Chinese, Japanese, Korean input); it must never send. Safari reports
      // the confirming keydown after compositionend, with keyCode 229, hence all three checks.
      if (event.isComposing || composing || event.keyCode === 229) return;
      if (event.shiftKey || event.altKey || event.ctrlKey || event.metaKey) return; // newline
      event.preventDefault();
      submit();
    });
    input.addEventListener("input", autosize);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (controller) controller.abort();
      else submit();
    });

    function autosize() {
      input.style.height = "auto";
      input.style.height = `${Math.min(input.scrollHeight + 2, 132)}px`;
    }

    function setBusy(busy) {
      sendBtn.replaceChildren(svgIcon(busy ? ICONS.stop : ICONS.send));
      sendBtn.setAttribute("aria-label", busy ? t.stop : t.send);
      sendBtn.title = busy ? t.stop : t.send;
      log.setAttribute("aria-busy", busy ? "true" : "false");
    }

    function submit() {
      const question = input.value.trim();
      if (!question || controller) return;
      input.value = "";
      autosize();
      ask(question);
    }

    // ---- conversation -------------------------------------------------------------------------------------
    function addGreeting() {
      log.appendChild(h("div", { class: "msg bot greeting" }, t.greeting));
    }

    function clear() {
      if (controller) controller.abort();
      turns = [];
      save(isOpen());
      log.replaceChildren();
      addGreeting();
      announce(t.cleared);
      input.focus();
    }

    function announce(text) {
      status.textContent = "";
      // A fresh text node after a tick is what makes screen readers repeat an identical message.
      setTimeout(() => (status.textContent = text), 50);
    }

    function scrollToEnd() {
      log.scrollTop = log.scrollHeight;
    }

    // ---- the conversation, kept for this tab -----------------------------------------------------------------
    function load() {
      try {
        const stored = JSON.parse(sessionStorage.getItem(storageKey) || "null");
        if (stored && Array.isArray(stored.turns)) {
          const valid = stored.turns.filter(
            (turn) => turn && typeof turn.question === "string" && turn.answer && typeof turn.answer.answer === "string",
          );
          return { turns: valid, open: stored.open === true };
        }
      } catch {
        // storage blocked (a sandboxed frame, privacy settings) or unreadable: start a fresh conversation
      }
      return { turns: [], open: false };
    }

    function save(opened) {
      try {
        sessionStorage.setItem(storageKey, JSON.stringify({ turns: turns.slice(-STORED_TURNS), open: opened }));
      } catch {
        // storage full or blocked: the conversation still works, it just won't survive a reload
      }
    }

    /** The earlier turns as the service takes them, oldest first. */
    function history() {
      const out = [];
      for (const turn of turns.slice(-HISTORY_TURNS)) {
        out.push({ role: "user", content: turn.question });
        out.push({ role: "assistant", content: turn.answer.answer.slice(0, HISTORY_ANSWER_CHARS) });
      }
      return out;
    }

    function userMessage(question) {
      return h("div", { class: "msg user" }, h("span", { class: "sr-only" }, `${t.you}: `), question);
    }

    function botMessage() {
      const body = h("div", { class: "answer thinking" }, t.thinking);
      const msg = h("div", { class: "msg bot" }, h("span", { class: "sr-only" }, `${t.assistant}: `), body);
      return { msg, body };
    }

    /** A stored turn, shown again after a reload. */
    function showTurn(turn) {
      log.appendChild(userMessage(turn.question));
      const { msg, body } = botMessage();
      log.appendChild(msg);
      renderAnswer(msg, body, turn.answer, turn.question);
    }

    async function ask(question) {
      const asked = userMessage(question);
      log.appendChild(asked);
      const { msg, body } = botMessage();
      log.appendChild(msg);
      scrollToEnd();
      const earlier = history();

      const own = new AbortController();
      controller = own;
      setBusy(true);
      let streamed = "";
      let final = null;
      try {
        const response = await fetch(`${config.endpoint}/v1/ask`, {
          method: "POST",
          headers: headers(false),
          body: JSON.stringify(
            earlier.length
              ? { question, collection: config.collection, stream: true, history: earlier }
              : { question, collection: config.collection, stream: true },
          ),
          signal: own.signal,
          credentials: "omit",
        });
        if (!response.ok) throw await apiError(response);
        const type = response.headers.get("content-type") || "";
        if (!type.includes("text/event-stream") || !response.body) {
          final = await response.json(); // a proxy or server that ignored stream:true
        } else {
          for await (const { event, data } of readEvents(response.body)) {
            if (event === "delta") {
              const text = JSON.parse(data).text || "";
              if (!streamed) body.classList.remove("thinking");
              streamed += text;
              body.textContent = streamed;
              scrollToEnd();
            } else if (event === "answer") {
              final = JSON.parse(data);
            } else if (event === "error") {
              const err = JSON.parse(data).error || {};
              throw new ApiError(200, String(err.code || ""), String(err.message || ""));
            }
          }
        }
        if (!final || typeof final.answer !== "string") throw new ApiError(0, "interrupted", "");
        renderAnswer(msg, body, final, question);
        turns.push({
          question,
          answer: {
            answer: final.answer,
            found: final.found === true,
            citations: Array.isArray(final.citations) ? final.citations : [],
            question: typeof final.question === "string" ? final.question : question,
          },
        });
        save(isOpen());
      } catch (err) {
        if (own.signal.aborted) {
          body.classList.remove("thinking");
          body.textContent = streamed ? `${streamed} ${t.stopped}` : t.stopped;
        } else if (err instanceof ApiError && err.code === "interrupted") {
          renderError(msg, asked, { text: t.interrupted, detail: "" }, question);
        } else {
          renderError(msg, asked, describeError(err), question);
        }
      } finally {
        if (controller === own) controller = null;
        setBusy(false);
        scrollToEnd();
      }
    }

    function renderError(msg, asked, { text, detail }, question) {
      msg.className = "msg bot error";
      msg.setAttribute("role", "alert");
      const retry = h("button", { type: "button", class: "retry" }, t.retry);
      retry.addEventListener("click", () => {
        if (controller) return;
        msg.remove();
        asked.remove();
        ask(question);
      });
      // replaceChildren would print a null as the text "null"
      const parts = [h("span", { class: "sr-only" }, `${t.assistant}: `), h("span", { class: "answer" }, text)];
      if (detail) parts.push(h("span", { class: "detail" }, t.details, detail));
      msg.replaceChildren(...parts, retry);
    }

    /** The authoritative answer: text with [n] markers turned into buttons, then the list of sources. When the
     * service searched for a rewritten question (a follow-up made standalone), that question comes first. */
    function renderAnswer(msg, body, answer, asked) {
      const citations = new Map();
      for (const c of Array.isArray(answer.citations) ? answer.citations : []) {
        if (c && Number.isInteger(c.ref)) citations.set(c.ref, c);
      }
      const card = h("div", { class: "card", id: `qa-card-${uid}-${++cardSeq}`, hidden: true, tabindex: "-1" });
      body.classList.remove("thinking");
      body.replaceChildren();
      if (!answer.found) {
        msg.classList.add("refusal");
        body.appendChild(h("span", { class: "sr-only" }, `${t.notFound}: `));
      }
      if (typeof answer.question === "string" && answer.question.trim() && answer.question.trim() !== asked.trim()) {
        msg.insertBefore(h("span", { class: "standalone" }, t.searchedFor, answer.question), body);
      }
      const text = answer.answer;
      let last = 0;
      for (const match of text.matchAll(MARKER)) {
        const citation = citations.get(Number(match[1]));
        if (!citation) continue; // a bracketed number that is not a citation stays text
        body.appendChild(document.createTextNode(text.slice(last, match.index)));
        body.appendChild(chip(citation, card, "chip", t.source(citation.ref), String(citation.ref)));
        last = match.index + match[0].length;
      }
      body.appendChild(document.createTextNode(text.slice(last)));

      if (citations.size) {
        const list = h("div", { class: "sources" }, h("span", {}, `${t.sources}:`));
        for (const citation of citations.values()) {
          const label = citation.title || citation.source || citation.doc_id;
          const button = chip(citation, card, "source-btn", t.sourceTitled(citation.ref, label));
          button.append(h("span", { class: "ref" }, `[${citation.ref}]`), h("span", { class: "label" }, label));
          list.appendChild(button);
        }
        msg.append(list);
      }
      msg.append(card);
    }

    function chip(citation, card, cls, label, text) {
      const button = h(
        "button",
        {
          type: "button",
          class: cls,
          "aria-label": label,
          "aria-expanded": "false",
          "aria-controls": card.id,
          "data-ref": String(citation.ref),
        },
        text || null,
      );
      button.addEventListener("click", () => toggleSource(card, citation, button));
      return button;
    }

    // ---- sources ------------------------------------------------------------------------------------------
    function toggleSource(card, citation, button) {
      const msg = card.parentElement;
      const showing = !card.hidden && card.dataset.ref === String(citation.ref);
      for (const b of msg.querySelectorAll("[aria-controls]")) b.setAttribute("aria-expanded", "false");
      if (showing) {
        card.hidden = true;
        card.dataset.ref = "";
        return;
      }
      for (const b of msg.querySelectorAll(`[data-ref="${citation.ref}"]`)) b.setAttribute("aria-expanded", "true");
      lastFocusedChip = button;
      card.dataset.ref = String(citation.ref);
      card.hidden = false;
      showSource(card, citation);
    }

    async function showSource(card, citation) {
      const ref = String(citation.ref);
      const closeCard = h("button", { type: "button", class: "icon-btn card-close", "aria-label": t.close });
      closeCard.appendChild(svgIcon(ICONS.close));
      closeCard.addEventListener("click", () => {
        card.hidden = true;
        card.dataset.ref = "";
        for (const b of card.parentElement.querySelectorAll("[aria-controls]")) b.setAttribute("aria-expanded", "false");
        if (lastFocusedChip && lastFocusedChip.isConnected) lastFocusedChip.focus();
      });
      const title = citation.title || citation.source || citation.doc_id;
      const src = citation.source || "";
      const sourceLine = isWebUrl(src)
        ? h("a", { class: "card-source", href: src, target: "_blank", rel: "noopener noreferrer" }, src)
        : h("span", { class: "card-source" }, src);
      const passage = h("blockquote", { class: "passage", "aria-label": t.passage }, t.loadingSource);
      card.replaceChildren(
        h("div", { class: "card-head" }, h("h3", { class: "card-title" }, `[${ref}] `, title), closeCard),
        sourceLine,
        passage,
      );
      card.scrollIntoView({ block: "nearest" });

      let note = "";
      let doc = null;
      try {
        doc = await documentOf(citation.doc_id);
      } catch (err) {
        note = err instanceof ApiError && (err.status === 401 || err.status === 403) ? t.excerptOnly : t.sourceGone;
      }
      if (card.dataset.ref !== ref) return; // another source was opened meanwhile
      const text = doc && typeof doc.text === "string" ? doc.text : null;
      const start = citation.start;
      const end = citation.end;
      const exact = text !== null && Number.isInteger(start) && Number.isInteger(end) && text.slice(start, end) === citation.text;
      let before = "";
      let span = citation.text || "";
      let after = "";
      if (exact) {
        const from = Math.max(0, start - CONTEXT_CHARS);
        const to = Math.min(text.length, end + CONTEXT_CHARS);
        before = (from > 0 ? "…" : "") + text.slice(from, start);
        span = text.slice(start, end);
        after = text.slice(end, to) + (to < text.length ? "…" : "");
      } else if (text !== null && !note) {
        note = t.sourceGone; // the document changed since the answer: the excerpt is what was cited
      }
      const mark = h("mark", {}, span);
      passage.replaceChildren(document.createTextNode(before), mark, document.createTextNode(after));
      if (note) card.appendChild(h("p", { class: "note" }, note));
      // Bring the highlighted span into view inside the passage box only (not the host page).
      passage.scrollTop = Math.max(0, mark.offsetTop - passage.offsetTop - passage.clientHeight / 3);
      card.scrollIntoView({ block: "nearest" });
    }

    function documentOf(docId) {
      if (!docCache.has(docId)) {
        const url = `${config.endpoint}/v1/collections/${encodeURIComponent(config.collection)}/documents/${encodeURIComponent(docId)}`;
        const pending = fetch(url, { headers: headers(null), credentials: "omit" }).then(async (response) => {
          if (!response.ok) throw await apiError(response);
          return response.json();
        });
        // A failure may be transient (network): forget it so the next click tries again.
        pending.catch(() => docCache.delete(docId));
        docCache.set(docId, pending);
      }
      return docCache.get(docId);
    }

    function askFromPage(question) {
      open();
      const text = String(question || "").trim();
      if (text && !controller) ask(text);
    }

    return {
      host,
      root,
      shadow,
      open: () => open(),
      close,
      toggle: () => (isOpen() ? close() : open()),
      clear,
      ask: askFromPage,
      // reopened after a reload when it was open, without taking the page's focus
      restore: () => saved.open && open(false),
    };
  }

  /** Accent colour from data-color, with black or white text on it, whichever reads better. */
  function applyColor(root, shadow) {
    root.style.setProperty("--qa-accent", config.color);
    const probe = document.createElement("span");
    probe.style.color = config.color;
    shadow.appendChild(probe);
    const rgb = (getComputedStyle(probe).color.match(/[\d.]+/g) || []).map(Number);
    probe.remove();
    if (rgb.length >= 3) {
      const [r, g, b] = rgb.slice(0, 3).map((v) => {
        const c = v / 255;
        return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
      });
      const luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b;
      root.style.setProperty("--qa-on-accent", luminance > 0.45 ? "#111111" : "#ffffff");
    }
  }

  function mount() {
    const widget = createWidget();
    (document.body || document.documentElement).appendChild(widget.host);
    applyColor(widget.root, widget.shadow); // computed styles exist only once the host is in the document
    widget.restore();
    if (!window.QAWidget) {
      const { open, close, toggle, clear, ask } = widget;
      window.QAWidget = Object.freeze({ open, close, toggle, clear, ask });
    }
  }

  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount, { once: true });
})();
