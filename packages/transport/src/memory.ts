import { Duplex } from "node:stream";
import { canonicalIp, isWildcard, remoteKey } from "./address.js";
import { type Connection, newConnectionId } from "./connection.js";
import type { ConnectionDriver, DatagramDriver, Driver, DriverContext } from "./driver.js";
import { TransportLayer } from "./layer.js";
import { type ListenerOptions, resolveOptions, type TransportOptions } from "./options.js";
import { wrapStream } from "./socket-driver.js";
import { type Endpoint, type Flow, type Target, TransportError, type TransportProtocol } from "./types.js";

/** One transmission on the memory network: a datagram, or one write on a memory connection. */
export interface MemoryPacket {
  readonly protocol: TransportProtocol;
  readonly from: Endpoint;
  readonly to: Endpoint;
  readonly bytes: Buffer;
  /** The sending side's connection id; "" for UDP. */
  readonly connectionId: string;
}

/** What happens to a packet: delivered (the default), lost, delivered twice, or delivered late. */
export type PacketFate = "deliver" | "drop" | "duplicate" | { readonly delayMs: number };

/** Sees every packet before delivery; returning nothing delivers it. */
export type PacketHook = (packet: MemoryPacket) => PacketFate | undefined;

interface MemoryPort {
  readonly ctx: DriverContext;
  readonly protocol: TransportProtocol;
  readonly local: Endpoint;
}

/**
 * An in-process network for testing the layers above without sockets. Each `attach` returns a real
 * TransportLayer whose drivers move bytes here instead of through the kernel: messages are
 * serialised, delivered asynchronously (setImmediate, or a timer when delayed), parsed and stamped
 * with received/rport on the other side exactly as from a socket. Connection-oriented protocols
 * (tcp, tls, ws, wss) get a pipe per connection with the real StreamFramer on each end.
 */
export class MemoryNetwork {
  /** Drop, duplicate or delay packets; set to undefined to deliver everything. */
  hook: PacketHook | undefined;
  readonly #ports = new Map<string, MemoryPort>();
  #nextPort = 49152;
  #inFlight = 0;
  #waiters: Array<() => void> = [];

  /** A transport layer whose listeners live on this network (addresses are IP literals, not wildcards). */
  attach(options: TransportOptions): Promise<TransportLayer> {
    const resolved = resolveOptions(options);
    for (const [i, l] of resolved.listeners.entries())
      if (isWildcard(l.address))
        throw new TypeError(`memory network: listeners[${i}].address must not be a wildcard`);
    return TransportLayer.open(resolved, (ctx, l) => Promise.resolve(this.#bind(ctx, l)));
  }

  /** Resolves once no packet is in flight and nothing new was sent in the meantime. */
  async settle(): Promise<void> {
    for (;;) {
      if (this.#inFlight > 0) await new Promise<void>((resolve) => this.#waiters.push(resolve));
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.#inFlight === 0) return;
    }
  }

  #bind(ctx: DriverContext, l: ListenerOptions): Driver {
    const local: Endpoint = Object.freeze({
      address: canonicalIp(l.address),
      port: l.port === 0 ? this.#allocatePort() : l.port,
    });
    const key = remoteKey(l.protocol, local.address, local.port);
    if (this.#ports.has(key)) throw new Error(`memory network: ${key} is already bound`);
    const port: MemoryPort = { ctx, protocol: l.protocol, local };
    this.#ports.set(key, port);
    const listener = Object.freeze({ protocol: l.protocol, local });
    const close = (): Promise<void> => {
      if (this.#ports.get(key) === port) this.#ports.delete(key);
      return Promise.resolve();
    };
    if (l.protocol === "udp") {
      const driver: DatagramDriver = {
        kind: "datagram",
        listener,
        send: (bytes, to) => {
          this.#datagram(local, to, bytes);
          return Promise.resolve();
        },
        close,
      };
      return driver;
    }
    const driver: ConnectionDriver = {
      kind: "connection",
      listener,
      connect: (to) => this.#connect(port, to),
      close,
    };
    return driver;
  }

  #datagram(from: Endpoint, to: Endpoint, bytes: Buffer): void {
    const packet: MemoryPacket = { protocol: "udp", from, to, bytes, connectionId: "" };
    this.#transmit(packet, () => {
      const port = this.#ports.get(remoteKey("udp", to.address, to.port));
      if (!port) return; // nobody listening: a datagram is simply lost
      const flow: Flow = { protocol: "udp", local: port.local, remote: from, connectionId: "" };
      port.ctx.datagram(Buffer.from(bytes), flow);
    });
  }

  async #connect(client: MemoryPort, to: Target): Promise<Connection> {
    await Promise.resolve();
    const server = this.#ports.get(remoteKey(to.protocol, to.address, to.port));
    const where = `${to.protocol} ${to.address}:${to.port}`;
    if (!server)
      throw new TransportError("CONNECT_FAILED", `${where}: connection refused (nothing listening)`);
    if (!client.ctx.table.admit(undefined, false))
      throw new TransportError("CONNECT_FAILED", `too many connections to open one to ${where}`);
    const clientEnd: Endpoint = Object.freeze({ address: client.local.address, port: this.#allocatePort() });
    const serverEnd = server.local;
    const a = new PipeEnd((p, deliver) => this.#transmit(p, deliver), to.protocol, clientEnd, serverEnd);
    const b = new PipeEnd((p, deliver) => this.#transmit(p, deliver), to.protocol, serverEnd, clientEnd);
    a.peer = b;
    b.peer = a;
    a.once("close", () => client.ctx.table.release(undefined, false));
    if (
      !server.ctx.table.admitSocket({ remoteAddress: clientEnd.address, once: (e, f) => b.once(e, f) }, true)
    ) {
      server.ctx.count("connectionsRefused", { protocol: to.protocol, remote: clientEnd });
      a.destroy();
      b.destroy();
      throw new TransportError("CONNECT_FAILED", `${where}: connection refused (over the cap)`);
    }
    const serverConn = wrapStream(server.ctx, b, {
      protocol: to.protocol,
      local: serverEnd,
      remote: clientEnd,
      connectionId: newConnectionId(to.protocol),
    });
    b.connectionId = serverConn.flow.connectionId;
    const conn = wrapStream(client.ctx, a, {
      protocol: to.protocol,
      local: clientEnd,
      remote: serverEnd,
      connectionId: newConnectionId(to.protocol),
    });
    a.connectionId = conn.flow.connectionId;
    return conn;
  }

  #transmit(packet: MemoryPacket, deliver: () => void): void {
    const fate = this.hook?.(packet) ?? "deliver";
    if (fate === "drop") return;
    const delayMs = typeof fate === "object" ? fate.delayMs : 0;
    const copies = fate === "duplicate" ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      this.#inFlight += 1;
      const run = (): void => {
        this.#inFlight -= 1;
        try {
          deliver();
        } finally {
          if (this.#inFlight === 0) for (const w of this.#waiters.splice(0)) w();
        }
      };
      if (delayMs > 0) setTimeout(run, delayMs);
      else setImmediate(run);
    }
  }

  #allocatePort(): number {
    this.#nextPort = this.#nextPort >= 65535 ? 49152 : this.#nextPort + 1;
    return this.#nextPort;
  }
}

/** One end of an in-memory connection: what is written comes out of the peer, through the network's hook. */
class PipeEnd extends Duplex {
  peer: PipeEnd | undefined;
  connectionId = "";

  constructor(
    private readonly transmit: (packet: MemoryPacket, deliver: () => void) => void,
    private readonly protocol: TransportProtocol,
    private readonly from: Endpoint,
    private readonly to: Endpoint,
  ) {
    super();
  }

  override _read(): void {}

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const bytes = Buffer.from(chunk);
    const packet = {
      protocol: this.protocol,
      from: this.from,
      to: this.to,
      bytes,
      connectionId: this.connectionId,
    };
    this.transmit(packet, () => {
      const peer = this.peer;
      if (peer && !peer.destroyed) peer.push(Buffer.from(bytes));
    });
    callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    const peer = this.peer;
    setImmediate(() => {
      if (peer && !peer.destroyed) peer.push(null);
    });
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const peer = this.peer;
    this.peer = undefined;
    if (peer && !peer.destroyed) setImmediate(() => peer.destroy());
    callback(error);
  }
}
