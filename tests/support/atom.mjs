// An Atom document of `n` entries named after the feed ("<name> entry <i>", id
// urn:<name>:<i>), oldest first, `step` ms apart from `start`; optionally naming a WebSub
// hub and its own URL. Shared by the end-to-end tests and the WebSub bench.
export function atomFeed(name, n, { start = Date.UTC(2026, 10, 1), step = 60000, hub, self } = {}) {
  let entries = "";
  for (let i = 1; i <= n; i++) {
    const t = new Date(start + i * step).toISOString();
    entries += `<entry><title>${name} entry ${i}</title><id>urn:${name}:${i}</id>
      <link href="https://${name}.example/${i}"/><updated>${t}</updated>
      <content type="html">&lt;p&gt;${name} body ${i}&lt;/p&gt;</content></entry>`;
  }
  const links = (hub ? `<link rel="hub" href="${hub}"/>` : "") + (self ? `<link rel="self" href="${self}"/>` : "");
  return `<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>${name}</title><id>urn:${name}</id>${links}${entries}</feed>`;
}
