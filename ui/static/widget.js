// The chat widget other sites include:
//   <script src="https://chat.example.org/widget.js" data-title="Ask the library"
//           data-color="#1f4e8c" data-position="right" data-greeting="Hello!"
//           data-scope='{"bodies": ["European Union"], "since": "2021-01-01"}'></script>
// data-scope (optional) limits the chat to part of the library: the keys of the API's scope.
// It adds a floating bubble that opens the app's /embed page in an iframe. The app origin is
// taken from this script's own src, so the snippet needs no other configuration.
"use strict";

(function () {
  const script = document.currentScript;
  if (!script || !script.src || window.__policyAssistantWidget) return;
  window.__policyAssistantWidget = true;

  const COLOR = /^#(?:[0-9a-fA-F]{3}){1,2}$/;
  const origin = new URL(script.src, window.location.href).origin;
  const data = script.dataset;
  const title = (data.title || "Ask the library").slice(0, 80);
  const color = data.color && COLOR.test(data.color) ? data.color : "#1f4e8c";
  const side = data.position === "left" ? "left" : "right";
  const greeting = (data.greeting || "").slice(0, 500);

  function scopeParams(url) {
    let scope = null;
    try {
      scope = data.scope ? JSON.parse(data.scope) : null;
    } catch (e) {
      console.warn("policy-assistant widget: data-scope is not JSON; the whole library is used");
    }
    if (!scope || typeof scope !== "object") return;
    const names = { bodies: "body", types: "type", documents: "doc" };
    Object.keys(names).forEach(function (key) {
      const values = Array.isArray(scope[key]) ? scope[key] : scope[key] ? [scope[key]] : [];
      values.slice(0, 50).forEach(function (v) { url.searchParams.append(names[key], String(v)); });
    });
    ["since", "until"].forEach(function (key) {
      if (scope[key]) url.searchParams.set(key, String(scope[key]));
    });
  }

  function embedUrl() {
    const url = new URL("/embed", origin);
    url.searchParams.set("title", title);
    url.searchParams.set("color", color);
    if (greeting) url.searchParams.set("greeting", greeting);
    scopeParams(url);
    return url.href;
  }

  const SVG = "http://www.w3.org/2000/svg";
  const ICONS = {
    open: "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z",
    close: "M6 6l12 12M18 6L6 18",
  };

  // A stroked icon drawn with DOM calls (no markup strings, nothing a CSP would block).
  function icon(name) {
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "26");
    svg.setAttribute("height", "26");
    svg.setAttribute("aria-hidden", "true");
    const path = document.createElementNS(SVG, "path");
    path.setAttribute("d", ICONS[name]);
    path.setAttribute("fill", "none");
    path.setAttribute("stroke", "currentColor");
    path.setAttribute("stroke-width", "2");
    path.setAttribute("stroke-linecap", "round");
    path.setAttribute("stroke-linejoin", "round");
    svg.appendChild(path);
    return svg;
  }

  function setIcon(name) {
    button.replaceChildren(icon(name));
  }

  function style(node, props) {
    Object.keys(props).forEach(function (key) { node.style.setProperty(key, props[key]); });
  }

  const button = document.createElement("button");
  button.type = "button";
  button.className = "policy-assistant-bubble";
  button.setAttribute("aria-label", title);
  button.setAttribute("aria-expanded", "false");
  button.title = title;
  setIcon("open");
  style(button, {
    position: "fixed", bottom: "20px", [side]: "20px", "z-index": "2147483000",
    width: "56px", height: "56px", "border-radius": "50%", border: "0", cursor: "pointer",
    background: color, color: "#fff", padding: "0", display: "flex",
    "align-items": "center", "justify-content": "center",
    "box-shadow": "0 4px 14px rgba(0,0,0,.25)",
  });

  let frame = null;

  function open() {
    if (!frame) {
      frame = document.createElement("iframe");
      frame.className = "policy-assistant-frame";
      frame.title = title;
      frame.src = embedUrl();
      frame.setAttribute("referrerpolicy", "strict-origin-when-cross-origin");
      style(frame, {
        position: "fixed", bottom: "88px", [side]: "20px", "z-index": "2147483000",
        width: "min(420px, calc(100vw - 40px))", height: "min(640px, calc(100vh - 120px))",
        border: "1px solid #dde2ea", "border-radius": "12px", background: "#fff",
        "box-shadow": "0 8px 30px rgba(0,0,0,.25)",
      });
      document.body.appendChild(frame);
    }
    frame.style.setProperty("display", "block");
    button.setAttribute("aria-expanded", "true");
    setIcon("close");
  }

  function close() {
    if (frame) frame.style.setProperty("display", "none");
    button.setAttribute("aria-expanded", "false");
    setIcon("open");
  }

  button.addEventListener("click", function () {
    if (button.getAttribute("aria-expanded") === "true") close();
    else open();
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && button.getAttribute("aria-expanded") === "true") {
      close();
      button.focus();
    }
  });

  function mount() { document.body.appendChild(button); }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
