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

/** A SIP message to send on one of the edge's connections (RFC 5626 flow). */
export interface DeliverRequest {
  readonly connectionId: string;
  readonly message: Uint8Array;
}

export interface DeliverReply {
  readonly delivered: boolean;
  /** Why not, when not delivered: e.g. `flow-closed`, `send-failed`. */
  readonly reason?: string;
}

export const deliverRequestSchema = object<DeliverRequest>({ connectionId: id, message: bytes() });
export const deliverReplySchema = object<DeliverReply>({ delivered: boolean(), reason: optional(text) });

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
export const edgeAnnouncementSchema = object<EdgeAnnouncement>({
  edgeId,
  startedAt: epochMs,
  advertised: array(advertisedAddress, { maxItems: 32 }),
  heartbeatMs: integer({ min: 1, max: 3_600_000 }),
  at: epochMs,
});
export const edgeDownSchema = object<EdgeDownEvent>({ edgeId });
