import { type ConnectionOptions, connect, createServer } from "node:tls";
import { ipFamily } from "./address.js";
import type { ConnectionDriver, DriverContext } from "./driver.js";
import type { ListenerOptions } from "./options.js";
import {
  admitInbound,
  adoptStream,
  closeServer,
  connectSocket,
  listen,
  localAddressFor,
  remoteOf,
  SocketSet,
} from "./socket-driver.js";

/** SIP over TLS (RFC 3261 §26.2.1, RFC 5922 names): as TCP, with the handshake bounded by the read timeout. */
export async function listenTls(ctx: DriverContext, options: ListenerOptions): Promise<ConnectionDriver> {
  const sockets = new SocketSet();
  const server = createServer({
    ...options.tls,
    allowHalfOpen: false,
    handshakeTimeout: ctx.options.readTimeoutMs,
  });
  // Caps are checked on the raw socket, before the handshake costs any CPU.
  server.on("connection", (socket) => {
    admitInbound(ctx, "tls", socket, sockets);
  });
  server.on("secureConnection", (socket) => {
    adoptStream(ctx, "tls", socket);
  });
  server.on("tlsClientError", (err, socket) => {
    ctx.count("handshakeFailures", { protocol: "tls", remote: remoteOf(socket) }, err);
  });
  const local = await listen(server, options.address, options.port);
  server.on("error", (err) => ctx.count("socketErrors", undefined, err));
  const localAddress = localAddressFor(options.address);
  return {
    kind: "connection",
    listener: Object.freeze({ protocol: "tls", local: Object.freeze(local) }),
    async connect(to) {
      // SNI may not carry an IP address (RFC 6066 §3); the certificate is then checked against the IP.
      const servername =
        to.serverName !== undefined && ipFamily(to.serverName) === 0 ? to.serverName : undefined;
      // tls.connect passes net.connect options such as localAddress through; its types do not list them.
      const connectOptions: ConnectionOptions & { localAddress?: string | undefined } = {
        ...ctx.options.tlsClient,
        host: to.address,
        port: to.port,
        servername,
        localAddress,
      };
      const socket = await connectSocket(ctx, to, sockets, "secureConnect", () => connect(connectOptions));
      return adoptStream(ctx, "tls", socket);
    },
    close: () => closeServer(server, sockets),
  };
}
