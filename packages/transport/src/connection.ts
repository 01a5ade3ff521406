import { canonicalIp, remoteKey } from "./address.js";
import type { Flow, TransportProtocol } from "./types.js";

/** One open connection (TCP, TLS, WebSocket, or an in-memory pipe). */
export interface Connection {
  readonly flow: Flow;
  readonly closed: boolean;
  /** Resolves once the bytes are handed to the OS; rejects with TransportError FLOW_CLOSED / SEND_FAILED. */
  send(bytes: Buffer): Promise<void>;
  /** Closes at once, dropping anything unsent. */
  close(): void;
}

/** What a connection reports to its owner. */
export interface ConnectionEvents {
  /** One message's bytes: framed by Content-Length (stream) or one WebSocket message. */
  message(conn: Connection, bytes: Buffer, framing: "stream" | "datagram"): void;
  closed(conn: Connection): void;
}

let lastConnectionId = 0;

/** A connection id unique within this process: `tcp-17`. */
export function newConnectionId(protocol: TransportProtocol): string {
  lastConnectionId += 1;
  return `${protocol}-${lastConnectionId}`;
}

export interface ConnectionCaps {
  readonly maxConnections: number;
  readonly maxConnectionsPerIp: number;
}

/**
 * The open connections of one transport layer: by id (flows), by remote address (reuse, RFC 3261
 * §18.1.1 / §18.2.2) and by alias (RFC 5923), plus the admission counts that enforce the caps.
 */
export class ConnectionTable {
  readonly #byId = new Map<string, Connection>();
  readonly #byRemote = new Map<string, Connection>();
  readonly #keys = new Map<Connection, string[]>();
  readonly #connecting = new Map<string, Promise<Connection>>();
  readonly #perIp = new Map<string, number>();
  #total = 0;

  constructor(private readonly caps: ConnectionCaps) {}

  /**
   * Counts a new socket before it costs anything (before a TLS or WebSocket handshake). Inbound
   * sockets are also counted per source IP. False when over a cap: the caller destroys the socket.
   * Every admitted socket must be released once, when it closes.
   */
  admit(ip: string | undefined, inbound: boolean): boolean {
    if (this.#total >= this.caps.maxConnections) return false;
    if (inbound && ip !== undefined) {
      const key = canonicalIp(ip);
      const n = this.#perIp.get(key) ?? 0;
      if (n >= this.caps.maxConnectionsPerIp) return false;
      this.#perIp.set(key, n + 1);
    }
    this.#total += 1;
    return true;
  }

  release(ip: string | undefined, inbound: boolean): void {
    this.#total -= 1;
    if (inbound && ip !== undefined) {
      const key = canonicalIp(ip);
      const n = (this.#perIp.get(key) ?? 1) - 1;
      if (n <= 0) this.#perIp.delete(key);
      else this.#perIp.set(key, n);
    }
  }

  /** Admits a socket and releases it when it closes; false (socket untouched) when over a cap. */
  admitSocket(
    socket: { remoteAddress?: string | undefined; once(event: "close", f: () => void): unknown },
    inbound: boolean,
  ): boolean {
    const ip = socket.remoteAddress;
    if (!this.admit(ip, inbound)) return false;
    socket.once("close", () => this.release(ip, inbound));
    return true;
  }

  add(conn: Connection): void {
    const f = conn.flow;
    this.#byId.set(f.connectionId, conn);
    this.#index(conn, remoteKey(f.protocol, f.remote.address, f.remote.port));
  }

  /** RFC 5923: requests to `address:port` may use this connection too. */
  alias(conn: Connection, address: string, port: number): void {
    if (conn.closed) return;
    this.#index(conn, remoteKey(conn.flow.protocol, address, port));
  }

  remove(conn: Connection): void {
    if (this.#byId.get(conn.flow.connectionId) === conn) this.#byId.delete(conn.flow.connectionId);
    for (const key of this.#keys.get(conn) ?? [])
      if (this.#byRemote.get(key) === conn) this.#byRemote.delete(key);
    this.#keys.delete(conn);
  }

  get(connectionId: string): Connection | undefined {
    const c = this.#byId.get(connectionId);
    return c && !c.closed ? c : undefined;
  }

  find(protocol: TransportProtocol, address: string, port: number): Connection | undefined {
    const c = this.#byRemote.get(remoteKey(protocol, address, port));
    return c && !c.closed ? c : undefined;
  }

  /** An open connection to the remote, or the one being opened, or a new one from `open`. */
  obtain(
    protocol: TransportProtocol,
    address: string,
    port: number,
    open: () => Promise<Connection>,
  ): Promise<Connection> {
    const existing = this.find(protocol, address, port);
    if (existing) return Promise.resolve(existing);
    const key = remoteKey(protocol, address, port);
    let pending = this.#connecting.get(key);
    if (!pending) {
      pending = open().finally(() => this.#connecting.delete(key));
      this.#connecting.set(key, pending);
    }
    return pending;
  }

  get size(): number {
    return this.#byId.size;
  }

  closeAll(): void {
    for (const c of [...this.#byId.values()]) c.close();
  }

  #index(conn: Connection, key: string): void {
    this.#byRemote.set(key, conn);
    const keys = this.#keys.get(conn);
    if (keys) {
      if (!keys.includes(key)) keys.push(key);
    } else this.#keys.set(conn, [key]);
  }
}
