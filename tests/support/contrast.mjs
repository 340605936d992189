// WCAG 2 contrast of what a page shows, measured in the browser (Chromium via the test's
// page): every visible text against what is behind it (4.5:1, 3:1 for large text), and
// non-text marks such as a bar beside an entry (3:1, WCAG 1.4.11). Shared by the browser tests.

/** Texts below their contrast minimum, with what and where; `scope`: only inside these elements. */
export function contrastProblems(page, { scope = null, bars = null } = {}) {
  return page.evaluate(({ scope, bars }) => {
    const parse = (c) => {
      const m = /rgba?\(([^)]+)\)/.exec(c);
      if (!m) return null;
      const [r, g, b, a = 1] = m[1].split(/[\s,/]+/).filter(Boolean).map(Number);
      return { r, g, b, a };
    };
    const lum = ({ r, g, b }) => {
      const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const over = (top, under) => ({
      r: top.r * top.a + under.r * (1 - top.a), g: top.g * top.a + under.g * (1 - top.a),
      b: top.b * top.a + under.b * (1 - top.a), a: 1,
    });
    const background = (el) => {
      const layers = [];
      for (let e = el; e; e = e.parentElement) {
        const bg = parse(getComputedStyle(e).backgroundColor);
        if (bg && bg.a > 0) { layers.push(bg); if (bg.a >= 1) break; }
      }
      let c = { r: 255, g: 255, b: 255, a: 1 };
      for (const l of layers.reverse()) c = over(l, c);
      return c;
    };
    const ratioOf = (a, b) => { const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x); return (hi + 0.05) / (lo + 0.05); };
    const problems = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    const seen = new Set();
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const el = n.parentElement;
      if (!n.textContent.trim() || seen.has(el)) continue;
      seen.add(el);
      if (scope && !el.closest(scope)) continue;
      const rect = el.getBoundingClientRect();
      if (rect.width <= 1 || rect.height <= 1 || el.closest("[hidden], dialog:not([open])")) continue;
      const style = getComputedStyle(el);
      if (style.visibility === "hidden") continue;
      let opacity = 1;
      for (let e = el; e; e = e.parentElement) opacity *= Number(getComputedStyle(e).opacity);
      const fg = parse(style.color);
      if (!fg) continue;
      const bg = background(el);
      const ratio = ratioOf(over({ ...fg, a: fg.a * opacity }, bg), bg);
      const size = parseFloat(style.fontSize);
      const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
      const need = large ? 3 : 4.5;
      if (ratio < need) problems.push(`${ratio.toFixed(2)} < ${need}: <${el.tagName.toLowerCase()} class="${el.className}"> ${JSON.stringify(n.textContent.trim().slice(0, 30))} (${style.color} on rgb(${Math.round(bg.r)},${Math.round(bg.g)},${Math.round(bg.b)}))`);
    }
    // Marks that are not text (a bar beside an entry) need 3:1 against the page.
    for (const el of bars ? document.querySelectorAll(bars) : []) {
      const ratio = ratioOf(parse(getComputedStyle(el).borderLeftColor), background(el.parentElement));
      if (ratio < 3) problems.push(`bar ${ratio.toFixed(2)} < 3: <${el.tagName.toLowerCase()} class="${el.className}">`);
    }
    return problems;
  }, { scope, bars });
}
