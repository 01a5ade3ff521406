import type { DriverFactory } from "./driver.js";
import { TransportLayer } from "./layer.js";
import { resolveOptions, type TransportOptions } from "./options.js";
import { listenTcp } from "./tcp.js";
import { listenTls } from "./tls.js";
import { bindUdp } from "./udp.js";
import { listenWs } from "./ws.js";

const bindSocket: DriverFactory = (ctx, listener) => {
  switch (listener.protocol) {
    case "udp":
      return bindUdp(ctx, listener);
    case "tcp":
      return listenTcp(ctx, listener);
    case "tls":
      return listenTls(ctx, listener);
    case "ws":
    case "wss":
      return listenWs(ctx, listener);
  }
};

/**
 * Binds every listener and returns the transport layer once all are listening (ports chosen by
 * the OS for port 0 are in `listeners`). Options are validated first; a bad one throws TypeError.
 */
export function createTransportLayer(options: TransportOptions): Promise<TransportLayer> {
  return TransportLayer.open(resolveOptions(options), bindSocket);
}
