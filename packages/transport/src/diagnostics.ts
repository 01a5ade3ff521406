import { channel } from "node:diagnostics_channel";
import type { Endpoint, Flow, Inbound, TransportProtocol } from "./types.js";

/**
 * What the transports count. Everything that is not a delivered or sent message is also published
 * on `transportChannels.event`, so telemetry can log it without this package depending on anything.
 */
export interface TransportCounters {
  /** Messages parsed and handed to the handler. */
  received: number;
  /** Messages written to a socket. */
  sent: number;
  /** Datagrams and framed messages `parseMessage` refused. */
  unparseable: number;
  /** Messages without a usable top Via: no §18.2.1 processing and no way back, so dropped. */
  badVia: number;
  /** Messages that arrived before a handler was registered. */
  noHandler: number;
  /** Exceptions thrown by the handler (caught; the transport keeps serving). */
  handlerErrors: number;
  /** Stream framing errors (bad or oversize Content-Length): answered 400/513 where possible, then closed. */
  framingErrors: number;
  /** Connections closed because a started message did not complete in time. */
  readTimeouts: number;
  /** Connections closed for inactivity. */
  idleTimeouts: number;
  /** Connections closed because the peer did not read what we sent. */
  writeOverflows: number;
  /** Connections accepted or opened. */
  connectionsOpened: number;
  /** Inbound connections refused by the per-IP or total cap. */
  connectionsRefused: number;
  /** TLS or WebSocket handshakes that failed or were refused (e.g. no `sip` subprotocol). */
  handshakeFailures: number;
  /** CRLFCRLF pings answered (RFC 5626 §3.5.1). */
  keepAlives: number;
  /** Socket errors (reset, unreachable); the socket is closed and its flow reported gone. */
  socketErrors: number;
}

export type CounterName = keyof TransportCounters;

export function newCounters(): TransportCounters {
  return {
    received: 0,
    sent: 0,
    unparseable: 0,
    badVia: 0,
    noHandler: 0,
    handlerErrors: 0,
    framingErrors: 0,
    readTimeouts: 0,
    idleTimeouts: 0,
    writeOverflows: 0,
    connectionsOpened: 0,
    connectionsRefused: 0,
    handshakeFailures: 0,
    keepAlives: 0,
    socketErrors: 0,
  };
}

/** Where an event happened, as far as known. */
export interface EventSource {
  readonly protocol: TransportProtocol;
  readonly remote?: Endpoint | undefined;
}

/** Payload of `transportChannels.event`. */
export interface TransportEvent {
  readonly name: CounterName;
  readonly protocol: TransportProtocol | undefined;
  readonly remote: Endpoint | undefined;
  readonly error: unknown;
}

/** Payload of `transportChannels.send`. */
export interface TransportSend {
  readonly flow: Flow;
  readonly bytes: Buffer;
}

export const transportChannels = Object.freeze({
  /** `Inbound`, for every message delivered. */
  receive: channel("sip-platform:transport:receive"),
  /** `TransportSend`, for every message written. */
  send: channel("sip-platform:transport:send"),
  /** `TransportEvent`, for drops, timeouts, refusals and errors. */
  event: channel("sip-platform:transport:event"),
});

export function publishReceive(inbound: Inbound): void {
  if (transportChannels.receive.hasSubscribers) transportChannels.receive.publish(inbound);
}

export function publishSend(flow: Flow, bytes: Buffer): void {
  if (transportChannels.send.hasSubscribers)
    transportChannels.send.publish({ flow, bytes } satisfies TransportSend);
}

export function publishEvent(name: CounterName, source: EventSource | undefined, error: unknown): void {
  if (transportChannels.event.hasSubscribers)
    transportChannels.event.publish({
      name,
      protocol: source?.protocol,
      remote: source?.remote,
      error,
    } satisfies TransportEvent);
}
