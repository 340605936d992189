// Orrery live timeline: follows the page's WebSocket, inserts new entries at the top,
// replaces an entry in place when an `update` frame brings its completed or edited
// version, names another member on an article they also posted (a `merge` frame),
// reconnects with backoff + jitter and resumes from the newest entry on the page (and the
// newest revision it has seen, for updates missed while away).
// Without JavaScript the page is a plain page; this only adds to it.
// On the search page (the river carries `data-q`) it follows the search instead, once the
// reader asks ("Follow this search live"): the socket subscribes to the query and the
// river shows only the new entries that match it (`?live=1` in the address keeps following
// after a reload).
// "New since your last visit": the river remembers (localStorage, per page; no cookie, no
// account) the newest entry it showed; the next visit marks the entries with larger ids
// (on the page, or brought by the first resume), says how many, and counts through
// /api/entries those that are not on the first page (bounded).
// Keepalive costs nearly nothing: every frame a client sends is a billed Durable Object
// request (at 20:1), so there is no periodic ping. The socket is probed (one `ping`,
// answered by the runtime without waking the object) only when it may have died
// unnoticed: when the page becomes visible again or the network comes back, and, while
// visible, after 10 minutes without any frame from the server. No `pong` within 10 s:
// the socket is dropped and the page reconnects and resumes.
// The fair front page (the river carries `data-river-cap`): the socket sends every entry;
// one past the cap of its member's day (its `day_rank`) is not shown, and the "N more from
// this member" link after that member's last shown entry of the day is raised or updated
// instead. Days are the planet's (`data-tz`, PLANET_TIMEZONE), as the server's headings.
// A page too far behind to catch up over the socket (a `reload` frame: its resume reached
// back past the server's bound) reloads itself, at most once in ten minutes; a socket
// closed with 4429 (too many frames from this address) waits a minute before reconnecting.
// Its words are the planet's (PLANET_LANG): the layout puts the catalog's `js.*` and `date.*`
// messages on this script element (`data-strings`), so nothing is fetched for them.
(() => {
  "use strict";
  const script = document.currentScript;
  const wsPath = script && script.dataset.ws;
  let STRINGS = {};
  try { STRINGS = JSON.parse((script && script.dataset.strings) || "{}"); } catch { /* keys stand in */ }
  const LANG = document.documentElement.lang || "en";
  const plurals = new Intl.PluralRules(LANG);
  const fill = (s, vars) => s.replace(/\{(\w+)\}/g, (m, k) => (vars && k in vars ? String(vars[k]) : m));
  /** A catalog message, `{name}` placeholders filled from `vars`. */
  const tr = (key, vars) => fill(typeof STRINGS[key] === "string" ? STRINGS[key] : key, vars);
  /** The plural form of a message for `count` (the language's CLDR rule); `{n}` is `n`. */
  const trn = (key, count, n, vars) => {
    const forms = STRINGS[key] || {};
    return fill(forms[plurals.select(count)] || forms.other || key, { n, ...vars });
  };
  const STATE_WORDS = {
    offline: tr("js.state.offline"),
    connecting: tr("js.state.connecting"),
    live: tr("js.state.live"),
    reconnecting: tr("js.state.reconnecting"),
    off: tr("js.state.off"),
  };
  const river = document.getElementById("river");
  const status = document.getElementById("live-status");
  const pill = document.getElementById("new-pill");
  if (!wsPath || !river || !("WebSocket" in window)) return;

  const root = document.documentElement;
  const query = river.dataset.q || null; // a followed search: only its matches arrive
  let following = !query; // a search is followed only when the reader asks
  let socket = null;
  let attempt = 0;
  // Following a search: how far the server has checked (its `latest` at the first hello,
  // then each `synced`): a reconnect resumes from there, not from the newest match.
  let checked = null;
  let pending = 0; // entries inserted while the reader was scrolled down
  // Newest entry revision seen: the page's at render, then every update's.
  let revision = Number(river.dataset.revision) || 0;
  let lastHeard = Date.now();
  let pongTimer = null;
  const PROBE_IDLE_MS = 10 * 60 * 1000;
  const PONG_WAIT_MS = 10 * 1000;
  // A resume refused by the address's or the planet's budget, or while the limiter is away.
  const RESUME_LATER = ["rate_limited", "busy", "unavailable"];
  const RESUME_RETRY_MS = 60000;
  const CLOSE_CLIENT_FLOOD = 4429;
  const CLOSE_PLANET_BUSY = 4503; // docs/protocol.md: every address together sent too many // docs/protocol.md: the address sent too many frames
  const FLOOD_WAIT_MS = 60 * 1000;
  const RELOAD_KEY = "orrery:reloaded";
  const RELOAD_EVERY_MS = 10 * 60 * 1000;
  const tz = river.dataset.tz || "UTC"; // the planet's days
  const cap = query ? 0 : Number(river.dataset.riverCap) || 0; // the fair front page
  let skipped = 0; // the newest entry left out by the cap (a resume starts after it)
  // ---- Interface strings of the fair river (to move into the catalogs; the server's are
  // in src/core/river.rs `more_from_member`) ---------------------------------------------
  const MORE_TODAY = (n) => trn("js.river.more_today", n, n);
  const MORE_THAT_DAY = (n) => trn("js.river.more_that_day", n, n);

  /** The page is too old to catch up frame by frame: reload it, unless this tab did so
   *  lately (then the socket simply goes on live from `latest`, as the server has it). */
  function reloadOnce() {
    let last = 0;
    try { last = Number(sessionStorage.getItem(RELOAD_KEY)) || 0; } catch { return false; }
    if (Date.now() - last < RELOAD_EVERY_MS) return false;
    try { sessionStorage.setItem(RELOAD_KEY, String(Date.now())); } catch { return false; }
    location.reload();
    return true;
  }

  function setState(state, readers) {
    root.dataset.live = state;
    if (!status) return;
    status.dataset.state = state;
    status.querySelector(".label").textContent = STATE_WORDS[state] || state;
    if (readers !== undefined) {
      status.querySelector(".readers").textContent = trn("js.readers", readers, readers.toLocaleString(LANG));
    }
  }

  function newestId() {
    let max = skipped;
    for (const a of river.querySelectorAll("article[data-id]")) {
      max = Math.max(max, Number(a.dataset.id) || 0);
    }
    // Other members' copies of an article shown once (its "also posted by" line) count too.
    for (const p of river.querySelectorAll(".also-posted[data-copies]")) {
      for (const id of p.dataset.copies.split(" ")) max = Math.max(max, Number(id) || 0);
    }
    return max;
  }

  // ---- New since your last visit -------------------------------------------------------
  // "Shown" means: on the page when it loaded, or inserted while it was open (the first
  // resume's catch-up included). The remembered id only grows.
  const seenKey = query ? null : `orrery:seen:${location.pathname}`;
  const MAX_COUNT_PAGES = 3; // /api/entries pages read to count what the page does not show
  const COUNT_PAGE = 200;
  function storedSeen() {
    try {
      const v = seenKey && localStorage.getItem(seenKey);
      return v && /^\d+$/.test(v) ? Number(v) : null;
    } catch { return null; } // storage refused (privacy settings): no marks, nothing breaks
  }
  function rememberSeen() {
    const newest = newestId();
    if (!seenKey || !newest) return;
    try {
      if (newest > (storedSeen() || 0)) localStorage.setItem(seenKey, String(newest));
    } catch { /* storage refused: nothing to remember */ }
  }
  const lastVisit = storedSeen(); // null on a first visit: nothing is marked
  let catchingUp = true; // until the first `synced`, arrivals are part of the visit's news

  function markUnseen(article) {
    if (lastVisit === null || !(Number(article.dataset.id) > lastVisit)) return;
    if (article.classList.contains("unseen")) return;
    article.classList.add("unseen");
    const badge = document.createElement("span");
    badge.className = "unseen-badge";
    badge.textContent = tr("js.unseen");
    const meta = article.querySelector(".meta");
    if (meta) meta.prepend(badge, " ");
  }

  /** The visit's catch-up is over (the first `synced`, or the socket did not answer). */
  function caughtUp() {
    if (!catchingUp) return;
    catchingUp = false;
    rememberSeen();
    tellSinceVisit();
  }

  function sinceVisitBanner() {
    let p = document.getElementById("since-visit");
    if (!p) {
      p = document.createElement("p");
      p.id = "since-visit";
      p.className = "since-visit";
      p.setAttribute("role", "status");
      river.before(p);
    }
    return p;
  }

  /** Says how many entries arrived since the last visit: those marked here and, when
   *  every entry on the page is new (the page does not reach back to the last visit) and
   *  there are older pages, those not on the page, counted through the API (bounded). */
  async function tellSinceVisit() {
    if (lastVisit === null) return;
    const marked = river.querySelectorAll("article.unseen").length;
    const shown = new Set([...river.querySelectorAll("article[data-id]")].map((a) => Number(a.dataset.id)));
    let older = 0;
    let more = false;
    if (marked && marked === shown.size && document.querySelector('.pager a[rel="next"]')) {
      const feed = /^\/feeds\/(\d+)$/.exec(location.pathname);
      let since = lastVisit;
      try {
        for (let i = 0; i < MAX_COUNT_PAGES; i++) {
          const url = `/api/entries?since=${since}&limit=${COUNT_PAGE}${feed ? `&feed=${feed[1]}` : ""}`;
          const r = await fetch(url, { headers: { Accept: "application/json" } });
          if (!r.ok) break;
          const body = await r.json();
          // What the fair river would show: not the entries past a member's daily cap, nor a
          // copy of an article shown once (`same_as`), which is not news of its own.
          older += body.entries.filter((e) => !shown.has(e.id) && !(cap && e.day_rank > cap) && !e.same_as).length;
          more = Boolean(body.next) && body.entries.length === COUNT_PAGE;
          if (!more) break;
          since = body.next;
        }
      } catch { /* offline: the page's own count stands */ }
    }
    const total = marked + older;
    if (!total) return;
    const p = sinceVisitBanner();
    const plus = more ? "+" : "";
    // "5+" is more than one whatever the language: its plural is the form for a large count.
    p.textContent = trn("js.since_visit", more ? 1000 : total, `${total.toLocaleString(LANG)}${plus}`);
    if (older) p.textContent += tr("js.on_older_pages", { n: `${older.toLocaleString(LANG)}${plus}` });
    p.textContent += ".";
  }

  function localTimes(scope) {
    // Entry times in the reader's own time, written the planet's language's way; day
    // headings stay the planet's days (PLANET_TIMEZONE).
    for (const t of scope.querySelectorAll("time[datetime]:not(.day-date)")) {
      const d = new Date(t.getAttribute("datetime"));
      if (!isNaN(d)) t.textContent = d.toLocaleString(LANG, { dateStyle: "medium", timeStyle: "short" });
    }
  }

  /** `2026-11-24`: the planet's day of a time (the key the server writes in `data-day`). */
  const dayParts = new Intl.DateTimeFormat("en-GB", { timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit" });
  function dayKey(published) {
    const p = Object.fromEntries(dayParts.formatToParts(new Date(published)).map((x) => [x.type, x.value]));
    return `${p.year}-${p.month}-${p.day}`;
  }

  /** The river's section for the planet's day of `published`, made where it belongs (days newest first). */
  function dayGroup(published) {
    const key = dayKey(published);
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
    // The same words the server writes ("Tuesday, 24 November 2026"), from the same catalog.
    const day = new Date(`${key}T00:00:00Z`);
    t.textContent = tr("date.day_heading", {
      weekday: tr("date.weekdays").split("|")[(day.getUTCDay() + 6) % 7],
      day: day.getUTCDate(),
      month: tr("date.months").split("|")[day.getUTCMonth()],
      year: day.getUTCFullYear(),
    });
    h.append(t);
    group.append(h);
    river.insertBefore(group, groups.find((g) => g.dataset.day < key) || null);
    return group;
  }

  /** An entry past its member's daily cap: not shown; the "N more from this member" link
   *  after the member's last shown entry of that day says it is there (raised when missing). */
  function moreFromMember(entry) {
    if (entry.id > skipped) skipped = entry.id;
    const key = dayKey(entry.published);
    const group = river.querySelector(`:scope > section.day[data-day="${key}"]`);
    if (!group) return; // that day is not on this page
    const n = entry.day_rank - cap; // ranks count the member's day in the order entries arrive
    let p = group.querySelector(`p.more-from[data-feed="${entry.feed_id}"]`);
    if (!p) {
      const last = group.querySelector(`article[data-feed="${entry.feed_id}"][data-day-rank="${cap}"]`);
      if (!last) return;
      p = document.createElement("p");
      p.className = "more-from";
      p.dataset.feed = String(entry.feed_id);
      p.dataset.day = key;
      const a = document.createElement("a");
      a.href = `/feeds/${entry.feed_id}`;
      p.append(a);
      last.after(p);
    }
    if (n <= (Number(p.dataset.more) || 0)) return;
    p.dataset.more = String(n);
    p.querySelector("a").textContent = key === dayKey(Date.now()) ? MORE_TODAY(n) : MORE_THAT_DAY(n);
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
    if (cap && msg.entry.day_rank > cap) { moreFromMember(msg.entry); return; }
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
    // Older than everything shown: it belongs on a later page (a search's river shows every match).
    if (!before && articles.length && !query) return;
    const atTop = articles.length === 0 || before === articles[0];
    const keepPlace = readerIsDown() && atTop;
    const height0 = document.documentElement.scrollHeight;
    const group = dayGroup(published);
    if (before && before.parentElement === group) group.insertBefore(article, before);
    else group.append(article); // the oldest of its day on this page
    localTimes(article);
    if (catchingUp) markUnseen(article);
    article.classList.add("fresh");
    setTimeout(() => article.classList.remove("fresh"), 2500);
    rememberSeen();
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
    // Not on this page: nothing to do; except following a search, where only matching
    // updates arrive (an entry whose whole post came later may match only now).
    if (!old) { if (query && !msg.entry.same_as) insert(msg); return; }
    const tpl = document.createElement("template");
    tpl.innerHTML = msg.html; // server-rendered, sanitized partial
    const article = tpl.content.firstElementChild;
    if (!article) return;
    const height0 = document.documentElement.scrollHeight;
    const above = old.getBoundingClientRect().bottom < 0;
    const unseen = old.classList.contains("unseen");
    old.replaceWith(article);
    if (unseen) markUnseen(article);
    localTimes(article);
    // An entry above what the reader is looking at must not push the view.
    if (above) window.scrollBy(0, document.documentElement.scrollHeight - height0);
  }

  /** Another member posted an article this page shows (a `merge` frame): the article
   *  names them too, from the server-rendered "also posted by" line it carries. Not on
   *  this page: nothing to do (the river shows the article once, where it was). */
  function merge(msg) {
    const article = document.getElementById(`entry-${msg.into}`);
    if (!article || !msg.html) return;
    const tpl = document.createElement("template");
    tpl.innerHTML = msg.html; // server-rendered partial, names escaped
    const line = tpl.content.firstElementChild;
    if (!line) return;
    const old = article.querySelector(".also-posted");
    if (old) old.replaceWith(line);
    else (article.querySelector(".meta") || article.querySelector("header") || article).after(line);
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
    // Not following, or already connected (a reconnect timer left over from before a stop).
    if (!following || (socket && socket.readyState <= 1)) return;
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    socket = new WebSocket(`${proto}//${location.host}${wsPath}`);
    socket.onopen = () => {
      attempt = 0;
      heard();
      // A search first (frames are read in order, so the resume already filters by it).
      if (query) socket.send(JSON.stringify({ type: "subscribe", q: query }));
      // Following a search from now: the first hello says where "now" is.
      if (!query || checked !== null) {
        socket.send(JSON.stringify({ type: "resume", since: Math.max(newestId(), checked || 0), revision }));
      }
    };
    socket.onmessage = (ev) => {
      heard();
      if (ev.data === "pong") return;
      let msg;
      try { msg = JSON.parse(ev.data); } catch { return; }
      if (msg.type === "hello") {
        setState("live", msg.clients);
        if (query && checked === null) checked = msg.latest || 0;
      } else if (msg.type === "entry") insert(msg);
      else if (msg.type === "update") replace(msg);
      else if (msg.type === "merge") merge(msg);
      else if (msg.type === "synced") {
        if (msg.revision > revision) revision = msg.revision;
        if (checked !== null && msg.latest > checked) checked = msg.latest;
        setState("live");
        caughtUp();
      } else if (msg.type === "reload") {
        if (msg.revision > revision) revision = msg.revision;
        if (checked !== null && msg.latest > checked) checked = msg.latest;
        if (query || !reloadOnce()) { setState("live"); caughtUp(); }
      } else if (msg.type === "error" && RESUME_LATER.includes(msg.code)) {
        // The resume was refused for now (docs/protocol.md): ask again after the minute.
        const again = socket;
        setTimeout(() => {
          if (socket === again && again.readyState === 1) {
            again.send(JSON.stringify({ type: "resume", since: Math.max(newestId(), checked || 0), revision }));
          }
        }, RESUME_RETRY_MS + Math.random() * 10000);
      } else if (msg.type === "error" && query) {
        followNote(msg.message || tr("js.cannot_follow"));
      }
    };
    socket.onclose = (ev) => {
      clearTimeout(pongTimer);
      pongTimer = null;
      if (!following) return;
      if (!navigator.onLine) { setState("offline"); return; }
      setState("reconnecting");
      // Exponential backoff with full jitter, capped at 30 s.
      let delay = Math.random() * Math.min(30000, 500 * 2 ** attempt);
      if (ev && (ev.code === CLOSE_CLIENT_FLOOD || ev.code === CLOSE_PLANET_BUSY)) delay += FLOOD_WAIT_MS;
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
  // ---- Follow this search live ---------------------------------------------------------
  const followBox = document.getElementById("live-search");
  const followButton = document.getElementById("follow-live");
  function followNote(text) {
    const note = document.getElementById("live-search-note");
    if (note) note.textContent = text;
  }
  function setFollowing(on) {
    following = on;
    followButton.setAttribute("aria-pressed", String(on));
    followButton.textContent = on ? tr("js.stop") : tr("js.follow");
    const url = new URL(location.href);
    if (on) url.searchParams.set("live", "1"); else url.searchParams.delete("live");
    history.replaceState(history.state, "", url);
    if (on) {
      setState("connecting");
      followNote(tr("js.following"));
      connect();
    } else {
      const s = socket;
      socket = null;
      if (s) { s.onclose = null; s.close(1000, "stopped following"); }
      setState("off");
      followNote(tr("js.not_following"));
    }
  }

  window.addEventListener("online", () => { if (!following) return; if (!socket || socket.readyState > 1) connect(); else probe(); });
  document.addEventListener("visibilitychange", () => { if (!document.hidden) probe(); });
  setInterval(() => { if (!document.hidden && Date.now() - lastHeard > PROBE_IDLE_MS) probe(); }, 60 * 1000);
  window.addEventListener("offline", () => { if (following) setState("offline"); });
  localTimes(document);
  if (query) {
    if (!followBox || !followButton) return;
    followBox.hidden = false;
    followButton.addEventListener("click", () => setFollowing(!following));
    setFollowing(new URL(location.href).searchParams.get("live") === "1");
    return;
  }
  for (const a of river.querySelectorAll("article[data-id]")) markUnseen(a);
  rememberSeen();
  setTimeout(caughtUp, 10 * 1000); // no socket answer: count what the page shows
  setState("connecting");
  connect();
})();
