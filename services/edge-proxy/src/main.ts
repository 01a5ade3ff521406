#!/usr/bin/env node
import { type Bus, busLogHooks, openBus } from "@sip-platform/bus";
import { configOrExit, redact } from "@sip-platform/config";
import type { DigestAlgorithm } from "@sip-platform/sip";
import { pino } from "pino";
import { advertisedHostOf, listenersOf, loadEdgeConfig, redirectListenersOf } from "./config.js";
import { newEdgeId } from "./edge-id.js";
import { startEdgeProxy, startRedirectListener } from "./service.js";

/** Composition root: config → bus → edge proxy → stop on SIGINT/SIGTERM (announcing edge.down). */
async function main(): Promise<void> {
  const config = configOrExit("edge-proxy", () => loadEdgeConfig(process.env));
  const listeners = configOrExit("edge-proxy", () => listenersOf(config));
  const log = pino({ level: config.LOG_LEVEL, base: { service: "edge-proxy" } });
  log.info({ config: redact(config) }, "starting");
  const edgeId = newEdgeId();
  const bus: Bus = await openBus({
    natsUrl: config.NATS_URL,
    prefix: config.NATS_SUBJECT_PREFIX,
    name: edgeId,
    ...busLogHooks(log),
  });
  const edge = await startEdgeProxy({
    bus,
    listeners,
    advertisedHost: advertisedHostOf(config),
    edgeId,
    clusterSecret: config.CLUSTER_SECRET,
    digestAlgorithms: config.DIGEST_ALGORITHMS as readonly DigestAlgorithm[],
    log,
  });
  const redirect = await startRedirectListener({ bus, listeners: redirectListenersOf(config), log });
  const where = edge.listeners.map((l) => `${l.protocol} ${l.local.address}:${l.local.port}`).join(", ");
  log.info({ listeners: edge.listeners }, "listening");
  process.stdout.write(`SIP edge proxy ${edge.edgeId} listening on ${where}\n`);
  const r = redirect.listeners[0]!.local;
  process.stdout.write(`Redirect server on ${r.address}:${r.port} (udp, tcp)\n`);

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "stopping");
    try {
      await redirect.close();
      await edge.close();
      await bus.drain();
      process.exit(0);
    } catch (err) {
      log.error({ err }, "unclean stop");
      process.exit(1);
    }
  };
  process.once("SIGINT", (s) => void stop(s));
  process.once("SIGTERM", (s) => void stop(s));
}

main().catch((err: unknown) => {
  process.stderr.write(`edge-proxy failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
