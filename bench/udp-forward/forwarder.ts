/**
 * A stateless SIP forwarder on one UDP socket, one process, one thread: stateless.ts on
 * node:dgram, measured against Kamailio's stateless forward() by run.ts.
 *
 *   node bench/udp-forward/forwarder.ts --next 127.0.0.1:5072 [--port 0] [--max-seconds 900] [--relay]
 *
 * Prints "READY <port>" once listening on 127.0.0.1. Exits when stdin closes (so it never
 * outlives the runner) or after --max-seconds. A line "stats" on stdin prints the counters as
 * one JSON line.
 *
 * --relay is the floor of the measurement: no SIP at all; requests go to the next hop as received
 * and whatever comes from the next hop goes back to the last request's source. The difference
 * between the two is what the SIP work costs; the relay is what node:dgram costs.
 */

import dgram from "node:dgram";
import { createStatelessForwarder } from "./stateless.ts";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : fallback;
}

const LOCAL_HOST = "127.0.0.1";
const [NEXT_HOST, nextPortText] = arg("next", "127.0.0.1:5072").split(":") as [string, string];
const NEXT_PORT = Number(nextPortText);
const MAX_SECONDS = Number(arg("max-seconds", "900"));
const RELAY = process.argv.includes("--relay");

function main(): void {
  const sock = dgram.createSocket({ type: "udp4", recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
  const send = (data: Buffer, port: number, host: string): void => {
    sock.send(data, port, host);
  };
  let stats: object = {};
  sock.on("error", (err) => {
    process.stderr.write(`forwarder: ${err.message}\n`);
    process.exit(1);
  });
  sock.bind(Number(arg("port", "0")), LOCAL_HOST, () => {
    const localPort = sock.address().port;
    if (RELAY) {
      const counts = { requests: 0, responses: 0 };
      stats = counts;
      let lastSource: dgram.RemoteInfo | undefined;
      sock.on("message", (buf, rinfo) => {
        if (rinfo.port === NEXT_PORT && rinfo.address === NEXT_HOST) {
          if (lastSource) send(buf, lastSource.port, lastSource.address);
          counts.responses++;
        } else {
          lastSource = rinfo;
          send(buf, NEXT_PORT, NEXT_HOST);
          counts.requests++;
        }
      });
    } else {
      const fwd = createStatelessForwarder({
        localHost: LOCAL_HOST,
        localPort,
        nextHost: NEXT_HOST,
        nextPort: NEXT_PORT,
        secret: `${process.pid}.${Date.now()}`,
        send,
      });
      stats = fwd.stats;
      sock.on("message", (buf, rinfo) => fwd.onDatagram(buf, rinfo.address, rinfo.port));
    }
    process.stdout.write(`READY ${localPort}\n`);
  });
  process.stdin.setEncoding("utf8");
  process.stdin.on("data", (chunk: string) => {
    if (chunk.includes("stats")) process.stdout.write(`${JSON.stringify(stats)}\n`);
  });
  process.stdin.on("end", () => process.exit(0));
  setTimeout(() => process.exit(0), MAX_SECONDS * 1000).unref();
}

main();
