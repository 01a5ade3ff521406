/**
 * `/v1/subscribers/{id}/registrations`: the subscriber's live bindings, read from and cleared in
 * the binding store under the AoR the registrar writes them to, `sip:<username>@<domain>`.
 */
import { type Binding, normalizeAor, type ReceivedFrom } from "@sip-platform/bindings";
import type { Subscriber } from "@sip-platform/db";
import { Type } from "typebox";
import type { AdminApiDeps, AdminApp } from "../app.js";
import { type Events, events } from "../events.js";
import { errors, RegistrationList, type RegistrationView, SubscriberParams } from "../schemas.js";

export function registerRegistrationRoutes(app: AdminApp, deps: AdminApiDeps, publish: Events): void {
  const { repository, bindings } = deps;
  const clock = deps.clock ?? Date.now;

  app.get(
    "/v1/subscribers/:id/registrations",
    {
      schema: {
        summary: "The subscriber's live registrations (bindings)",
        tags: ["registrations"],
        params: SubscriberParams,
        response: { 200: RegistrationList, ...errors(401, 404, 503) },
      },
    },
    async (request) => {
      const subscriber = await repository.getSubscriber(request.params.id);
      const live = await bindings.lookup(aorOf(subscriber), clock());
      return live.map(registrationView);
    },
  );

  app.delete(
    "/v1/subscribers/:id/registrations",
    {
      schema: {
        summary: "Unregister every binding of the subscriber",
        tags: ["registrations"],
        params: SubscriberParams,
        response: { 204: Type.Null({ description: "Unregistered" }), ...errors(401, 404, 503) },
      },
    },
    async (request, reply) => {
      const subscriber = await repository.getSubscriber(request.params.id);
      const aor = aorOf(subscriber);
      await bindings.clear(aor);
      publish(events.bindingChanged, { aor, count: 0 }, request.log);
      return reply.code(204).send(null);
    },
  );
}

/** The address of record a subscriber registers: `sip:<user>@<domain>`, canonical (normalizeAor). */
export function aorOf(s: Pick<Subscriber, "username" | "domain">): string {
  return normalizeAor(`sip:${escapeUser(s.username)}@${s.domain}`);
}

/**
 * The username as a URI user part (RFC 3261 §25.1: `user = 1*( unreserved / escaped /
 * user-unreserved )`): every other character percent-encoded as UTF-8, so the AoR parses, and
 * normalizeAor then writes it the way it writes a phone's To URI.
 */
export function escapeUser(username: string): string {
  let out = "";
  for (const ch of username) {
    out += USER_CHARS.test(ch)
      ? ch
      : [...Buffer.from(ch, "utf8")].map((b) => `%${b.toString(16).toUpperCase().padStart(2, "0")}`).join("");
  }
  return out;
}

const USER_CHARS = /^[A-Za-z0-9\-_.!~*'()&=+$,;?/]$/;

const TRANSPORTS = new Set(["udp", "tcp", "tls", "ws", "wss", "sctp"]);

export function registrationView(b: Binding): RegistrationView {
  return {
    contact: b.contact,
    expiresAt: new Date(b.expiresAt).toISOString(),
    received: b.received ? formatReceived(b.received) : null,
    transport: (b.received?.protocol ?? contactTransport(b.contact)) as RegistrationView["transport"],
    userAgent: b.userAgent ?? null,
    path: [...b.path],
  };
}

/** `udp:192.0.2.1:5060`, `tcp:[2001:db8::1]:5061`. */
export function formatReceived(r: ReceivedFrom): string {
  const host = r.address.includes(":") ? `[${r.address}]` : r.address;
  return `${r.protocol}:${host}:${r.port}`;
}

/** The Contact URI's `transport` parameter when it names a known transport, else null. */
function contactTransport(contact: string): string | null {
  const m = /;transport=([A-Za-z]+)/i.exec(contact);
  const t = m?.[1]?.toLowerCase();
  return t !== undefined && TRANSPORTS.has(t) ? t : null;
}
