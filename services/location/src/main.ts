#!/usr/bin/env node
import { openBindingStore } from "@sip-platform/bindings";
import { busLogHooks, openBus } from "@sip-platform/bus";
import {
  configOrExit,
  LOG_LEVEL,
  NATS_SUBJECT_PREFIX,
  NATS_URL,
  parseConfig,
  REDIS_URL,
  redact,
  required,
} from "@sip-platform/config";
import { pino } from "pino";
import { startLocation } from "./service.js";

/** A location instance on its own: NATS and Redis are required; several may run at once. */
const SCHEMA = {
  NATS_URL: required(NATS_URL),
  NATS_SUBJECT_PREFIX,
  REDIS_URL: required(REDIS_URL),
  LOG_LEVEL,
};

async function main(): Promise<void> {
  const config = configOrExit("location", () => parseConfig(SCHEMA, process.env));
  const log = pino({ level: config.LOG_LEVEL, base: { service: "location" } });
  log.info({ config: redact(config) }, "starting");
  const bindings = openBindingStore({ redisUrl: config.REDIS_URL });
  const bus = await openBus({
    natsUrl: config.NATS_URL,
    prefix: config.NATS_SUBJECT_PREFIX,
    name: `location-${process.pid}`,
    ...busLogHooks(log),
  });
  const running = await startLocation({ bus, bindings, log });
  const stop = async (signal: string) => {
    log.info({ signal }, "stopping");
    await running.close();
    await bus.drain();
    await bindings.close();
    process.exit(0);
  };
  process.once("SIGINT", (s) => void stop(s));
  process.once("SIGTERM", (s) => void stop(s));
}

main().catch((err: unknown) => {
  process.stderr.write(`location failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
