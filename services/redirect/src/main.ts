#!/usr/bin/env node
import { busLogHooks, openBus } from "@sip-platform/bus";
import { configOrExit, redact } from "@sip-platform/config";
import { pino } from "pino";
import { loadRedirectConfig } from "./config.js";
import { startRedirect } from "./service.js";

/** Composition root: config → bus → redirect service → stop on SIGINT/SIGTERM. */
async function main(): Promise<void> {
  const config = configOrExit("redirect", () => loadRedirectConfig(process.env));
  const log = pino({ level: config.LOG_LEVEL, base: { service: "redirect" } });
  log.info({ config: redact(config) }, "starting");
  const bus = await openBus({
    natsUrl: config.NATS_URL,
    prefix: config.NATS_SUBJECT_PREFIX,
    name: `redirect-${process.pid}`,
    ...busLogHooks(log),
  });
  const running = await startRedirect({ bus, trustedCidrs: config.TRUSTED_CIDRS, log });
  const stop = async (signal: string) => {
    log.info({ signal }, "stopping");
    await running.close();
    await bus.drain();
    process.exit(0);
  };
  process.once("SIGINT", (s) => void stop(s));
  process.once("SIGTERM", (s) => void stop(s));
}

main().catch((err: unknown) => {
  process.stderr.write(`redirect failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
