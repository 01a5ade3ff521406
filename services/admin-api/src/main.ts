#!/usr/bin/env node
/**
 * Composition root of the admin API as its own process: configuration (parsed once, here) →
 * database (migrated) → binding store → bus → HTTP, and the call-record writer (the edges' call
 * events into the database; its instances share the durable consumer, so every admin API
 * instance may run one); SIGINT/SIGTERM close them in reverse.
 * A configuration problem is one line on stderr naming the variable, exit code 2; a dependency
 * that cannot be opened is one line too, exit code 1.
 */
import { randomBytes } from "node:crypto";
import { openBindingStore } from "@sip-platform/bindings";
import { busLogHooks, openBus } from "@sip-platform/bus";
import { keepCallRecordWriter } from "@sip-platform/call-records";
import {
  ADMIN_PORT,
  ADMIN_TOKEN,
  configOrExit,
  DATABASE_URL,
  field,
  LOG_LEVEL,
  NATS_SUBJECT_PREFIX,
  NATS_URL,
  parseConfig,
  REDIS_URL,
  redact,
} from "@sip-platform/config";
import { createRepository, type Database, EMBEDDED_DATABASE_URL, openDatabase } from "@sip-platform/db";
import { loggableError } from "./errors.js";
import { createLogger } from "./logger.js";
import { startAdminApi } from "./service.js";

/** Not in the contract's table: the address the admin API binds (the contract fixes only its port). */
const ADMIN_LISTEN = field.ip({ default: "0.0.0.0", describe: "address the admin API binds" });

const SCHEMA = {
  ADMIN_LISTEN,
  ADMIN_PORT,
  ADMIN_TOKEN,
  DATABASE_URL,
  REDIS_URL,
  NATS_URL,
  NATS_SUBJECT_PREFIX,
  LOG_LEVEL,
};

/** Closing everything may not take longer than this; then the process exits anyway. */
const SHUTDOWN_GRACE_MS = 10_000;

type Closer = readonly [name: string, close: () => Promise<void>];

async function main(): Promise<void> {
  const config = configOrExit("admin-api", () => parseConfig(SCHEMA, process.env));

  const log = createLogger({ level: config.LOG_LEVEL });
  log.info({ config: redact(config) }, "starting");

  let adminToken = config.ADMIN_TOKEN;
  if (adminToken === undefined) {
    adminToken = randomBytes(32).toString("base64url");
    // The contract: generated and printed at start. Printed, not logged: log lines are shipped.
    process.stdout.write(`admin-api: ADMIN_TOKEN is not set; generated token for this run: ${adminToken}\n`);
  }

  // Closed in reverse order of opening, whatever happens after each one opened.
  const closers: Closer[] = [];
  const closeAll = async (): Promise<void> => {
    for (const [name, close] of closers.reverse()) {
      try {
        await close();
      } catch (error) {
        log.warn({ dependency: name, error: loggableError(error) }, "close failed");
      }
    }
    closers.length = 0;
  };

  try {
    const database: Database = await openDatabase({
      url: config.DATABASE_URL ?? EMBEDDED_DATABASE_URL,
      applicationName: "sip-platform-admin-api",
    });
    closers.push(["database", () => database.close()]);
    const report = await database.migrate();
    log.info({ database: database.location, migrations: report }, "database ready");

    const bindings = openBindingStore({ redisUrl: config.REDIS_URL });
    closers.push(["bindings", () => bindings.close()]);

    const bus = await openBus({
      natsUrl: config.NATS_URL,
      prefix: config.NATS_SUBJECT_PREFIX,
      name: `admin-api-${process.pid}`,
      ...busLogHooks(log),
    });
    closers.push(["bus", () => bus.drain()]);

    const repository = createRepository(database);
    const api = await startAdminApi({
      repository,
      database,
      bindings,
      bus,
      adminToken,
      host: config.ADMIN_LISTEN,
      port: config.ADMIN_PORT,
      log,
    });
    closers.push(["http", () => api.close()]);

    // Without JetStream it logs why and tries again; the API serves meanwhile.
    const writer = keepCallRecordWriter({ bus, repository, log: log.child({ component: "call-records" }) });
    closers.push(["call-records", () => writer.close()]);
    process.stdout.write(`admin-api: listening on ${api.url} (OpenAPI at ${api.url}/docs)\n`);
  } catch (error) {
    process.stderr.write(`admin-api: cannot start: ${loggableError(error).message}\n`);
    await closeAll();
    process.exit(1);
  }

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "stopping");
    setTimeout(() => {
      process.stderr.write("admin-api: shutdown took too long; exiting\n");
      process.exit(1);
    }, SHUTDOWN_GRACE_MS).unref();
    closeAll().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`admin-api: failed: ${loggableError(error).message}\n`);
  process.exit(1);
});
