import { connect, createServer } from "node:net";
import type { ConnectionDriver, DriverContext } from "./driver.js";
import type { ListenerOptions } from "./options.js";
import {
  admitInbound,
  adoptStream,
  closeServer,
  connectSocket,
  listen,
  localAddressFor,
  SocketSet,
} from "./socket-driver.js";

/** SIP over TCP (RFC 3261 §18): one listening socket, and outbound connections from its address. */
export async function listenTcp(ctx: DriverContext, options: ListenerOptions): Promise<ConnectionDriver> {
  const sockets = new SocketSet();
  // The peer's FIN ends the connection (no half-open SIP connections).
  const server = createServer({ allowHalfOpen: false, noDelay: true });
  server.on("connection", (socket) => {
    if (admitInbound(ctx, "tcp", socket, sockets)) adoptStream(ctx, "tcp", socket);
  });
  const local = await listen(server, options.address, options.port);
  server.on("error", (err) => ctx.count("socketErrors", undefined, err));
  const localAddress = localAddressFor(options.address);
  return {
    kind: "connection",
    listener: Object.freeze({ protocol: "tcp", local: Object.freeze(local) }),
    async connect(to) {
      const socket = await connectSocket(ctx, to, sockets, "connect", () =>
        connect({ host: to.address, port: to.port, localAddress, noDelay: true }),
      );
      return adoptStream(ctx, "tcp", socket);
    },
    close: () => closeServer(server, sockets),
  };
}
