// Orrery live timeline: follows the page's WebSocket, inserts new entries at the top,
// replaces an entry in place when an `update` frame brings its completed or edited
// version, reconnects with backoff + jitter and resumes from the newest entry on the
// page (and the newest revision it has seen, for updates missed while away).
// Without JavaScript the page is a plain page; this only adds to it.
// Keepalive costs nearly nothing: every frame a client sends is a billed Durable Object
// request (at 20:1), so there is no periodic ping. The socket is probed (one `ping`,
// answered by the runtime without waking the object) only when it may have died
// unnoticed: when the page becomes visible again or the network comes back, and, while
// visible, after 10 minutes without any frame from the server. No `pong` within 10 s:
// the socket is dropped and the page reconnects and resumes.
(() => {
  "use strict";
  const script = document.currentScript;
  const wsPath = script && script.dataset.ws;
  const river = document.getElementById("river");
  const status = document.getElementById("live-status");
  const pill = document.getElementById("new-pill");
  if (!wsPath || !river || !("WebSocket" in window)) return;

  const root = document.documentElement;
  let socket = null;
  let attempt = 0;
  let pending = 0; // entries inserted while the reader was scrolled down
  // Newest entry revision seen: the page's at render, then every update's.
  let revision = Number(river.dataset.revision) || 0;
  let lastHeard = Date.now();
  let pongTimer = null;
  const PROBE_IDLE_MS = 10 * 60 * 1000;
  const PONG_WAIT_MS = 10 * 1000;

  function setState(state, readers) {
    root.dataset.live = state;
    if (!status) return;
    status.dataset.state = state;
    status.querySelector(".label").textContent = state;
    if (readers !== undefined) {
      status.querySelector(".readers").textContent = ` · ${readers} reading`;
    }
  }

  function newestId() {
    let max = 0;
    for (const a of river.querySelectorAll("article[data-id]")) {
      max = Math.max(max, Number(a.dataset.id) || 0);
    }
    return max;
  }

  function localTimes(scope) {
    // Entry times in the reader's own time; day headings stay the planet's (UTC) days.
    for (const t of scope.querySelectorAll("time[datetime]:not(.day-date)")) {
      const d = new Date(t.getAttribute("datetime"));
      if (!isNaN(d)) t.textContent = d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
    }
  }

  /** The river's section for the (UTC) day of `published`, made where it belongs (days newest first). */
  function dayGroup(published) {
    const key = new Date(published).toISOString().slice(0, 10);
    const groups = [...river.querySelectorAll(":scope > section.day")];
    const found = groups.find((g) => g.dataset.day === key);
    if (found) return found;
    const group = document.createElement("section");
    group.className = "day";
    group.dataset.day = key;
    const h = document.createElement("h2");
    h.className = "day-heading";
    const t = document.createElement("time");
    t.className = "day-date";
    t.dateTime = key;
    // The same words the server writes: "Tuesday, 24 November 2026".
    t.textContent = new Date(`${key}T00:00:00Z`).toLocaleDateString("en-GB",
      { timeZone: "UTC", weekday: "long", day: "numeric", month: "long", year: "numeric" });
    h.append(t);
    group.append(h);
    river.insertBefore(group, groups.find((g) => g.dataset.day < key) || null);
    return group;
  }

  function readerIsDown() {
    return window.scrollY > 200;
  }

  function showPill() {
    if (!pill) return;
    pill.hidden = pending === 0;
    pill.querySelector(".count").textContent = String(pending);
  }

  function insert(msg) {
    const id = msg.entry && msg.entry.id;
    if (!id || document.getElementById(`entry-${id}`)) return; // exactly once on the page
    const tpl = document.createElement("template");
    tpl.innerHTML = msg.html; // server-rendered, sanitized partial
    const article = tpl.content.firstElementChild;
    if (!article) return;
    // Keep the river in publication order: a back-dated entry goes where it belongs,
    // in its day's section (made when the page has none for that day yet).
    const published = msg.entry.published;
    const articles = [...river.querySelectorAll("article[data-id]")];
    const before = articles.find((a) => {
      const t = Date.parse(a.querySelector("time")?.getAttribute("datetime") || "");
      return !isNaN(t) && t <= published;
    }) || null;
    if (!before && articles.length) return; // older than everything shown: it belongs on a later page
    const atTop = articles.length === 0 || before === articles[0];
    const keepPlace = readerIsDown() && atTop;
    const height0 = document.documentElement.scrollHeight;
    const group = dayGroup(published);
    if (before && before.parentElement === group) group.insertBefore(article, before);
    else group.append(article); // the oldest of its day on this page
    localTimes(article);
    article.classList.add("fresh");
    setTimeout(() => article.classList.remove("fresh"), 2500);
    document.getElementById("empty")?.remove();
    if (keepPlace) {
      // Do not move what the reader is looking at.
      window.scrollBy(0, document.documentElement.scrollHeight - height0);
      pending += 1;
      showPill();
    }
  }

  /** An entry rewritten (its whole body arrived, or the publisher edited it): swap it in place. */
  function replace(msg) {
    const rev = msg.entry && msg.entry.rev;
    if (rev > revision) revision = rev;
    const old = msg.entry && document.getElementById(`entry-${msg.entry.id}`);
    if (!old) return; // not on this page: nothing to do
    const tpl = document.createElement("template");
    tpl.innerHTML = msg.html; // server-rendered, sanitized partial
    const article = tpl.content.firstElementChild;
    if (!article) return;
    const height0 = document.documentElement.scrollHeight;
    const above = old.getBoundingClientRect().bottom < 0;
    old.replaceWith(article);
    localTimes(article);
    // An entry above what the reader is looking at must not push the view.
    if (above) window.scrollBy(0, document.documentElement.scrollHeight - height0);
  }

  function heard() {
    lastHeard = Date.now();
    clearTimeout(pongTimer);
    pongTimer = null;
  }

  /** One ping; without an answer in time the socket is dead: drop it and reconnect. */
  function probe() {
    if (!socket || socket.readyState !== 1 || pongTimer) return;
    socket.send("ping");
    pongTimer = setTimeout(() => {
      pongTimer = null;
      const dead = socket;
      if (dead && dead.readyState === 1) dead.close(4000, "no pong");
      if (dead && dead.onclose) dead.onclose();
      if (dead) dead.onclose = null;
    }, PONG_WAIT_MS);
  }

  function connect() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    socket = new WebSocket(`${proto}//${location.host}${wsPath}`);
    socket.onopen = () => {
      attempt = 0;
      heard();
      socket.send(JSON.stringify({ type: "resume", since: newestId(), revision }));
    };
    socket.onmessage = (ev) => {
      heard();
      if (ev.data === "pong") return;
      let msg;
      try { msg = JSON.parse(ev.data); } catch { return; }
      if (msg.type === "hello") setState("live", msg.clients);
      else if (msg.type === "entry") insert(msg);
      else if (msg.type === "update") replace(msg);
      else if (msg.type === "synced") {
        if (msg.revision > revision) revision = msg.revision;
        setState("live");
      }
    };
    socket.onclose = () => {
      clearTimeout(pongTimer);
      pongTimer = null;
      if (!navigator.onLine) { setState("offline"); return; }
      setState("reconnecting");
      // Exponential backoff with full jitter, capped at 30 s.
      const delay = Math.random() * Math.min(30000, 500 * 2 ** attempt);
      attempt += 1;
      setTimeout(connect, delay);
    };
  }

  if (pill) {
    pill.querySelector("button").addEventListener("click", () => {
      pending = 0;
      showPill();
      window.scrollTo({ top: 0, behavior: "smooth" });
    });
    window.addEventListener("scroll", () => {
      if (!readerIsDown() && pending) { pending = 0; showPill(); }
    }, { passive: true });
  }
  window.addEventListener("online", () => { if (!socket || socket.readyState > 1) connect(); else probe(); });
  document.addEventListener("visibilitychange", () => { if (!document.hidden) probe(); });
  setInterval(() => { if (!document.hidden && Date.now() - lastHeard > PROBE_IDLE_MS) probe(); }, 60 * 1000);
  window.addEventListener("offline", () => setState("offline"));
  localTimes(document);
  setState("connecting");
  connect();
})();
