#!/usr/bin/env node
import { openBindingStore } from "@sip-platform/bindings";
import { busLogHooks, openBus } from "@sip-platform/bus";
import {
  CLUSTER_SECRET,
  configOrExit,
  DATABASE_URL,
  DIGEST_ALGORITHMS,
  LOG_LEVEL,
  NATS_SUBJECT_PREFIX,
  NATS_URL,
  parseConfig,
  REDIS_URL,
  redact,
  required,
} from "@sip-platform/config";
import { createRepository, EMBEDDED_DATABASE_URL, openDatabase } from "@sip-platform/db";
import { REGISTRAR_DEFAULTS } from "@sip-platform/registrar";
import type { DigestAlgorithm } from "@sip-platform/sip";
import { pino } from "pino";
import { startRegistrar } from "./service.js";

/** A registrar instance on its own: NATS, Redis and Postgres are required; several may run at once. */
const SCHEMA = {
  NATS_URL: required(NATS_URL),
  NATS_SUBJECT_PREFIX,
  REDIS_URL: required(REDIS_URL),
  DATABASE_URL,
  CLUSTER_SECRET: required(CLUSTER_SECRET),
  DIGEST_ALGORITHMS,
  LOG_LEVEL,
};

async function main(): Promise<void> {
  const config = configOrExit("registrar", () => parseConfig(SCHEMA, process.env));
  const log = pino({ level: config.LOG_LEVEL, base: { service: "registrar" } });
  log.info({ config: redact(config) }, "starting");
  const database = await openDatabase({ url: config.DATABASE_URL ?? EMBEDDED_DATABASE_URL });
  await database.migrate();
  const bindings = openBindingStore({ redisUrl: config.REDIS_URL });
  const bus = await openBus({
    natsUrl: config.NATS_URL,
    prefix: config.NATS_SUBJECT_PREFIX,
    name: `registrar-${process.pid}`,
    ...busLogHooks(log),
  });
  const running = await startRegistrar({
    bus,
    repository: createRepository(database),
    bindings,
    policy: {
      ...REGISTRAR_DEFAULTS,
      algorithms: config.DIGEST_ALGORITHMS as readonly DigestAlgorithm[],
      secret: config.CLUSTER_SECRET,
    },
    log,
  });
  const stop = async (signal: string) => {
    log.info({ signal }, "stopping");
    await running.close();
    await bus.drain();
    await bindings.close();
    await database.close();
    process.exit(0);
  };
  process.once("SIGINT", (s) => void stop(s));
  process.once("SIGTERM", (s) => void stop(s));
}

main().catch((err: unknown) => {
  process.stderr.write(`registrar failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
