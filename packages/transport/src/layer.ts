import {
  type Framing,
  formatVia,
  parseMessage,
  type SipRequest,
  type SipResponse,
  type Via,
} from "@sip-platform/sip";
import { canonicalIp, ipFamily, isWildcard, sameIp } from "./address.js";
import { type Connection, ConnectionTable } from "./connection.js";
import {
  type CounterName,
  type EventSource,
  newCounters,
  publishEvent,
  publishReceive,
  publishSend,
  type TransportCounters,
} from "./diagnostics.js";
import type { ConnectionDriver, DatagramDriver, Driver, DriverContext, DriverFactory } from "./driver.js";
import type { ResolvedOptions } from "./options.js";
import {
  defaultPort,
  type Endpoint,
  type Flow,
  type Inbound,
  isFlow,
  isReliable,
  type Listener,
  type SipTransport,
  type Target,
  TransportError,
  type TransportProtocol,
} from "./types.js";
import { responseDestination, stampReceived } from "./via-rules.js";

/**
 * The transport layer of RFC 3261 §18 over a set of drivers (UDP, TCP, TLS, WS sockets, or the
 * in-memory network): parses what arrives, stamps `received`/`rport` on requests, and sends
 * requests and responses by the §18.1 / §18.2.2 rules. Transactions are the business of the layer above.
 */
export class TransportLayer implements SipTransport {
  readonly #options: ResolvedOptions;
  readonly #table: ConnectionTable;
  readonly #counters = newCounters();
  readonly #drivers: Driver[] = [];
  readonly #ctx: DriverContext;
  #listeners: readonly Listener[] = [];
  #handler: ((inbound: Inbound) => void) | undefined;
  #closed = false;

  private constructor(options: ResolvedOptions) {
    this.#options = options;
    this.#table = new ConnectionTable(options);
    this.#ctx = {
      options,
      table: this.#table,
      connectionEvents: {
        message: (conn, bytes, framing) => this.#receive(bytes, conn.flow, framing, conn),
        closed: (conn) => this.#table.remove(conn),
      },
      datagram: (bytes, flow) => this.#receive(bytes, flow, "datagram", undefined),
      opened: (conn) => this.#opened(conn),
      count: (name, source, error) => this.#count(name, source, error),
    };
  }

  /** Binds every listener of `options` with `bind`; on any failure closes what was bound and rethrows. */
  static async open(options: ResolvedOptions, bind: DriverFactory): Promise<TransportLayer> {
    const layer = new TransportLayer(options);
    try {
      for (const l of options.listeners) layer.#drivers.push(await bind(layer.#ctx, l));
    } catch (err) {
      await layer.close();
      throw err;
    }
    layer.#listeners = Object.freeze(layer.#drivers.map((d) => d.listener));
    return layer;
  }

  get listeners(): readonly Listener[] {
    return this.#listeners;
  }

  /** A snapshot of the counters. */
  get counters(): Readonly<TransportCounters> {
    return Object.freeze({ ...this.#counters });
  }

  /** Open connections (inbound and outbound). */
  get connectionCount(): number {
    return this.#table.size;
  }

  onMessage(handler: (inbound: Inbound) => void): void {
    this.#handler = handler;
  }

  async sendRequest(req: SipRequest, to: Target | Flow): Promise<Flow> {
    this.#checkOpen();
    let bytes = this.#checkSize(req.toBuffer());
    if (isFlow(to)) return this.#sendOnFlow(bytes, to);
    if (to.protocol === "udp" && bytes.length > this.#options.udpMaxBytes) {
      const tcp = this.#connectionDriver("tcp", to.address);
      const original = tcp ? switchViaToTcp(req, tcp, this.#udpPorts()) : undefined;
      if (tcp && original !== undefined) {
        try {
          return await this.#sendToTarget(this.#checkSize(req.toBuffer()), { ...to, protocol: "tcp" });
        } catch (err) {
          if (!(err instanceof TransportError && err.code === "CONNECT_FAILED")) throw err;
          // §18.1.1: a refused connection means the request goes over UDP after all.
          req.removeFirstValue("Via");
          req.prependHeader("Via", original);
          bytes = req.toBuffer();
        }
      }
    }
    return this.#sendToTarget(bytes, to);
  }

  async sendResponse(res: SipResponse, flow: Flow): Promise<Flow> {
    this.#checkOpen();
    const bytes = this.#checkSize(res.toBuffer());
    if (isReliable(flow.protocol)) {
      const conn = this.#table.get(flow.connectionId);
      if (conn) return this.#sendOn(conn, bytes);
      // RFC 7118 §5: nobody can connect back to a WebSocket client.
      if (flow.protocol === "ws" || flow.protocol === "wss")
        throw new TransportError("FLOW_CLOSED", `connection ${flow.connectionId} is closed`);
      const via = topViaOf(res);
      const dest = responseDestination(via, flow);
      const serverName = via !== undefined && ipFamily(via.host) === 0 ? via.host : undefined;
      return this.#sendToTarget(bytes, {
        protocol: flow.protocol,
        ...dest,
        ...(serverName ? { serverName } : {}),
      });
    }
    return this.#sendUdp(bytes, responseDestination(topViaOf(res), flow), flow.local);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#table.closeAll();
    await Promise.all(this.#drivers.map((d) => d.close()));
  }

  // ---- receiving -----------------------------------------------------------------------------

  #receive(bytes: Buffer, flow: Flow, framing: Framing, conn: Connection | undefined): void {
    if (this.#closed) return;
    let message: SipRequest | SipResponse;
    let via: Via | undefined;
    try {
      message = parseMessage(bytes, this.#options.limits, framing);
    } catch (err) {
      this.#count("unparseable", flow, err);
      return;
    }
    try {
      via = message.topVia();
    } catch (err) {
      this.#count("badVia", flow, err);
      return;
    }
    if (via === undefined) {
      this.#count("badVia", flow, new Error("no Via"));
      return;
    }
    if (message.isRequest()) {
      stampReceived(message, via, flow.remote);
      // RFC 5923: the peer asks us to reuse this connection for requests to its sent-by port.
      if (conn && via.params.has("alias"))
        this.#table.alias(conn, flow.remote.address, via.port ?? defaultPort(flow.protocol));
    }
    const handler = this.#handler;
    if (handler === undefined) {
      this.#count("noHandler", flow, undefined);
      return;
    }
    const inbound: Inbound = { message, flow };
    this.#counters.received += 1;
    publishReceive(inbound);
    try {
      handler(inbound);
    } catch (err) {
      this.#count("handlerErrors", flow, err);
    }
  }

  #opened(conn: Connection): void {
    if (this.#closed) {
      conn.close();
      return;
    }
    this.#table.add(conn);
    this.#counters.connectionsOpened += 1;
  }

  #count(name: CounterName, source: EventSource | undefined, error: unknown): void {
    this.#counters[name] += 1;
    publishEvent(name, source, error);
  }

  // ---- sending -------------------------------------------------------------------------------

  #sendOnFlow(bytes: Buffer, flow: Flow): Promise<Flow> {
    if (flow.protocol === "udp") return this.#sendUdp(bytes, flow.remote, flow.local);
    const conn = this.#table.get(flow.connectionId);
    if (!conn)
      return Promise.reject(new TransportError("FLOW_CLOSED", `connection ${flow.connectionId} is closed`));
    return this.#sendOn(conn, bytes);
  }

  async #sendToTarget(bytes: Buffer, to: Target): Promise<Flow> {
    if (to.protocol === "udp") return this.#sendUdp(bytes, to, undefined);
    if (ipFamily(to.address) === 0)
      throw new TransportError(
        "NO_TRANSPORT",
        `target ${to.address} is not an IP address (names are resolved above)`,
      );
    const driver = this.#connectionDriver(to.protocol, to.address);
    if (!driver)
      throw new TransportError("NO_TRANSPORT", `no ${to.protocol} listener for IPv${ipFamily(to.address)}`);
    const address = canonicalIp(to.address);
    const conn = await this.#table.obtain(to.protocol, address, to.port, () =>
      driver.connect({ ...to, address }),
    );
    return this.#sendOn(conn, bytes);
  }

  async #sendOn(conn: Connection, bytes: Buffer): Promise<Flow> {
    await conn.send(bytes);
    this.#sent(conn.flow, bytes);
    return conn.flow;
  }

  async #sendUdp(bytes: Buffer, to: Endpoint, from: Endpoint | undefined): Promise<Flow> {
    if (ipFamily(to.address) === 0)
      throw new TransportError(
        "NO_TRANSPORT",
        `destination ${to.address} is not an IP address (names are resolved above)`,
      );
    const driver = this.#datagramDriver(to.address, from);
    if (!driver) throw new TransportError("NO_TRANSPORT", `no udp listener for IPv${ipFamily(to.address)}`);
    const remote = { address: canonicalIp(to.address), port: to.port };
    await driver.send(bytes, remote);
    const flow: Flow = { protocol: "udp", local: driver.listener.local, remote, connectionId: "" };
    this.#sent(flow, bytes);
    return flow;
  }

  #sent(flow: Flow, bytes: Buffer): void {
    this.#counters.sent += 1;
    publishSend(flow, bytes);
  }

  #checkSize(bytes: Buffer): Buffer {
    const max = this.#options.limits.maxMessageBytes;
    if (bytes.length > max)
      throw new TransportError("TOO_LARGE", `message of ${bytes.length} bytes exceeds ${max}`);
    return bytes;
  }

  #checkOpen(): void {
    if (this.#closed) throw new TransportError("NO_TRANSPORT", "the transport layer is closed");
  }

  // ---- choosing a socket ---------------------------------------------------------------------

  /**
   * The UDP socket to send from: the one the flow names (a response leaves from the address and port
   * its request reached, RFC 3581 §4), else one of the destination's address family, else a
   * dual-stack `::` socket.
   */
  #datagramDriver(address: string, from: Endpoint | undefined): DatagramDriver | undefined {
    const family = ipFamily(address);
    let same: DatagramDriver | undefined;
    let dual: DatagramDriver | undefined;
    for (const d of this.#drivers) {
      if (d.kind !== "datagram") continue;
      const l = d.listener.local;
      if (from && l.port === from.port && (l.address === from.address || sameIp(l.address, from.address)))
        return d;
      const f = ipFamily(l.address);
      if (f === family) same ??= d;
      else if (f === 6 && isWildcard(l.address)) dual ??= d;
    }
    return same ?? dual;
  }

  #connectionDriver(protocol: TransportProtocol, address: string): ConnectionDriver | undefined {
    const family = ipFamily(address);
    let dual: ConnectionDriver | undefined;
    for (const d of this.#drivers) {
      if (d.kind !== "connection" || d.listener.protocol !== protocol) continue;
      const f = ipFamily(d.listener.local.address);
      if (f === family) return d;
      if (f === 6 && isWildcard(d.listener.local.address)) dual ??= d;
    }
    return dual;
  }

  #udpPorts(): Set<number> {
    const ports = new Set<number>();
    for (const d of this.#drivers) if (d.kind === "datagram") ports.add(d.listener.local.port);
    return ports;
  }
}

/**
 * §18.1.1: a request too large for UDP goes over TCP, and its top Via says so. When the sent-by
 * port is one of our UDP ports, it becomes the TCP listener's. Returns the original top Via value
 * (to restore on fallback), or undefined when the top Via is not a UDP one and nothing was changed.
 */
function switchViaToTcp(req: SipRequest, tcp: ConnectionDriver, udpPorts: Set<number>): string | undefined {
  const via = topViaOf(req);
  if (via === undefined || via.transport !== "UDP") return undefined;
  const original = req.removeFirstValue("Via");
  const switched: Via = { ...via, transport: "TCP" };
  if (via.port !== undefined && udpPorts.has(via.port)) switched.port = tcp.listener.local.port;
  req.prependHeader("Via", formatVia(switched));
  return original;
}

function topViaOf(msg: SipRequest | SipResponse): Via | undefined {
  try {
    return msg.topVia();
  } catch {
    return undefined;
  }
}
