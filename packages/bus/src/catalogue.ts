/**
 * Every subject on the bus, defined once: its name, its payload and reply codecs, and for
 * request/reply subjects the queue group its servers join. Requesters and servers import the same
 * entry, so the two ends cannot disagree (STYLE rule 8). Adding a service call is one entry here.
 *
 * Names are relative: the bus puts its prefix in front (`sip` by default, so `registrar.register`
 * goes out as `sip.registrar.register`); tests and shared NATS clusters use other prefixes.
 */
import { type Codec, jsonCodec } from "./codec.js";
import {
  type BindingChangedEvent,
  bindingChangedSchema,
  type CallEvent,
  type CredentialsChangedEvent,
  callEventSchema,
  credentialsChangedSchema,
  type DeliverReply,
  type DeliverRequest,
  type DirectoryLookupReply,
  type DirectoryLookupRequest,
  type DomainsChangedEvent,
  type DomainsReply,
  type DomainsRequest,
  deliverReplySchema,
  deliverRequestSchema,
  directoryLookupReplySchema,
  directoryLookupRequestSchema,
  domainsChangedSchema,
  domainsReplySchema,
  domainsRequestSchema,
  EDGE_ID_PATTERN,
  type EdgeAnnouncement,
  type EdgeDownEvent,
  edgeAnnouncementSchema,
  edgeDownSchema,
  type ForwardingChangedEvent,
  forwardingChangedSchema,
  type LocationLookupReply,
  type LocationLookupRequest,
  locationLookupReplySchema,
  locationLookupRequestSchema,
  type RedirectReply,
  type RedirectRequest,
  type RegisterReply,
  type RegisterRequest,
  type RelayedResponse,
  redirectReplySchema,
  redirectRequestSchema,
  registerReplySchema,
  registerRequestSchema,
  relayedResponseSchema,
} from "./payloads.js";

/** A request/reply subject: one server (of a queue group) answers each request. */
export interface RequestSubject<Req, Rep> {
  readonly kind: "request";
  /** Name below the bus prefix. */
  readonly subject: string;
  /** Queue group servers join unless told otherwise; undefined for subjects addressed to one instance. */
  readonly queue: string | undefined;
  readonly request: Codec<Req>;
  readonly reply: Codec<Rep>;
}

/** A publish/subscribe subject: every subscriber gets each event. */
export interface EventSubject<T> {
  readonly kind: "event";
  readonly subject: string;
  readonly payload: Codec<T>;
}

/** The request type of a request subject, e.g. `RequestOf<typeof requests.register>`. */
export type RequestOf<S> = S extends RequestSubject<infer Req, unknown> ? Req : never;
export type ReplyOf<S> = S extends RequestSubject<unknown, infer Rep> ? Rep : never;
export type EventOf<S> = S extends EventSubject<infer T> ? T : never;

const TOKEN = /^[A-Za-z0-9_-]+$/;

/** True for a dot-separated subject of plain tokens (no wildcards, no spaces, no empty tokens). */
export function isPlainSubject(subject: string): boolean {
  return subject.split(".").every((t) => TOKEN.test(t));
}

function requestSubject<Req, Rep>(def: Omit<RequestSubject<Req, Rep>, "kind">): RequestSubject<Req, Rep> {
  if (!isPlainSubject(def.subject)) throw new TypeError(`bad subject ${JSON.stringify(def.subject)}`);
  return Object.freeze({ kind: "request", ...def });
}

function eventSubject<T>(subject: string, payload: Codec<T>): EventSubject<T> {
  if (!isPlainSubject(subject)) throw new TypeError(`bad subject ${JSON.stringify(subject)}`);
  return Object.freeze({ kind: "event", subject, payload });
}

const deliverRequest = jsonCodec(deliverRequestSchema);
const deliverReply = jsonCodec(deliverReplySchema);

/** Request/reply subjects. */
export const requests = Object.freeze({
  /** Edge → registrar: a REGISTER to process; the reply is the SIP response to send back. */
  register: requestSubject<RegisterRequest, RegisterReply>({
    subject: "registrar.register",
    queue: "registrar",
    request: jsonCodec(registerRequestSchema),
    reply: jsonCodec(registerReplySchema),
  }),
  /** Edge → registrar: the local domains (the registrar reads them from the subscriber store). */
  domains: requestSubject<DomainsRequest, DomainsReply>({
    subject: "registrar.domains",
    queue: "registrar",
    request: jsonCodec(domainsRequestSchema),
    reply: jsonCodec(domainsReplySchema),
  }),
  /** Edge, redirect → registrar: a subscriber's digest secrets and call forwarding (cached by the askers). */
  directory: requestSubject<DirectoryLookupRequest, DirectoryLookupReply>({
    subject: "registrar.directory",
    queue: "registrar",
    request: jsonCodec(directoryLookupRequestSchema),
    reply: jsonCodec(directoryLookupReplySchema),
  }),
  /** Edge → redirect: a request that arrived on the redirect port; the reply says what to answer. */
  redirect: requestSubject<RedirectRequest, RedirectReply>({
    subject: "redirect.resolve",
    queue: "redirect",
    request: jsonCodec(redirectRequestSchema),
    reply: jsonCodec(redirectReplySchema),
  }),
  /** Proxy, redirect → location: the live bindings of an AoR. */
  locationLookup: requestSubject<LocationLookupRequest, LocationLookupReply>({
    subject: "location.lookup",
    queue: "location",
    request: jsonCodec(locationLookupRequestSchema),
    reply: jsonCodec(locationLookupReplySchema),
  }),
  /**
   * Anyone → one edge instance: send a SIP message on one of its connections (the flow a phone
   * registered over, RFC 5626). Only that edge serves the subject, so there is no queue group.
   */
  edgeDeliver(edgeId: string): RequestSubject<DeliverRequest, DeliverReply> {
    if (!EDGE_ID_PATTERN.test(edgeId)) throw new TypeError(`bad edge id ${JSON.stringify(edgeId)}`);
    return requestSubject({
      subject: `edge.${edgeId}.deliver`,
      queue: undefined,
      request: deliverRequest,
      reply: deliverReply,
    });
  },
});

const relayedResponse = jsonCodec(relayedResponseSchema);

/** Events addressed to one edge instance (no queue group: only that edge subscribes). */
export const edgeEvents = Object.freeze({
  /** Another edge → the edge whose Via tops a response that arrived on the other edge's flow. */
  response(edgeId: string): EventSubject<RelayedResponse> {
    if (!EDGE_ID_PATTERN.test(edgeId)) throw new TypeError(`bad edge id ${JSON.stringify(edgeId)}`);
    return eventSubject(`edge.${edgeId}.response`, relayedResponse);
  },
});

/** Events. */
export const events = Object.freeze({
  /** Location → anyone caching bindings (proxy, redirect, admin): an AoR's bindings changed. */
  bindingChanged: eventSubject<BindingChangedEvent>("binding.changed", jsonCodec(bindingChangedSchema)),
  /** Admin API → edges, registrars: the set of local domains changed. */
  domainsChanged: eventSubject<DomainsChangedEvent>("domains.changed", jsonCodec(domainsChangedSchema)),
  /** Admin API → registrar/proxy: drop cached credentials of a subscriber. */
  credentialsChanged: eventSubject<CredentialsChangedEvent>(
    "credentials.changed",
    jsonCodec(credentialsChangedSchema),
  ),
  /** Admin API → edges, redirect, registrar: a subscriber's forwarding rules changed. */
  forwardingChanged: eventSubject<ForwardingChangedEvent>(
    "forwarding.changed",
    jsonCodec(forwardingChangedSchema),
  ),
  /**
   * Edges → call-record writer: dialog events. Durable where the bus has a stream (NATS JetStream
   * stream `CALLS`); see `Bus.publishDurable`.
   */
  callEvent: eventSubject<CallEvent>("calls.event", jsonCodec(callEventSchema)),
  /** Edge starting. */
  edgeUp: eventSubject<EdgeAnnouncement>("edge.up", jsonCodec(edgeAnnouncementSchema)),
  /** Edge alive, every `heartbeatMs`. */
  edgeHeartbeat: eventSubject<EdgeAnnouncement>("edge.heartbeat", jsonCodec(edgeAnnouncementSchema)),
  /** Edge stopping in order (a crash is noticed by missed heartbeats instead). */
  edgeDown: eventSubject<EdgeDownEvent>("edge.down", jsonCodec(edgeDownSchema)),
});

/** The catalogue as data, for docs and diagnostics. `{edgeId}` marks a per-instance token. */
export interface CatalogueEntry {
  readonly kind: "request" | "event";
  readonly subject: string;
  readonly queue?: string;
}

export const catalogue: readonly CatalogueEntry[] = Object.freeze([
  { kind: "request", subject: requests.register.subject, queue: requests.register.queue },
  { kind: "request", subject: requests.domains.subject, queue: requests.domains.queue },
  { kind: "request", subject: requests.directory.subject, queue: requests.directory.queue },
  { kind: "request", subject: requests.redirect.subject, queue: requests.redirect.queue },
  { kind: "request", subject: requests.locationLookup.subject, queue: requests.locationLookup.queue },
  { kind: "request", subject: "edge.{edgeId}.deliver" },
  { kind: "event", subject: "edge.{edgeId}.response" },
  ...Object.values(events).map((e): CatalogueEntry => ({ kind: "event", subject: e.subject })),
]);
