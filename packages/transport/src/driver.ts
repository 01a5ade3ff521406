import type { Connection, ConnectionEvents, ConnectionTable } from "./connection.js";
import type { CounterName, EventSource } from "./diagnostics.js";
import type { ListenerOptions, ResolvedOptions } from "./options.js";
import type { Endpoint, Flow, Listener, Target } from "./types.js";

/**
 * What a transport layer gives each socket driver: its settings, the connection table, and where
 * to put what arrives. Drivers move bytes; parsing and RFC 3261 §18 rules live in the layer.
 */
export interface DriverContext {
  readonly options: ResolvedOptions;
  readonly table: ConnectionTable;
  /** Handed to every connection a driver creates; registers and unregisters it in the table. */
  readonly connectionEvents: ConnectionEvents;
  /** One datagram as received. */
  datagram(bytes: Buffer, flow: Flow): void;
  /** A new connection, inbound or outbound: counted and put in the table. */
  opened(conn: Connection): void;
  count(name: CounterName, source: EventSource | undefined, error?: unknown): void;
}

/** A bound datagram socket (UDP). */
export interface DatagramDriver {
  readonly kind: "datagram";
  readonly listener: Listener;
  send(bytes: Buffer, to: Endpoint): Promise<void>;
  close(): Promise<void>;
}

/** A listening connection-oriented transport that can also open connections. */
export interface ConnectionDriver {
  readonly kind: "connection";
  readonly listener: Listener;
  /** Opens a connection and puts it in the table (via `DriverContext.opened`); rejects with CONNECT_FAILED. */
  connect(to: Target): Promise<Connection>;
  close(): Promise<void>;
}

export type Driver = DatagramDriver | ConnectionDriver;

/** Binds one listener. */
export type DriverFactory = (ctx: DriverContext, listener: ListenerOptions) => Promise<Driver>;
