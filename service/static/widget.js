/*! Byline chat widget — one file, no dependencies. Embed it with
 *   <script src="https://HOST/widget.js" data-key="PUBLIC_KEY" defer></script>
 * Options (data-*): title, placeholder, accent, position (bottom-right | bottom-left),
 * open (open on load), lang (en | de | fr), api (base URL; default: where this file came from).
 * Safety: answer and article text only ever enter the page as text nodes / textContent,
 * never as HTML; links only for http(s) URLs. Styles live in a shadow root. */
(() => {
  "use strict";
  const TAG = "byline-chat";
  if (customElements.get(TAG)) return;
  const me = document.currentScript;
  const BASE = me && me.src ? new URL(".", me.src).href : location.origin + "/";

  const T = {
    en: {
      title: "Ask the news", sub: "Answers from the articles, with sources",
      open: "Open chat: ask about the news", close: "Close chat",
      ph: "Ask a question…", you: "You", send: "Send question", stop: "Stop", retry: "Try again",
      intro: "Ask a question about the articles. Every claim links to the passage it came from.",
      wait: "Searching the articles…", ready: "Answer ready.", stopped: "Stopped.",
      abst: "Not in the articles", conf: "Sources disagree", src: "Source", read: "Read the article",
      rate: "Too many questions. Try again in {s} s.", busy: "The service is busy. Try again in a moment.",
      offline: "You're offline. Check your connection and try again.",
      down: "Can't reach the answer service. Try again later.",
      refused: "This site isn't allowed to use this chat. The site owner needs to fix its key.",
      slow: "The answer took too long.", cut: "The answer was interrupted.",
      bad: "That question can't be sent. Try a shorter one.", fail: "Something went wrong.",
    },
    de: {
      title: "Fragen Sie die Nachrichten", sub: "Antworten aus den Artikeln, mit Quellen",
      open: "Chat öffnen: Fragen zu den Nachrichten", close: "Chat schließen",
      ph: "Stellen Sie eine Frage…", you: "Sie", send: "Frage senden", stop: "Stopp", retry: "Erneut versuchen",
      intro: "Stellen Sie eine Frage zu den Artikeln. Jede Aussage verweist auf ihre Textstelle.",
      wait: "Durchsuche die Artikel…", ready: "Antwort fertig.", stopped: "Angehalten.",
      abst: "Nicht in den Artikeln", conf: "Quellen widersprechen sich", src: "Quelle",
      read: "Artikel lesen",
      rate: "Zu viele Fragen. Bitte in {s} s erneut versuchen.",
      busy: "Der Dienst ist ausgelastet. Bitte gleich erneut versuchen.",
      offline: "Sie sind offline. Prüfen Sie die Verbindung.",
      down: "Der Dienst ist nicht erreichbar. Bitte später erneut versuchen.",
      refused: "Diese Website darf den Chat nicht nutzen. Der Betreiber muss den Schlüssel anpassen.",
      slow: "Die Antwort hat zu lange gedauert.", cut: "Die Antwort wurde unterbrochen.",
      bad: "Diese Frage kann nicht gesendet werden. Bitte kürzer fassen.",
      fail: "Etwas ist schiefgelaufen.",
    },
    fr: {
      title: "Interrogez l'actualité", sub: "Réponses tirées des articles, avec sources",
      open: "Ouvrir le chat : questions sur l'actualité", close: "Fermer le chat",
      ph: "Posez une question…", you: "Vous", send: "Envoyer la question", stop: "Arrêter", retry: "Réessayer",
      intro: "Posez une question sur les articles. Chaque affirmation renvoie au passage cité.",
      wait: "Recherche dans les articles…", ready: "Réponse prête.", stopped: "Arrêté.",
      abst: "Absent des articles", conf: "Les sources divergent", src: "Source",
      read: "Lire l'article",
      rate: "Trop de questions. Réessayez dans {s} s.",
      busy: "Le service est occupé. Réessayez dans un instant.",
      offline: "Vous êtes hors ligne. Vérifiez votre connexion.",
      down: "Le service est injoignable. Réessayez plus tard.",
      refused: "Ce site n'est pas autorisé à utiliser ce chat. Son propriétaire doit corriger la clé.",
      slow: "La réponse a pris trop de temps.", cut: "La réponse a été interrompue.",
      bad: "Cette question ne peut pas être envoyée. Essayez plus court.",
      fail: "Une erreur est survenue.",
    },
  };

  // Stroke icons (24×24).
  const I = {
    chat: "M21 12a8 8 0 0 1-11.6 7.1L4 20l1-4.6A8 8 0 1 1 21 12z",
    x: "M6 6l12 12M18 6L6 18",
    send: "M5 12h13M12 5l7 7-7 7",
    stop: "M7 7h10v10H7z",
    info: "M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18zM12 11v5M12 8h.01",
    warn: "M12 3l10 18H2zM12 10v4M12 17.5h.01",
    ext: "M14 4h6v6M20 4l-9 9M18 14v6H4V6h6",
  };
  const NS = "http://www.w3.org/2000/svg";
  const icon = (d) => {
    const s = document.createElementNS(NS, "svg");
    s.setAttribute("viewBox", "0 0 24 24");
    s.setAttribute("aria-hidden", "true");
    const p = document.createElementNS(NS, "path");
    p.setAttribute("d", d);
    s.append(p);
    return s;
  };

  // h("p", {class: "x", onclick: f}, "text", child): strings become text nodes, never HTML.
  const h = (tag, props, ...kids) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v == null || v === false) continue;
      if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? "" : v);
    }
    for (const c of kids) if (c || c === 0) e.append(c);
    return e;
  };

  const STYLE = `
:host{all:initial!important;display:block!important}
*{box-sizing:border-box}
[hidden]{display:none!important}
.w{--a:#1a56db;--ai:#fff;--at:#1a56db;--mu:#5b5e66;--ln:#e3e3e8;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:#1c1c21;text-align:left}
button,textarea{font:inherit;color:inherit;margin:0}
button{cursor:pointer}
svg{width:20px;height:20px;fill:none;stroke:currentColor;stroke-width:2;stroke-linecap:round;stroke-linejoin:round;flex:none}
:focus-visible{outline:3px solid var(--at);outline-offset:2px}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
.launch{position:fixed;bottom:20px;right:20px;z-index:2147483000;width:56px;height:56px;border:0;border-radius:50%;background:var(--a);color:var(--ai);display:grid;place-items:center;box-shadow:0 4px 14px rgba(0,0,0,.28)}
.launch svg{width:26px;height:26px}
.left .launch{right:auto;left:20px}
.panel{position:fixed;bottom:88px;right:20px;z-index:2147483001;width:390px;max-width:calc(100vw - 40px);height:min(620px,calc(100vh - 108px));display:flex;flex-direction:column;background:#fff;border:1px solid var(--ln);border-radius:14px;box-shadow:0 12px 40px rgba(0,0,0,.25);overflow:hidden;animation:bc-in .16s ease-out}
.left .panel{right:auto;left:20px}
header{display:flex;align-items:center;gap:8px;padding:12px 10px 12px 16px;background:var(--a);color:var(--ai)}
header div{flex:1;min-width:0}
h2{margin:0;font-size:16px;font-weight:650}
header p{margin:1px 0 0;font-size:12.5px;opacity:.88}
.ib{border:0;background:transparent;width:36px;height:36px;border-radius:8px;display:grid;place-items:center;flex:none}
.ib:hover{background:rgba(127,127,127,.2)}
header :focus-visible{outline-color:var(--ai);outline-offset:-3px}
.log{flex:1;overflow-y:auto;padding:14px;display:flex;flex-direction:column;gap:12px;background:#f5f6f8;overscroll-behavior:contain}
.intro{margin:auto 8px 0;color:var(--mu);font-size:13.5px;text-align:center}
.m{max-width:92%;padding:9px 12px;border-radius:12px;overflow-wrap:anywhere}
.m p{margin:0}
.q{align-self:flex-end;background:var(--a);color:var(--ai);border-bottom-right-radius:4px;white-space:pre-wrap}
.a{align-self:flex-start;background:#fff;border:1px solid var(--ln);border-bottom-left-radius:4px}
.live .t::after{content:"";display:inline-block;width:7px;height:15px;margin-left:2px;vertical-align:-2px;background:var(--at);animation:bc-b 1s steps(2) infinite}
.wait{color:var(--mu);font-style:italic}
.ab{background:#eeeff2;color:#4a4d55;border-style:dashed}
.tag{display:flex;align-items:center;gap:6px;font-size:11.5px;font-weight:700;text-transform:uppercase;letter-spacing:.05em;color:var(--mu);margin:0 0 4px!important}
.tag svg{width:16px;height:16px}
.note{font-size:12.5px;color:var(--mu);margin-top:4px!important}
.cite{border:0;background:var(--a);color:var(--ai);font-size:11px;font-weight:700;min-width:20px;height:18px;padding:0 5px;margin:0 1px;border-radius:9px;line-height:18px;vertical-align:2px}
.cite[aria-expanded=true]{box-shadow:0 0 0 2px #fff,0 0 0 4px var(--a)}
.src{margin-top:8px;padding:9px 11px;border-left:3px solid var(--a);background:#f7f8fa;border-radius:0 8px 8px 0;font-size:13.5px}
.src h3{margin:0 0 2px;font-size:14px;line-height:1.3}
.k{font-size:11px;text-transform:uppercase;letter-spacing:.05em;color:var(--mu);margin:0 0 2px!important}
.meta{color:var(--mu);font-size:12.5px}
blockquote{margin:6px 0 0;color:#33353b}
mark{background:#ffec8a;color:#1c1c21;padding:0 1px;border-radius:2px}
.src a{display:inline-flex;align-items:center;gap:4px;margin-top:6px;color:var(--at);font-weight:600}
.src a svg{width:14px;height:14px}
.cf{margin-top:10px;border:1px solid #eec67a;background:#fff9ec;border-radius:10px;padding:8px}
.cf .tag{color:#7a5000}
.cf>p{margin:0 0 6px;font-size:13px}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:8px}
.pair .src{margin:0;border:0;border-top:3px solid #e0a030;border-radius:8px;background:#fff}
.val{display:block;font-size:15px}
.err{align-self:stretch;display:flex;flex-wrap:wrap;align-items:center;gap:8px 10px;background:#fff3f3;border:1px solid #f0c0c0;color:#7a1c1c;border-radius:10px;padding:10px 12px}
.err p{margin:0;flex:1 1 160px}
.btn{border:1px solid currentColor;background:#fff;border-radius:8px;padding:5px 12px;font-weight:600}
form{display:flex;gap:8px;align-items:flex-end;padding:10px;border-top:1px solid var(--ln);background:#fff}
textarea{flex:1;resize:none;border:1px solid #c4c6ce;border-radius:10px;padding:9px 11px;height:40px;max-height:120px;background:#fff;line-height:1.35}
textarea:focus-visible{outline:2px solid var(--at);outline-offset:0;border-color:transparent}
.go{width:40px;height:40px;border:0;border-radius:10px;background:var(--a);color:var(--ai);display:grid;place-items:center}
.stop{display:flex;align-items:center;gap:6px;height:40px;padding:0 12px;border:1px solid #c4c6ce;background:#fff;border-radius:10px;font-weight:600}
.stop svg{width:12px;height:12px;fill:currentColor;stroke:none}
@media (max-width:400px){.panel{inset:0;width:auto;max-width:none;height:auto;border:0;border-radius:0}.open .launch{display:none}}
@media (prefers-reduced-motion:reduce){*{animation:none!important}}
@keyframes bc-b{50%{opacity:0}}
@keyframes bc-in{from{opacity:0;transform:translateY(8px)}}
`;

  const safeUrl = (u) => {
    try {
      const x = new URL(u);
      return x.protocol === "https:" || x.protocol === "http:" ? x.href : null;
    } catch {
      return null;
    }
  };
  // Text colour that reads on the accent (WCAG relative luminance), for hex accents.
  const ink = (c) => {
    const m = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(c);
    if (!m) return "#fff";
    const x = m[1].length === 3 ? m[1].replace(/./g, "$&$&") : m[1];
    const [r, g, b] = [0, 2, 4].map((i) => {
      const v = parseInt(x.slice(i, i + 2), 16) / 255;
      return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.18 ? "#111" : "#fff";
  };
  const clip = (s, n) => (s.length <= Math.abs(n) ? s : n > 0 ? s.slice(0, n) + "…" : "…" + s.slice(n));
  const strip = (s) => s.replace(/\s*\[\d+\]/g, "");
  let uid = 0;

  class BylineChat extends HTMLElement {
    connectedCallback() {
      if (this.shadowRoot) return;
      const ds = this.dataset;
      const lang = (ds.lang || document.documentElement.lang || navigator.language || "en").slice(0, 2).toLowerCase();
      const t = (this.t = T[lang] || T.en);
      this.lang2 = T[lang] ? lang : "en";
      this.key = ds.key || "";
      this.api = ds.api || BASE;
      this.history = [];
      const root = this.attachShadow({ mode: "open" });
      const style = h("style");
      style.textContent = STYLE;

      this.log = h("div", { class: "log", role: "log", "aria-live": "polite", "aria-relevant": "additions text" },
        h("p", { class: "intro" }, t.intro));
      this.status = h("div", { class: "sr", role: "status" });
      this.q = h("textarea", { id: "q", rows: 1, maxlength: 2000, placeholder: ds.placeholder || t.ph,
        "aria-label": ds.placeholder || t.ph, oninput: () => this.grow(), onkeydown: (e) => {
          if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); this.submit(); }
        } });
      this.go = h("button", { type: "submit", class: "go", "aria-label": t.send, title: t.send }, icon(I.send));
      this.stopBtn = h("button", { type: "button", class: "stop", hidden: true, onclick: () => this.ctl && this.ctl.abort() },
        icon(I.stop), t.stop);
      const title = ds.title || t.title;
      this.panel = h("section", { class: "panel", id: "p", role: "dialog", "aria-modal": "true",
        "aria-labelledby": "h", hidden: true },
        h("header", {}, h("div", {}, h("h2", { id: "h" }, title), h("p", {}, t.sub)),
          h("button", { type: "button", class: "ib", "aria-label": t.close, title: t.close, onclick: () => this.close() }, icon(I.x))),
        this.log, this.status,
        h("form", { onsubmit: (e) => { e.preventDefault(); this.submit(); } }, this.q, this.go, this.stopBtn));
      this.launch = h("button", { type: "button", class: "launch", "aria-label": t.open, "aria-expanded": "false",
        "aria-controls": "p", onclick: () => (this.panel.hidden ? this.open() : this.close()) }, icon(I.chat));
      this.w = h("div", { class: "w" + (ds.position === "bottom-left" ? " left" : ""), lang: this.lang2,
        onkeydown: (e) => this.keys(e) },
        this.panel, this.launch);
      const accent = ds.accent;
      if (accent && CSS.supports("color", accent)) {
        const fg = ink(accent);
        this.w.style.setProperty("--a", accent);
        this.w.style.setProperty("--ai", fg);
        this.w.style.setProperty("--at", fg === "#fff" ? accent : "#111");
      }
      root.append(style, this.w);
      if (ds.open != null && ds.open !== "false") this.open(false);
    }

    open(focus = true) {
      this.panel.hidden = false;
      this.w.classList.add("open");
      this.launch.setAttribute("aria-expanded", "true");
      this.launch.setAttribute("aria-label", this.t.close);
      if (focus) this.q.focus();
    }

    close() {
      this.panel.hidden = true;
      this.w.classList.remove("open");
      this.launch.setAttribute("aria-expanded", "false");
      this.launch.setAttribute("aria-label", this.t.open);
      this.launch.focus();
    }

    // Esc closes; Tab and Shift+Tab stay inside the panel.
    keys(e) {
      if (this.panel.hidden) return;
      if (e.key === "Escape") {
        e.preventDefault();
        e.stopPropagation();
        this.close();
        return;
      }
      if (e.key !== "Tab") return;
      const f = [...this.panel.querySelectorAll("button,textarea,a[href]")].filter((x) => !x.disabled && x.getClientRects().length);
      if (!f.length) return;
      const cur = this.shadowRoot.activeElement;
      const first = f[0], last = f[f.length - 1];
      if (e.shiftKey ? cur === first || !f.includes(cur) : cur === last || !f.includes(cur)) {
        e.preventDefault();
        (e.shiftKey ? last : first).focus();
      }
    }

    grow() {
      this.q.style.height = "auto";
      this.q.style.height = Math.min(this.q.scrollHeight + 2, 120) + "px";
    }

    submit() {
      const text = this.q.value.trim();
      if (!text || this.ctl) return;
      const t = this.t;
      this.q.value = "";
      this.grow();
      this.add(h("div", { class: "m q" }, h("span", { class: "sr" }, t.you + ": "), text));
      this.ask(text, this.history.slice(-20));
    }

    add(node) {
      const intro = this.log.querySelector(".intro");
      if (intro) intro.remove();
      this.log.append(node);
      this.log.scrollTop = this.log.scrollHeight;
      return node;
    }

    busy(on) {
      const refocus = !on && this.shadowRoot.activeElement === this.stopBtn;
      this.go.hidden = on;
      this.stopBtn.hidden = !on;
      this.log.setAttribute("aria-busy", on ? "true" : "false");
      if (refocus) this.q.focus();
    }

    async ask(question, history) {
      const t = this.t;
      const msg = this.add(h("div", { class: "m a live" }));
      const txt = h("p", { class: "t" }, h("span", { class: "wait" }, t.wait));
      msg.append(txt);
      const ctl = (this.ctl = new AbortController());
      this.busy(true);
      this.status.textContent = t.wait;
      let passages = [], draft = "", answer = null;
      try {
        const headers = { "Content-Type": "application/json", Accept: "text/event-stream" };
        if (this.key) headers.Authorization = "Bearer " + this.key;
        let res;
        try {
          res = await fetch(new URL("v1/ask", this.api), { method: "POST", headers, signal: ctl.signal,
            credentials: "omit", body: JSON.stringify({ question, history, stream: true }) });
        } catch (e) {
          if (e.name === "AbortError") throw e;
          throw { text: navigator.onLine === false ? t.offline : await this.why() };
        }
        if (!res.ok) throw await this.httpError(res);
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf = (buf + value).replace(/\r\n?/g, "\n");
          const blocks = buf.split("\n\n");
          buf = blocks.pop();
          for (const block of blocks) {
            let ev = "message";
            const data = [];
            for (const line of block.split("\n")) {
              if (line.startsWith("event:")) ev = line.slice(6).trim();
              else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
            }
            if (!data.length) continue;
            const d = JSON.parse(data.join("\n"));
            if (ev === "citations") passages = d.citations || [];
            else if (ev === "delta") {
              draft += d.text || "";
              txt.textContent = draft;
              this.log.scrollTop = this.log.scrollHeight;
            } else if (ev === "done") answer = d;
            else if (ev === "error") throw this.problem(d.status, d.retry_after);
          }
        }
        if (!answer) throw { text: t.cut };
        this.render(msg, answer, passages);
        this.status.textContent = t.ready;
        this.history.push({ role: "user", content: question.slice(0, 4000) },
          { role: "assistant", content: strip(answer.text).slice(0, 4000) || "-" });
      } catch (e) {
        msg.classList.remove("live");
        if (e && e.name === "AbortError") {
          if (!draft) txt.remove();
          msg.append(h("p", { class: "note" }, t.stopped));
          this.status.textContent = t.stopped;
        } else {
          if (!draft) msg.remove();
          this.fail(e && e.text ? e.text : t.fail, question, history, draft ? msg : null);
        }
      } finally {
        ctl.abort(); // closes the stream if it ended early (an `error` event); no-op when done
        this.ctl = null;
        this.busy(false);
      }
    }

    // A network error: offline, service down, or (CORS refused) this origin isn't allowed.
    async why() {
      try {
        const r = await fetch(new URL("widget/check?key=" + encodeURIComponent(this.key), this.api), { credentials: "omit" });
        return r.status === 401 || r.status === 403 ? this.t.refused : this.t.down;
      } catch {
        return this.t.down;
      }
    }

    async httpError(res) {
      let body = {};
      try {
        body = await res.json();
      } catch {}
      return this.problem(res.status, res.headers.get("Retry-After") || body.retry_after);
    }

    problem(status, retry) {
      const t = this.t;
      const s = {
        429: t.rate.replace("{s}", parseInt(retry, 10) || 10), 503: t.busy, 401: t.refused, 403: t.refused,
        504: t.slow, 413: t.bad, 422: t.bad,
      }[status];
      return { text: s || t.fail };
    }

    fail(text, question, history, partial) {
      const box = this.add(h("div", { class: "err", role: "alert" }, h("p", {}, text)));
      box.append(h("button", { type: "button", class: "btn", onclick: () => {
        if (this.ctl) return;
        box.remove();
        if (partial) partial.remove();
        this.q.focus();
        this.ask(question, history);
      } }, this.t.retry));
    }

    // The verified answer replaces the draft: text with [n] buttons, a source card slot,
    // the abstention style, conflicts side by side.
    render(msg, ans, passages) {
      const t = this.t;
      msg.textContent = "";
      msg.className = "m a" + (ans.abstained ? " ab" : "");
      const cites = new Map((ans.citations || []).map((c) => [c.n, c]));
      const slot = h("div", { id: "s" + ++uid });
      if (ans.abstained) msg.append(h("p", { class: "tag" }, icon(I.info), t.abst));
      const p = h("p", { class: "t" });
      for (const part of String(ans.text || "").split(/(\[\d+\])/)) {
        const c = /^\[\d+\]$/.test(part) && cites.get(+part.slice(1, -1));
        if (!c) {
          if (part) p.append(part);
          continue;
        }
        const b = h("button", { type: "button", class: "cite", "aria-expanded": "false", "aria-controls": slot.id,
          "aria-label": t.src + " " + c.n + ": " + c.title }, String(c.n));
        b.addEventListener("click", () => {
          const was = b.getAttribute("aria-expanded") === "true";
          for (const o of msg.querySelectorAll(".cite")) o.setAttribute("aria-expanded", "false");
          slot.textContent = "";
          if (!was) {
            b.setAttribute("aria-expanded", "true");
            slot.append(this.card(c, passages));
            slot.scrollIntoView({ block: "nearest" });
          }
        });
        p.append(b);
      }
      msg.append(p, slot);
      for (const cf of ans.conflicts || []) {
        const sides = (cf.values || []).slice(0, 2).map((v, i) => {
          const c = cites.get((cf.citations || [])[i]);
          return c && h("div", {}, this.card(c, passages, v));
        });
        msg.append(h("div", { class: "cf", role: "group", "aria-label": t.conf },
          h("p", { class: "tag" }, icon(I.warn), t.conf), h("p", {}, cf.description || ""),
          h("div", { class: "pair" }, ...sides)));
      }
    }

    // A source card: title, outlet · date, the passage with the quote marked, the link.
    // With `value` (a conflict side), that value is what is marked.
    card(c, passages, value) {
      let text = c.quote || "", a = 0, b = text.length;
      const p = passages.find((x) => x.article_id === c.article_id && x.start <= c.start && c.end <= x.end);
      if (p && p.quote.slice(c.start - p.start, c.end - p.start) === text) {
        a = c.start - p.start;
        b = c.end - p.start;
        text = p.quote;
      }
      if (value) {
        const i = text.toLowerCase().indexOf(value.toLowerCase(), a);
        if (i >= 0) [a, b] = [i, i + value.length];
      }
      const meta = [c.source, this.date(c.date)].filter(Boolean).join(" · ");
      const url = c.url && safeUrl(c.url);
      return h("article", { class: "src" },
        value ? h("strong", { class: "val" }, value) : h("p", { class: "k" }, this.t.src + " " + c.n),
        h("h3", {}, c.title || ""),
        meta && h("div", { class: "meta" }, meta),
        h("blockquote", {}, clip(text.slice(0, a), value ? -90 : -180), h("mark", {}, text.slice(a, b)),
          clip(text.slice(b), value ? 90 : 180)),
        url && h("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, this.t.read, icon(I.ext)));
    }

    date(d) {
      const m = /^(\d{4})-(\d\d)-(\d\d)/.exec(d || "");
      if (!m) return d || "";
      try {
        return new Date(+m[1], m[2] - 1, +m[3]).toLocaleDateString(this.lang2, { year: "numeric", month: "short", day: "numeric" });
      } catch {
        return d;
      }
    }
  }

  customElements.define(TAG, BylineChat);
  const mount = () => {
    if (!me || document.querySelector(TAG)) return;
    const el = document.createElement(TAG);
    Object.assign(el.dataset, me.dataset);
    document.body.append(el);
  };
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
