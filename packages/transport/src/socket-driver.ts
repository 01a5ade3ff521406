import type { Server, Socket } from "node:net";
import type { Duplex } from "node:stream";
import { canonicalIp } from "./address.js";
import type { Connection } from "./connection.js";
import { newConnectionId } from "./connection.js";
import type { DriverContext } from "./driver.js";
import { StreamConnection, type StreamConnectionEvents } from "./stream-connection.js";
import { type Endpoint, type Flow, type Target, TransportError, type TransportProtocol } from "./types.js";

/** Sockets a driver owns, so closing the driver ends them all (server.close() waits for them otherwise). */
export class SocketSet {
  readonly #sockets = new Set<{ destroy(): unknown }>();

  track<S extends { destroy(): unknown; once(event: "close", f: () => void): unknown }>(socket: S): S {
    this.#sockets.add(socket);
    socket.once("close", () => this.#sockets.delete(socket));
    return socket;
  }

  destroyAll(): void {
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
  }
}

/** Counts an accepted raw socket against the caps; destroys it when over one. */
export function admitInbound(
  ctx: DriverContext,
  protocol: TransportProtocol,
  socket: Socket,
  sockets: SocketSet,
): boolean {
  sockets.track(socket);
  if (ctx.table.admitSocket(socket, true)) return true;
  ctx.count("connectionsRefused", { protocol, remote: remoteOf(socket) });
  socket.destroy();
  return false;
}

export function remoteOf(socket: Socket): Endpoint {
  return { address: canonicalIp(socket.remoteAddress ?? ""), port: socket.remotePort ?? 0 };
}

export function localOf(socket: Socket): Endpoint {
  return { address: canonicalIp(socket.localAddress ?? ""), port: socket.localPort ?? 0 };
}

/** Wraps a connected socket in a StreamConnection and registers it. */
export function adoptStream(ctx: DriverContext, protocol: TransportProtocol, socket: Socket): Connection {
  socket.setNoDelay(true);
  return wrapStream(ctx, socket, {
    protocol,
    local: localOf(socket),
    remote: remoteOf(socket),
    connectionId: newConnectionId(protocol),
  });
}

/** A StreamConnection over any duplex (a socket, an in-memory pipe) with the layer's settings, registered. */
export function wrapStream(ctx: DriverContext, stream: Duplex, flow: Flow): Connection {
  const frozen: Flow = Object.freeze({
    ...flow,
    local: Object.freeze({ ...flow.local }),
    remote: Object.freeze({ ...flow.remote }),
  });
  const o = ctx.options;
  const events: StreamConnectionEvents = {
    ...ctx.connectionEvents,
    count: (name, f, error) => ctx.count(name, f, error),
  };
  const settings = {
    limits: o.limits,
    idleTimeoutMs: o.idleTimeoutMs,
    readTimeoutMs: o.readTimeoutMs,
    maxWriteBufferBytes: o.maxWriteBufferBytes,
  };
  const conn = new StreamConnection(stream, frozen, settings, events);
  ctx.opened(conn);
  return conn;
}

/**
 * Opens an outbound socket with `open` and waits for `readyEvent` ("connect", or "secureConnect" for
 * TLS) within the connect timeout. Counts it against the total cap.
 */
export function connectSocket<S extends Socket>(
  ctx: DriverContext,
  to: Target,
  sockets: SocketSet,
  readyEvent: "connect" | "secureConnect",
  open: () => S,
): Promise<S> {
  if (!ctx.table.admit(undefined, false))
    return Promise.reject(
      new TransportError("CONNECT_FAILED", `too many connections to open one to ${describe(to)}`),
    );
  return new Promise<S>((resolve, reject) => {
    let socket: S;
    try {
      socket = open();
    } catch (err) {
      ctx.table.release(undefined, false);
      reject(new TransportError("CONNECT_FAILED", `${describe(to)}: ${(err as Error).message}`));
      return;
    }
    sockets.track(socket);
    socket.once("close", () => ctx.table.release(undefined, false));
    const fail = (err: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(new TransportError("CONNECT_FAILED", `${describe(to)}: ${err.message}`));
    };
    const timer = setTimeout(
      () => fail(new Error(`no connection within ${ctx.options.connectTimeoutMs} ms`)),
      ctx.options.connectTimeoutMs,
    );
    socket.once("error", fail);
    socket.once(readyEvent, () => {
      clearTimeout(timer);
      socket.off("error", fail);
      resolve(socket);
    });
  });
}

export function describe(to: Target): string {
  return `${to.protocol} ${to.address.includes(":") ? `[${to.address}]` : to.address}:${to.port}`;
}

export function listen(server: Server, address: string, port: number): Promise<Endpoint> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: address, port, exclusive: true }, () => {
      server.off("error", reject);
      const a = server.address();
      resolve({ address, port: typeof a === "object" && a ? a.port : port });
    });
  });
}

export function closeServer(server: Server, sockets: SocketSet): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    sockets.destroyAll();
  });
}

/** A listener's own address as the local end of outbound connections, unless it binds every interface. */
export function localAddressFor(listenerAddress: string): string | undefined {
  return listenerAddress === "0.0.0.0" || listenerAddress === "::" ? undefined : listenerAddress;
}
