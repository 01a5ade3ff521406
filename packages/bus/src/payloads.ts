/**
 * The payload of every subject, as TypeScript types and as the schemas that validate them on
 * decode. The schemas are written against the types (`object<T>`), so the two cannot drift.
 */
import type { Binding, FlowRef, ReceivedFrom } from "@sip-platform/bindings";
import { array, boolean, bytes, integer, number, object, oneOf, optional, string } from "./schema.js";

// --- shared pieces -------------------------------------------------------------------------------

export type FlowProtocol = "udp" | "tcp" | "tls" | "ws" | "wss";

/** An IP endpoint (same shape as the transport's `Endpoint`). */
export interface EndpointInfo {
  readonly address: string;
  readonly port: number;
}

/**
 * The flow a message arrived on at an edge (same shape as the transport's `Flow`, so the edge
 * passes its own value). `connectionId` is "" for UDP and unique within the edge otherwise.
 */
export interface FlowInfo {
  readonly protocol: FlowProtocol;
  readonly local: EndpointInfo;
  readonly remote: EndpointInfo;
  readonly connectionId: string;
}

/** An address an edge can be reached at, for Path / Record-Route (RFC 3327, RFC 3261 §16.6). */
export interface AdvertisedAddress {
  readonly protocol: FlowProtocol;
  readonly host: string;
  readonly port: number;
}

/** Bounds that keep a malformed or hostile payload from costing much. */
const ID_MAX = 128;
const TEXT_MAX = 8192;

/** An edge id: one NATS subject token, because it is part of `edge.<edgeId>.deliver`. */
export const EDGE_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

const protocol = oneOf("udp", "tcp", "tls", "ws", "wss");
const port = integer({ min: 0, max: 65535 });
const epochMs = integer({ min: 0 });
const text = string({ maxLength: TEXT_MAX });
const nonEmpty = string({ minLength: 1, maxLength: TEXT_MAX });
const id = string({ minLength: 1, maxLength: ID_MAX });

const edgeId = string({
  minLength: 1,
  maxLength: ID_MAX,
  pattern: EDGE_ID_PATTERN,
  patternName: "an edge id (1-128 letters, digits, _ or -)",
});

const endpoint = object<EndpointInfo>({ address: nonEmpty, port });

export const flowInfoSchema = object<FlowInfo>({
  protocol,
  local: endpoint,
  remote: endpoint,
  connectionId: string({ maxLength: ID_MAX }),
});

const advertisedAddress = object<AdvertisedAddress>({ protocol, host: nonEmpty, port });

const receivedFrom = object<ReceivedFrom>({ protocol, address: nonEmpty, port });
const flowRef = object<FlowRef>({ edgeId, connectionId: id });

export const bindingSchema = object<Binding>({
  aor: nonEmpty,
  contact: nonEmpty,
  expiresAt: epochMs,
  q: number({ min: 0, max: 1 }),
  callId: nonEmpty,
  cseq: integer({ min: 0, max: 2 ** 32 - 1 }),
  instanceId: optional(text),
  regId: optional(integer({ min: 0 })),
  path: array(text, { maxItems: 64 }),
  received: optional(receivedFrom),
  flow: optional(flowRef),
  userAgent: optional(text),
  updatedAt: epochMs,
});

// --- registrar.register --------------------------------------------------------------------------

/** A REGISTER as the edge received it, for the registrar. */
export interface RegisterRequest {
  /** The edge instance that owns `flow` (where `edge.<edgeId>.deliver` reaches the phone). */
  readonly edgeId: string;
  readonly flow: FlowInfo;
  /** When the edge received it, epoch ms. */
  readonly receivedAt: number;
  /** The REGISTER's bytes, as received (the edge has already stamped `received`/`rport`). */
  readonly message: Uint8Array;
}

export interface RegisterReply {
  /** The SIP response's bytes, for the edge to send back on `flow`. */
  readonly message: Uint8Array;
}

export const registerRequestSchema = object<RegisterRequest>({
  edgeId,
  flow: flowInfoSchema,
  receivedAt: epochMs,
  message: bytes(),
});

export const registerReplySchema = object<RegisterReply>({ message: bytes() });

// --- location.lookup -----------------------------------------------------------------------------

export interface LocationLookupRequest {
  /** Normalised address of record, `sip:user@domain`. */
  readonly aor: string;
}

export interface LocationLookupReply {
  /** Live bindings, highest q first (the `BindingStore.lookup` order). */
  readonly bindings: readonly Binding[];
}

export const locationLookupRequestSchema = object<LocationLookupRequest>({ aor: nonEmpty });
export const locationLookupReplySchema = object<LocationLookupReply>({
  bindings: array(bindingSchema, { maxItems: 1024 }),
});

// --- edge.<edgeId>.deliver -----------------------------------------------------------------------

/**
 * A SIP request to send on one of the edge's flows (RFC 5626): the connection a phone registered or
 * called over, or for UDP the edge's socket and the phone's address (its NAT binding is the edge's).
 */
export interface DeliverRequest {
  /** The flow as the owning edge recorded it; for TCP/TLS/WS the `connectionId` is what counts. */
  readonly flow: FlowInfo;
  readonly message: Uint8Array;
}

export interface DeliverReply {
  readonly delivered: boolean;
  /** Why not, when not delivered: e.g. `flow-closed`, `send-failed`. */
  readonly reason?: string;
}

export const deliverRequestSchema = object<DeliverRequest>({ flow: flowInfoSchema, message: bytes() });
export const deliverReplySchema = object<DeliverReply>({ delivered: boolean(), reason: optional(text) });

// --- edge.<edgeId>.response ----------------------------------------------------------------------

/**
 * A response that arrived at one edge for a request another edge sent (the top Via names that edge,
 * RFC 3261 §18.2.2: responses come back on the connection the request went out on, which may belong
 * to another edge). The sending edge feeds it to its transaction layer.
 */
export interface RelayedResponse {
  /** The edge the response arrived at (its flow is one of that edge's). */
  readonly viaEdgeId: string;
  readonly flow: FlowInfo;
  readonly message: Uint8Array;
}

export const relayedResponseSchema = object<RelayedResponse>({
  viaEdgeId: edgeId,
  flow: flowInfoSchema,
  message: bytes(),
});

// --- registrar.directory -------------------------------------------------------------------------

/** Call forwarding of one subscriber (the admin API's `/v1/subscribers/{id}/forwarding`). */
export interface ForwardingRules {
  /** Every call goes here instead. */
  readonly always?: string;
  /** A 486 or 600 from the callee sends the call here. */
  readonly busy?: string;
  /** No final answer within `afterSeconds`: the branches are cancelled and the call goes here. */
  readonly noAnswer?: { readonly target: string; readonly afterSeconds: number };
}

export interface DirectoryLookupRequest {
  readonly username: string;
  /** The domain, also the digest realm. */
  readonly domain: string;
}

/** What the proxy and the redirect server need of a subscriber: digest secrets and call forwarding. */
export interface DirectoryEntry {
  readonly subscriberId: string;
  readonly enabled: boolean;
  /** HA1 per stored hash (RFC 7616 §3.4.2), lower-case hex. */
  readonly ha1: { readonly MD5: string; readonly "SHA-256": string; readonly "SHA-512-256": string };
  readonly forwarding: ForwardingRules;
}

export interface DirectoryLookupReply {
  /** Absent when the user (or the domain) is unknown. */
  readonly entry?: DirectoryEntry;
}

const sipTarget = string({ minLength: 1, maxLength: 2048 });
export const forwardingRulesSchema = object<ForwardingRules>({
  always: optional(sipTarget),
  busy: optional(sipTarget),
  noAnswer: optional(
    object<{ readonly target: string; readonly afterSeconds: number }>({
      target: sipTarget,
      afterSeconds: integer({ min: 1, max: 3600 }),
    }),
  ),
});
const hexHash = string({ minLength: 32, maxLength: 64 });
export const directoryLookupRequestSchema = object<DirectoryLookupRequest>({
  username: nonEmpty,
  domain: nonEmpty,
});
export const directoryLookupReplySchema = object<DirectoryLookupReply>({
  entry: optional(
    object<DirectoryEntry>({
      subscriberId: id,
      enabled: boolean(),
      ha1: object<DirectoryEntry["ha1"]>({ MD5: hexHash, "SHA-256": hexHash, "SHA-512-256": hexHash }),
      forwarding: forwardingRulesSchema,
    }),
  ),
});

// --- redirect.resolve ----------------------------------------------------------------------------

/** A request that arrived on the edge's redirect port (`REDIRECT_PORT`). */
export interface RedirectRequest {
  readonly flow: FlowInfo;
  /** The request's bytes as received (with `received`/`rport` stamped). */
  readonly message: Uint8Array;
}

/** The redirect server's decision; the edge builds the response (RFC 3261 §8.3). */
export interface RedirectReply {
  /** 302, or 403 / 404 / 480 / 4xx / 503. */
  readonly status: number;
  readonly reason?: string;
  /** The Contacts of a 3xx, each with its q when it has one. */
  readonly contacts: readonly { readonly uri: string; readonly q?: number }[];
  /** Extra headers (e.g. `Diversion` when a forwarding rule applied). */
  readonly headers?: readonly { readonly name: string; readonly value: string }[];
}

export const redirectRequestSchema = object<RedirectRequest>({ flow: flowInfoSchema, message: bytes() });
export const redirectReplySchema = object<RedirectReply>({
  status: integer({ min: 300, max: 699 }),
  reason: optional(text),
  contacts: array(
    object<{ readonly uri: string; readonly q?: number }>({
      uri: nonEmpty,
      q: optional(number({ min: 0, max: 1 })),
    }),
    { maxItems: 1024 },
  ),
  headers: optional(
    array(object<{ readonly name: string; readonly value: string }>({ name: nonEmpty, value: text }), {
      maxItems: 32,
    }),
  ),
});

// --- calls.event (durable: JetStream stream CALLS) -----------------------------------------------

/**
 * One thing that happened to a call, as an edge saw it. Several edges may see one call (the BYE
 * can enter another edge than the INVITE); the call-record writer merges events by `callId` and is
 * idempotent per `eventId`, so a redelivered event changes nothing.
 *
 * - `started`: an initial INVITE was proxied (from, to, at);
 * - `answered`: a 2xx to it was forwarded (status 200); with `startedAt`, from and to it also
 *   stands for the `started` event (what the edge sends: one durable publish per call less);
 * - `failed`: its final response was not 2xx (status: that response's, e.g. 486, 487 after CANCEL),
 *   also with `startedAt`, from and to;
 * - `ended`: a BYE in the dialog was proxied (`reason`: `caller-bye` or `callee-bye`).
 */
export interface CallEvent {
  /** Unique per event (the JetStream message id, for de-duplication). */
  readonly eventId: string;
  readonly callId: string;
  readonly kind: "started" | "answered" | "failed" | "ended";
  /** Epoch ms when the edge saw it. */
  readonly at: number;
  readonly edgeId: string;
  readonly from?: string;
  readonly to?: string;
  readonly status?: number;
  /** `caller-bye`, `callee-bye`, `cancelled`, `rejected`, `no-answer`, `unreachable`, … */
  readonly reason?: string;
  /** On answered/failed: when the initial INVITE arrived (then no separate `started` is sent). */
  readonly startedAt?: number;
}

export const callEventSchema = object<CallEvent>({
  eventId: id,
  callId: string({ minLength: 1, maxLength: 1024 }),
  kind: oneOf("started", "answered", "failed", "ended"),
  at: epochMs,
  edgeId,
  from: optional(text),
  to: optional(text),
  status: optional(integer({ min: 100, max: 699 })),
  reason: optional(text),
  startedAt: optional(epochMs),
});

// --- events --------------------------------------------------------------------------------------

/** An AoR's bindings changed (registered, refreshed, removed, expired, or lost their flow). */
export interface BindingChangedEvent {
  readonly aor: string;
  /** Live bindings after the change. */
  readonly count: number;
}

/** Edge → registrar: the domains this platform serves (the edge answers 403 for the others). */
// biome-ignore lint/complexity/noBannedTypes: a request with no fields
export type DomainsRequest = {};
export interface DomainsReply {
  readonly domains: readonly string[];
}

/** Admin API → edges and registrars: a domain was created or deleted; refresh the list. */
export interface DomainsChangedEvent {
  readonly domain: string;
  readonly change: "created" | "deleted";
}

/** A subscriber's credentials changed or the subscriber was removed: drop cached digest secrets. */
export interface CredentialsChangedEvent {
  readonly username: string;
  readonly domain: string;
}

/** A subscriber's call forwarding changed or was removed: drop cached directory entries. */
export interface ForwardingChangedEvent {
  readonly username: string;
  readonly domain: string;
}

/** `edge.up` and `edge.heartbeat`: an edge instance is alive and where it is reachable. */
export interface EdgeAnnouncement {
  readonly edgeId: string;
  /** When this edge instance started, epoch ms: a new value for a known id means it restarted. */
  readonly startedAt: number;
  readonly advertised: readonly AdvertisedAddress[];
  /** The edge's heartbeat interval, so watchers time it out by its own schedule. */
  readonly heartbeatMs: number;
  /** When this announcement was sent, epoch ms (for logs; watchers time out on receipt time). */
  readonly at: number;
}

/** An edge instance is stopping: its connections, and the flows over them, are gone. */
export interface EdgeDownEvent {
  readonly edgeId: string;
}

export const domainsRequestSchema = object<DomainsRequest>({});
export const domainsReplySchema = object<DomainsReply>({
  domains: array(nonEmpty, { maxItems: 100_000 }),
});
export const domainsChangedSchema = object<DomainsChangedEvent>({
  domain: nonEmpty,
  change: oneOf("created", "deleted"),
});

export const bindingChangedSchema = object<BindingChangedEvent>({
  aor: nonEmpty,
  count: integer({ min: 0 }),
});
export const credentialsChangedSchema = object<CredentialsChangedEvent>({
  username: nonEmpty,
  domain: nonEmpty,
});
export const forwardingChangedSchema = object<ForwardingChangedEvent>({
  username: nonEmpty,
  domain: nonEmpty,
});
export const edgeAnnouncementSchema = object<EdgeAnnouncement>({
  edgeId,
  startedAt: epochMs,
  advertised: array(advertisedAddress, { maxItems: 32 }),
  heartbeatMs: integer({ min: 1, max: 3_600_000 }),
  at: epochMs,
});
export const edgeDownSchema = object<EdgeDownEvent>({ edgeId });
