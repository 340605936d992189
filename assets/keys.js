// Orrery keyboard: j/k next/previous entry, o open it, / search, ? this help, Esc close.
// Loaded on every page (no inline script: the CSP stays strict). Keys are ignored while
// typing in a field or with a modifier held, so browser and screen-reader keys still work.
// Its words are the planet's (PLANET_LANG): the layout puts the catalog's `js.keys.*`
// messages on this script element (`data-strings`).
(() => {
  "use strict";
  let STRINGS = {};
  try { STRINGS = JSON.parse(document.currentScript.dataset.strings || "{}"); } catch { /* keys stand in */ }
  const tr = (key) => (typeof STRINGS[key] === "string" ? STRINGS[key] : key);
  const KEYS = [
    ["j", tr("js.keys.next")],
    ["k", tr("js.keys.previous")],
    ["o", tr("js.keys.open")],
    ["/", tr("js.keys.search")],
    ["?", tr("js.keys.help")],
    ["Esc", tr("js.keys.close_help")],
  ];
  const SELECTOR = "main article.entry, main ol.titles li[data-id], main ol.search-results li[data-id]";
  let currentId = null; // by id: the live script may swap the element for an updated copy
  const reduced = window.matchMedia("(prefers-reduced-motion: reduce)").matches;

  const items = () => [...document.querySelectorAll(SELECTOR)];
  const keyOf = (el) => el.id || `item-${el.dataset.id}`;
  function current() {
    if (!currentId) return null;
    return items().find((el) => keyOf(el) === currentId) || null;
  }

  function typing(t) {
    return t instanceof HTMLElement && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
  }

  function select(el) {
    for (const old of document.querySelectorAll(".current")) old.classList.remove("current");
    currentId = keyOf(el);
    el.classList.add("current");
    if (!el.hasAttribute("tabindex")) el.tabIndex = -1;
    el.focus({ preventScroll: true });
    el.scrollIntoView({ block: "start", behavior: reduced ? "auto" : "smooth" });
  }

  function move(step) {
    const list = items();
    if (!list.length) return;
    const at = list.indexOf(current());
    let next;
    if (at < 0) {
      // Nothing chosen yet: start from what is on screen.
      const shown = list.findIndex((el) => el.getBoundingClientRect().bottom > 80);
      next = shown < 0 ? list.length - 1 : shown;
    } else {
      next = Math.min(list.length - 1, Math.max(0, at + step));
    }
    select(list[next]);
  }

  function open() {
    const el = current();
    const link = el && (el.querySelector("a.title") || el.querySelector("a.permalink"));
    if (link) window.location.assign(link.href);
  }

  function search() {
    const input = document.querySelector("main form[role=search] input[type=search]") || document.getElementById("site-q");
    if (input) { input.focus(); input.select(); } else window.location.assign("/search");
  }

  let dialog = null;
  function help() {
    if (!dialog) {
      dialog = document.createElement("dialog");
      dialog.className = "keys-help";
      dialog.id = "keys-help";
      dialog.setAttribute("aria-labelledby", "keys-help-title");
      const h = document.createElement("h2");
      h.id = "keys-help-title";
      h.textContent = tr("js.keys.title");
      const dl = document.createElement("dl");
      for (const [key, what] of KEYS) {
        const dt = document.createElement("dt");
        const kbd = document.createElement("kbd");
        kbd.textContent = key;
        dt.append(kbd);
        const dd = document.createElement("dd");
        dd.textContent = what;
        dl.append(dt, dd);
      }
      const form = document.createElement("form");
      form.method = "dialog";
      const close = document.createElement("button");
      close.type = "submit";
      close.textContent = tr("js.keys.close");
      form.append(close);
      dialog.append(h, dl, form);
      document.body.append(dialog);
    }
    if (!dialog.open) dialog.showModal();
  }

  document.addEventListener("keydown", (ev) => {
    if (ev.defaultPrevented || ev.ctrlKey || ev.metaKey || ev.altKey || typing(ev.target)) return;
    if (dialog && dialog.open) return; // the dialog has its own keys (Esc closes it)
    switch (ev.key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "o": open(); break;
      case "/": search(); break;
      case "?": help(); break;
      default: return;
    }
    ev.preventDefault();
  });

  const hint = document.getElementById("keys-open");
  if (hint) {
    hint.addEventListener("click", help);
    hint.closest(".keys-hint").hidden = false;
  }
})();
