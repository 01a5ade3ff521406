import { isUtf8 } from "node:buffer";
import { createServer as createHttpServer, type IncomingMessage } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { type ClientOptions, type RawData, WebSocket, WebSocketServer } from "ws";
import { bracket, canonicalIp, ipFamily } from "./address.js";
import { type Connection, newConnectionId } from "./connection.js";
import type { ConnectionDriver, DriverContext } from "./driver.js";
import type { ListenerOptions } from "./options.js";
import {
  admitInbound,
  closeServer,
  describe,
  listen,
  localAddressFor,
  localOf,
  remoteOf,
  SocketSet,
} from "./socket-driver.js";
import { type Endpoint, type Flow, type Target, TransportError, type TransportProtocol } from "./types.js";

/** The WebSocket subprotocol of RFC 7118 §4.1; a handshake that does not offer it is refused. */
export const SIP_SUBPROTOCOL = "sip";

const CRLF = "\r\n";

/**
 * SIP over WebSocket (RFC 7118): every WebSocket message is one SIP message (text or binary), so a
 * message without Content-Length carries its body to the end as a datagram does. A `\r\n\r\n`
 * message is a keep-alive ping and gets a `\r\n` pong, as on TCP.
 */
class WsConnection implements Connection {
  readonly #ws: WebSocket;
  readonly #ctx: DriverContext;
  readonly #idle: NodeJS.Timeout;
  #closed = false;

  constructor(
    ws: WebSocket,
    readonly flow: Flow,
    ctx: DriverContext,
  ) {
    this.#ws = ws;
    this.#ctx = ctx;
    this.#idle = setTimeout(() => {
      ctx.count("idleTimeouts", flow);
      this.close();
    }, ctx.options.idleTimeoutMs).unref();
    ws.on("message", (data) => this.#onMessage(toBuffer(data)));
    ws.on("error", (err) => {
      if (!this.#closed) ctx.count("socketErrors", flow, err);
    });
    ws.on("close", () => this.#markClosed());
  }

  get closed(): boolean {
    return this.#closed;
  }

  send(bytes: Buffer): Promise<void> {
    if (this.#closed)
      return Promise.reject(
        new TransportError("FLOW_CLOSED", `connection ${this.flow.connectionId} is closed`),
      );
    if (this.#ws.bufferedAmount + bytes.length > this.#ctx.options.maxWriteBufferBytes) {
      this.#ctx.count("writeOverflows", this.flow);
      this.close();
      return Promise.reject(
        new TransportError(
          "SEND_FAILED",
          `connection ${this.flow.connectionId}: peer is not reading, closed`,
        ),
      );
    }
    this.#idle.refresh();
    return new Promise((resolve, reject) => {
      // RFC 7118 §5.1: UTF-8 messages go in text frames, anything else in binary frames.
      this.#ws.send(bytes, { binary: !isUtf8(bytes) }, (err) => {
        if (err)
          reject(new TransportError("SEND_FAILED", `connection ${this.flow.connectionId}: ${err.message}`));
        else resolve();
      });
    });
  }

  close(): void {
    this.#ws.terminate();
    this.#markClosed();
  }

  #onMessage(data: Buffer): void {
    if (this.#closed) return;
    this.#idle.refresh();
    if (isKeepAlive(data)) {
      this.#ctx.count("keepAlives", this.flow);
      this.#ws.send(CRLF);
      return;
    }
    this.#ctx.connectionEvents.message(this, data, "datagram");
  }

  #markClosed(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#idle);
    this.#ctx.connectionEvents.closed(this);
  }
}

/** WS or WSS listener; outbound connections are WebSocket clients offering the `sip` subprotocol. */
export async function listenWs(ctx: DriverContext, options: ListenerOptions): Promise<ConnectionDriver> {
  const protocol: TransportProtocol = options.protocol === "wss" ? "wss" : "ws";
  const sockets = new SocketSet();
  const clients = new Set<WebSocket>();
  // Node checks the HTTP timeouts below every connectionsCheckingInterval (30 s by default).
  const checking = Math.min(30_000, ctx.options.readTimeoutMs);
  const server =
    protocol === "wss"
      ? createHttpsServer({ ...options.tls, connectionsCheckingInterval: checking })
      : createHttpServer({ connectionsCheckingInterval: checking });
  // The HTTP part (up to the upgrade) is bounded like any partial message.
  server.headersTimeout = ctx.options.readTimeoutMs;
  server.requestTimeout = ctx.options.readTimeoutMs;
  const wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    perMessageDeflate: false,
    maxPayload: ctx.options.limits.maxMessageBytes,
    handleProtocols: (offered) => (offered.has(SIP_SUBPROTOCOL) ? SIP_SUBPROTOCOL : false),
  });
  server.on("connection", (socket: Socket) => {
    admitInbound(ctx, protocol, socket, sockets);
  });
  server.on("request", (_req, res) => {
    res.writeHead(426, { Connection: "close", Upgrade: "websocket", "Content-Type": "text/plain" });
    res.end("SIP over WebSocket only (RFC 7118)\n");
  });
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (!offersSip(req)) {
      ctx.count(
        "handshakeFailures",
        { protocol, remote: remoteOf(req.socket) },
        new Error("no sip subprotocol"),
      );
      socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
      setTimeout(() => socket.destroy(), 1000).unref();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const flow = makeFlow(protocol, localOf(req.socket), remoteOf(req.socket));
      ctx.opened(new WsConnection(ws, flow, ctx));
    });
  });
  if (protocol === "wss")
    server.on("tlsClientError", (err: Error, socket: Socket) => {
      ctx.count("handshakeFailures", { protocol, remote: remoteOf(socket) }, err);
    });
  const local = await listen(server, options.address, options.port);
  server.on("error", (err) => ctx.count("socketErrors", undefined, err));
  const localAddress = localAddressFor(options.address);
  return {
    kind: "connection",
    listener: Object.freeze({ protocol, local: Object.freeze(local) }),
    connect: (to) => connectWs(ctx, protocol, to, clients, localAddress),
    close: async () => {
      for (const ws of clients) ws.terminate();
      clients.clear();
      server.closeAllConnections();
      await closeServer(server, sockets);
    },
  };
}

function connectWs(
  ctx: DriverContext,
  protocol: TransportProtocol,
  to: Target,
  clients: Set<WebSocket>,
  localAddress: string | undefined,
): Promise<Connection> {
  if (!ctx.table.admit(undefined, false))
    return Promise.reject(
      new TransportError("CONNECT_FAILED", `too many connections to open one to ${describe(to)}`),
    );
  const options: ClientOptions & { servername?: string } = {
    perMessageDeflate: false,
    maxPayload: ctx.options.limits.maxMessageBytes,
    handshakeTimeout: ctx.options.connectTimeoutMs,
    localAddress,
    ...(protocol === "wss" ? ctx.options.tlsClient : {}),
  };
  if (protocol === "wss" && to.serverName !== undefined && ipFamily(to.serverName) === 0)
    options.servername = to.serverName;
  const ws = new WebSocket(`${protocol}://${bracket(to.address)}:${to.port}/`, SIP_SUBPROTOCOL, options);
  clients.add(ws);
  ws.once("close", () => {
    clients.delete(ws);
    ctx.table.release(undefined, false);
  });
  return new Promise<Connection>((resolve, reject) => {
    let local: Endpoint = { address: "", port: 0 };
    ws.once("upgrade", (res: IncomingMessage) => {
      local = localOf(res.socket);
    });
    const fail = (err: Error): void => {
      ws.terminate();
      reject(new TransportError("CONNECT_FAILED", `${describe(to)}: ${err.message}`));
    };
    ws.once("error", fail);
    ws.once("open", () => {
      ws.off("error", fail);
      if (ws.protocol !== SIP_SUBPROTOCOL) {
        fail(new Error("server did not accept the sip subprotocol"));
        return;
      }
      const conn = new WsConnection(
        ws,
        makeFlow(protocol, local, { address: canonicalIp(to.address), port: to.port }),
        ctx,
      );
      ctx.opened(conn);
      resolve(conn);
    });
  });
}

function offersSip(req: IncomingMessage): boolean {
  const header = req.headers["sec-websocket-protocol"];
  if (header === undefined) return false;
  for (const p of header.split(",")) if (p.trim() === SIP_SUBPROTOCOL) return true;
  return false;
}

function makeFlow(protocol: TransportProtocol, local: Endpoint, remote: Endpoint): Flow {
  return Object.freeze({
    protocol,
    local: Object.freeze(local),
    remote: Object.freeze(remote),
    connectionId: newConnectionId(protocol),
  });
}

function isKeepAlive(data: Buffer): boolean {
  return data.length === 4 && data.toString("latin1") === "\r\n\r\n";
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
