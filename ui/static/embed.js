// The embeddable chat page (GET /embed): asks /api/v1/ask/stream and shows the streamed answer
// with its citations. Document text is only ever inserted as text (textContent), never as markup.
"use strict";

(function () {
  const API = "/api/v1/ask/stream";
  const MAX_HISTORY_TURNS = 10;
  const MAX_TURN_CHARS = 4000;
  const COLOR = /^#(?:[0-9a-fA-F]{3}){1,2}$/;

  const messages = document.getElementById("messages");
  const form = document.getElementById("ask-form");
  const input = document.getElementById("question");
  const send = document.getElementById("send");
  const history = [];

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function scrollDown() {
    messages.scrollTop = messages.scrollHeight;
  }

  function addMessage(role, text) {
    const item = el("li", "message " + role);
    const body = el("p", "answer-text", text);
    item.appendChild(body);
    messages.appendChild(item);
    scrollDown();
    return item;
  }

  // Only http(s) links, resolved against this page (citation urls are usually /documents/...).
  function safeUrl(url) {
    try {
      const parsed = new URL(String(url), window.location.href);
      return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
    } catch (e) {
      return null;
    }
  }

  // For each citation number, the answer's sentences that cite it (markers stripped).
  function citedSentences(text) {
    const cited = {};
    const pattern = /([^\[\]]+?)\s*((?:\[\d+\])+)(?=\s|$)/g;
    let match;
    while ((match = pattern.exec(text)) !== null) {
      const sentence = match[1].trim();
      (match[2].match(/\d+/g) || []).forEach(function (n) {
        (cited[n] = cited[n] || []).push(sentence);
      });
    }
    return cited;
  }

  function escapeRegExp(text) {
    return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }

  const FLAGGED_TITLE = "This sentence addresses AI systems; the assistant ignores it.";

  // The quote as text nodes, with the sentences the answer took from it in <mark> and the ones
  // addressed to AI systems (from the stream's "flagged" event) flagged.
  function quoteWithMarks(quote, sentences, flagged) {
    const spans = [];
    sentences.forEach(function (sentence) {
      const tokens = sentence.split(/\s+/).filter(Boolean);
      if (tokens.length < 3) return;
      const found = new RegExp(tokens.map(escapeRegExp).join("\\s+")).exec(quote);
      if (found) spans.push([found.index, found.index + found[0].length, "mark"]);
    });
    (flagged || []).forEach(function (sentence) {
      const at = typeof sentence === "string" && sentence ? quote.indexOf(sentence) : -1;
      if (at >= 0) spans.push([at, at + sentence.length, "flagged"]);
    });
    spans.sort(function (a, b) { return a[0] - b[0]; });
    const block = el("blockquote", "citation-quote");
    let pos = 0;
    spans.forEach(function (span) {
      if (span[0] < pos) return;
      block.appendChild(document.createTextNode(quote.slice(pos, span[0])));
      const text = quote.slice(span[0], span[1]);
      if (span[2] === "mark") {
        block.appendChild(el("mark", null, text));
      } else {
        const flag = el("span", "flagged", "\u26a0 " + text);
        flag.title = FLAGGED_TITLE;
        block.appendChild(flag);
      }
      pos = span[1];
    });
    block.appendChild(document.createTextNode(quote.slice(pos)));
    return block;
  }

  function renderCitation(c, sentences, flagged) {
    const item = el("li", "citation");
    const head = el("div", "citation-head");
    head.appendChild(el("span", "citation-n", "[" + c.n + "]"));
    head.appendChild(el("span", "citation-title", c.title || c.source));
    const where = [];
    if (c.page !== null && c.page !== undefined) where.push("p. " + c.page);
    if (c.locator) where.push(c.locator);
    if (where.length) head.appendChild(el("span", "citation-where", " · " + where.join(", ")));
    item.appendChild(head);
    const issued = [c.symbol, c.body, c.date, c.doc_type].filter(Boolean);
    if (issued.length) item.appendChild(el("div", "citation-issued", issued.join(" · ")));
    if (c.quote) item.appendChild(quoteWithMarks(String(c.quote), sentences || [], flagged));
    const href = safeUrl(c.url);
    if (href) {
      const link = el("a", "citation-link", "Open the document");
      link.href = href;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      item.appendChild(link);
    }
    return item;
  }

  function renderAnswer(item, answer, question, flagged) {
    item.textContent = "";
    item.classList.remove("pending");
    if (answer.abstained) {
      item.classList.add("abstained");
      item.appendChild(el("p", "notice", "Not in the library"));
    }
    item.appendChild(el("p", "answer-text", answer.answer));
    const citations = Array.isArray(answer.citations) ? answer.citations : [];
    if (citations.length) {
      item.appendChild(el("p", "citations-heading", "Sources"));
      const list = el("ol", "citations");
      const cited = answer.abstained ? {} : citedSentences(String(answer.answer));
      const flags = flagged || {};
      citations.forEach(function (c) {
        list.appendChild(renderCitation(c, cited[c.n], flags[String(c.n)]));
      });
      item.appendChild(list);
    }
    // the question and the start of its answer in view, rather than the end of the sources
    messages.scrollTop = Math.max(0, question.offsetTop - 8);
  }

  function showError(item, message) {
    item.textContent = "";
    item.classList.remove("pending");
    item.classList.add("error");
    item.appendChild(el("p", "answer-text", message));
  }

  // Reads a text/event-stream body; calls onEvent(name, data) for each complete event.
  async function readEvents(response, onEvent) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const chunk = await reader.read();
      if (chunk.done) break;
      buffer += decoder.decode(chunk.value, { stream: true }).replace(/\r\n?/g, "\n");
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        let name = "message";
        const data = [];
        block.split("\n").forEach(function (line) {
          if (line.startsWith("event:")) name = line.slice(6).trim();
          else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
        });
        if (data.length) onEvent(name, data.join("\n"));
      }
    }
  }

  async function errorMessage(response) {
    try {
      const body = await response.json();
      if (body && typeof body.error === "string") return body.error;
    } catch (e) { /* not JSON */ }
    return "The assistant is not available (" + response.status + ").";
  }

  async function ask(question) {
    const asked = addMessage("user", question);
    const item = addMessage("assistant pending", "");
    const text = item.querySelector(".answer-text");
    send.disabled = true;
    let final = null;
    let flagged = {};
    try {
      const response = await fetch(API, {
        method: "POST",
        headers: { "Content-Type": "application/json", "Accept": "text/event-stream" },
        body: JSON.stringify(request(question)),
      });
      if (!response.ok || !response.body) {
        showError(item, await errorMessage(response));
        return;
      }
      await readEvents(response, function (name, data) {
        const payload = JSON.parse(data);
        if (name === "token") {
          text.textContent = payload.text;
          scrollDown();
        } else if (name === "flagged") {
          flagged = payload && typeof payload === "object" ? payload : {};
        } else if (name === "answer") {
          final = payload;
          renderAnswer(item, payload, asked, flagged);
        }
      });
      if (!final) {
        showError(item, "The answer was cut off; please ask again.");
        return;
      }
      history.push({ role: "user", content: question.slice(0, MAX_TURN_CHARS) });
      history.push({ role: "assistant", content: final.answer.slice(0, MAX_TURN_CHARS) });
    } catch (e) {
      showError(item, "The assistant could not be reached; please try again.");
    } finally {
      send.disabled = false;
      input.focus();
    }
  }

  // ?body=…&type=…&since=…&until=…&doc=… (each repeatable where it makes sense): a site shows
  // a chat limited to its own documents. The server's FIXED_SCOPE is what visitors cannot widen.
  const scope = readScope(new URLSearchParams(window.location.search));

  function readScope(params) {
    const found = {};
    const lists = { body: "bodies", type: "types", doc: "documents" };
    Object.keys(lists).forEach(function (name) {
      const values = params.getAll(name).map(function (v) { return v.trim().slice(0, 200); })
        .filter(Boolean).slice(0, 50);
      if (values.length) found[lists[name]] = values;
    });
    ["since", "until"].forEach(function (name) {
      const value = (params.get(name) || "").trim();
      if (value) found[name] = value.slice(0, 10);
    });
    return Object.keys(found).length ? found : null;
  }

  function request(question) {
    const body = { question: question, history: history.slice(-MAX_HISTORY_TURNS) };
    if (scope) body.scope = scope;
    return body;
  }

  function applyOptions() {
    const params = new URLSearchParams(window.location.search);
    const title = params.get("title");
    if (title) {
      document.getElementById("chat-title").textContent = title.slice(0, 80);
      document.title = title.slice(0, 80);
    }
    const color = params.get("color");
    if (color && COLOR.test(color)) document.documentElement.style.setProperty("--accent", color);
    const greeting = params.get("greeting");
    if (greeting) addMessage("assistant greeting", greeting.slice(0, 500));
    if (scope) {
      const parts = [];
      if (scope.bodies) parts.push(scope.bodies.join(" or "));
      if (scope.types) parts.push("type " + scope.types.join(" or "));
      if (scope.documents) parts.push(scope.documents.length + " document(s)");
      if (scope.since) parts.push("since " + scope.since);
      if (scope.until) parts.push("until " + scope.until);
      const note = document.getElementById("chat-scope");
      note.textContent = "Answers only from: " + parts.join(", ") + ".";
      note.hidden = false;
    }
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    const question = input.value.trim();
    if (!question || send.disabled) return;
    input.value = "";
    ask(question);
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  applyOptions();
})();
