// A bare relay: one Durable Object, hibernating WebSockets, and a publish that loops and sends.
// Nothing else (no storage, no attachments, no parsing), so it is the floor Orrery's Room is compared to.
import { DurableObject } from "cloudflare:workers";

export class Relay extends DurableObject {
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === "/ws") {
      if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") {
        return new Response("send Upgrade: websocket", { status: 400 });
      }
      const { 0: client, 1: server } = new WebSocketPair();
      this.ctx.acceptWebSocket(server);
      server.send(JSON.stringify({ type: "hello", clients: this.ctx.getWebSockets().length }));
      return new Response(null, { status: 101, webSocket: client });
    }
    if (url.pathname === "/publish" && request.method === "POST") {
      const body = await request.text();
      let sent = 0;
      for (const ws of this.ctx.getWebSockets()) {
        try { ws.send(body); sent++; } catch { /* closing socket: skip it */ }
      }
      return Response.json({ sent });
    }
    return new Response("not found", { status: 404 });
  }

  webSocketMessage() { /* clients only listen */ }

  webSocketClose(ws, code) {
    try { ws.close(code === 1005 ? 1000 : code, "bye"); } catch { /* already closed */ }
  }

  webSocketError() {}
}

export default {
  async fetch(request, env) {
    const path = new URL(request.url).pathname;
    if (path === "/healthz") return new Response("ok");
    // Every socket and every publish goes to the one object, as Orrery's /ws goes to its one Room.
    return env.RELAY.get(env.RELAY.idFromName("global")).fetch(request);
  },
};
