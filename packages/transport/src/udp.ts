import { createSocket } from "node:dgram";
import { canonicalIp, ipFamily } from "./address.js";
import type { DatagramDriver, DriverContext } from "./driver.js";
import type { ListenerOptions } from "./options.js";
import { type Endpoint, type Flow, TransportError } from "./types.js";

/** SIP over UDP (RFC 3261 §18): one socket that receives datagrams and sends from the same address and port. */
export async function bindUdp(ctx: DriverContext, options: ListenerOptions): Promise<DatagramDriver> {
  const v6 = ipFamily(options.address) === 6;
  const socket = createSocket({
    type: v6 ? "udp6" : "udp4",
    recvBufferSize: ctx.options.udpReceiveBufferBytes,
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind({ address: options.address, port: options.port, exclusive: true }, () => {
      socket.off("error", reject);
      resolve();
    });
  });
  const local: Endpoint = Object.freeze({ address: options.address, port: socket.address().port });
  socket.on("error", (err) => ctx.count("socketErrors", { protocol: "udp" }, err));
  socket.on("message", (bytes, rinfo) => {
    const flow: Flow = {
      protocol: "udp",
      local,
      remote: { address: canonicalIp(rinfo.address), port: rinfo.port },
      connectionId: "",
    };
    ctx.datagram(bytes, flow);
  });
  return {
    kind: "datagram",
    listener: Object.freeze({ protocol: "udp", local }),
    send(bytes, to) {
      // An IPv6 socket bound to :: reaches IPv4 peers through mapped addresses.
      const address = v6 && ipFamily(to.address) === 4 ? `::ffff:${to.address}` : to.address;
      return new Promise((resolve, reject) => {
        socket.send(bytes, to.port, address, (err) => {
          if (err) reject(new TransportError("SEND_FAILED", `udp ${to.address}:${to.port}: ${err.message}`));
          else resolve();
        });
      });
    },
    close: () =>
      new Promise((resolve) => {
        socket.close(() => resolve());
      }),
  };
}
