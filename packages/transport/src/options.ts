import type { ConnectionOptions, TlsOptions } from "node:tls";
import { DEFAULT_LIMITS, type ParseLimits } from "@sip-platform/sip";
import { ipFamily } from "./address.js";
import type { TransportProtocol } from "./types.js";

/** One socket to bind. */
export interface ListenerOptions {
  readonly protocol: TransportProtocol;
  /** IP literal to bind; `0.0.0.0` or `::` for every interface. */
  readonly address: string;
  /** 0 for an ephemeral port (tests); the bound port is in `SipTransport.listeners`. */
  readonly port: number;
  /** Certificate and key (and optionally `ca`, `requestCert`); required for tls and wss. */
  readonly tls?: TlsOptions;
}

/** What outbound TLS and WSS connections trust and present. */
export type TlsClientOptions = Pick<
  ConnectionOptions,
  "ca" | "cert" | "key" | "rejectUnauthorized" | "minVersion" | "ciphers"
>;

export interface TransportOptions {
  readonly listeners: readonly ListenerOptions[];
  /** Parser limits; `maxMessageBytes` also bounds what we send and what a connection may buffer. */
  readonly limits?: Partial<ParseLimits>;
  /** A request to a UDP target larger than this goes over TCP when there is a TCP listener (RFC 3261 §18.1.1). */
  readonly udpMaxBytes?: number;
  /** A connection with no traffic either way for this long is closed. */
  readonly idleTimeoutMs?: number;
  /** A message (or TLS / WebSocket handshake) must complete within this long once it has started. */
  readonly readTimeoutMs?: number;
  /** Outbound connect (and TLS / WebSocket handshake) deadline. */
  readonly connectTimeoutMs?: number;
  /** Open connections in total, inbound and outbound. */
  readonly maxConnections?: number;
  /** Open inbound connections from one source IP. */
  readonly maxConnectionsPerIp?: number;
  /** Bytes queued towards a peer that does not read; beyond this the connection is closed. */
  readonly maxWriteBufferBytes?: number;
  /**
   * SO_RCVBUF of UDP sockets. A burst arriving while the event loop is busy (a GC pause, a batch of
   * timers) waits here; the Linux default (~208 KiB) holds ~20 ms at 500 calls/s. The kernel caps
   * it at net.core.rmem_max.
   */
  readonly udpReceiveBufferBytes?: number;
  readonly tlsClient?: TlsClientOptions;
}

/** Every default, in one place. */
export const TRANSPORT_DEFAULTS = Object.freeze({
  limits: DEFAULT_LIMITS,
  /** MTU 1500 minus 200 bytes of headroom (§18.1.1). */
  udpMaxBytes: 1300,
  idleTimeoutMs: 300_000,
  readTimeoutMs: 10_000,
  connectTimeoutMs: 10_000,
  maxConnections: 10_000,
  maxConnectionsPerIp: 64,
  maxWriteBufferBytes: 1024 * 1024,
  udpReceiveBufferBytes: 4 * 1024 * 1024,
  tlsClient: Object.freeze({}) as TlsClientOptions,
});

export interface ResolvedOptions {
  readonly listeners: readonly ListenerOptions[];
  readonly limits: ParseLimits;
  readonly udpMaxBytes: number;
  readonly idleTimeoutMs: number;
  readonly readTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly maxConnections: number;
  readonly maxConnectionsPerIp: number;
  readonly maxWriteBufferBytes: number;
  readonly udpReceiveBufferBytes: number;
  readonly tlsClient: TlsClientOptions;
}

const PROTOCOLS: ReadonlySet<string> = new Set(["udp", "tcp", "tls", "ws", "wss"]);

/** Checks the options once and returns them complete and frozen. Throws TypeError naming the bad field. */
export function resolveOptions(options: TransportOptions): ResolvedOptions {
  if (!Array.isArray(options.listeners) || options.listeners.length === 0)
    throw new TypeError("transport options: listeners must be a non-empty array");
  const listeners = options.listeners.map((l, i) => checkListener(l, `listeners[${i}]`));
  const limits = Object.freeze({ ...TRANSPORT_DEFAULTS.limits, ...options.limits });
  positive(limits.maxMessageBytes, "limits.maxMessageBytes");
  positive(limits.maxHeaders, "limits.maxHeaders");
  positive(limits.maxLineBytes, "limits.maxLineBytes");
  const pick = (name: NumericOption): number => positive(options[name] ?? TRANSPORT_DEFAULTS[name], name);
  return Object.freeze({
    listeners: Object.freeze(listeners),
    limits,
    udpMaxBytes: pick("udpMaxBytes"),
    idleTimeoutMs: pick("idleTimeoutMs"),
    readTimeoutMs: pick("readTimeoutMs"),
    connectTimeoutMs: pick("connectTimeoutMs"),
    maxConnections: pick("maxConnections"),
    maxConnectionsPerIp: pick("maxConnectionsPerIp"),
    maxWriteBufferBytes: pick("maxWriteBufferBytes"),
    udpReceiveBufferBytes: pick("udpReceiveBufferBytes"),
    tlsClient: Object.freeze({ ...TRANSPORT_DEFAULTS.tlsClient, ...options.tlsClient }),
  });
}

type NumericOption =
  | "udpMaxBytes"
  | "idleTimeoutMs"
  | "readTimeoutMs"
  | "connectTimeoutMs"
  | "maxConnections"
  | "maxConnectionsPerIp"
  | "maxWriteBufferBytes"
  | "udpReceiveBufferBytes";

function checkListener(l: ListenerOptions, path: string): ListenerOptions {
  if (!PROTOCOLS.has(l?.protocol))
    throw new TypeError(`transport options: ${path}.protocol must be one of udp, tcp, tls, ws, wss`);
  if (typeof l.address !== "string" || ipFamily(l.address) === 0)
    throw new TypeError(`transport options: ${path}.address must be an IP literal, got ${String(l.address)}`);
  if (!Number.isInteger(l.port) || l.port < 0 || l.port > 65535)
    throw new TypeError(`transport options: ${path}.port must be an integer 0..65535, got ${String(l.port)}`);
  if (
    (l.protocol === "tls" || l.protocol === "wss") &&
    (l.tls?.key === undefined || l.tls.cert === undefined)
  )
    throw new TypeError(`transport options: ${path}.tls needs key and cert for ${l.protocol}`);
  return Object.freeze({ ...l });
}

function positive(value: unknown, name: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value <= 0)
    throw new TypeError(`transport options: ${name} must be a positive integer, got ${String(value)}`);
  return value;
}
