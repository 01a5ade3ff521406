#!/usr/bin/env node
import { readFileSync } from "node:fs";
import { createTransportLayer, type ListenerOptions } from "@sip-platform/transport";
import { pino } from "pino";
import { answer } from "./answer.js";
import { ConfigError, type DemoConfig, loadConfig } from "./config.js";

const SERVER = "sip-platform-demo/0.1";

/** Composition root: config → listeners → answer every request → stop on SIGINT/SIGTERM. */
async function main(): Promise<void> {
  let config: DemoConfig;
  try {
    config = loadConfig(process.env);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`configuration error: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  const log = pino({ level: config.logLevel, base: { service: "demo-server" } });
  const transport = await createTransportLayer({ listeners: listenersOf(config) });

  transport.onMessage(({ message, flow }) => {
    if (!message.isRequest()) return; // a stateless server has no transaction for a response
    const res = answer(message, SERVER);
    if (!res) return;
    transport.sendResponse(res, flow).catch((err: unknown) => {
      log.warn({ err, remote: flow.remote, protocol: flow.protocol }, "could not send response");
    });
  });

  for (const l of transport.listeners) log.info({ protocol: l.protocol, ...l.local }, "listening");
  process.stdout.write(
    `SIP demo server listening on ${transport.listeners.map((l) => `${l.protocol} ${l.local.address}:${l.local.port}`).join(", ")}\n`,
  );

  const stop = (signal: string) => {
    log.info({ signal }, "stopping");
    transport.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

function listenersOf(c: DemoConfig): ListenerOptions[] {
  const listeners: ListenerOptions[] = [
    { protocol: "udp", address: c.listen, port: c.port },
    { protocol: "tcp", address: c.listen, port: c.port },
    { protocol: "ws", address: c.listen, port: c.wsPort },
  ];
  if (c.tlsCert && c.tlsKey) {
    const tls = { cert: readFileSync(c.tlsCert), key: readFileSync(c.tlsKey) };
    listeners.push({ protocol: "tls", address: c.listen, port: c.tlsPort, tls });
    listeners.push({ protocol: "wss", address: c.listen, port: c.wssPort, tls });
  }
  return listeners;
}

main().catch((err: unknown) => {
  process.stderr.write(`demo server failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
