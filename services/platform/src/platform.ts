import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { startAdminApi } from "@sip-platform/admin-api";
import { type BindingStore, openBindingStore } from "@sip-platform/bindings";
import { type Bus, busLogHooks, openBus } from "@sip-platform/bus";
import { startCallRecordWriter } from "@sip-platform/call-records";
import { createRepository, type Database, EMBEDDED_DATABASE_URL, openDatabase } from "@sip-platform/db";
import { startEdgeProxy, startRedirectListener } from "@sip-platform/edge-proxy";
import { startLocation } from "@sip-platform/location";
import { startRedirect } from "@sip-platform/redirect";
import { REGISTRAR_DEFAULTS } from "@sip-platform/registrar";
import { startRegistrar } from "@sip-platform/registrar-service";
import type { DigestAlgorithm } from "@sip-platform/sip";
import type { Listener, ListenerOptions } from "@sip-platform/transport";
import type { Logger } from "pino";
import { advertisedHost, type PlatformConfig } from "./config.js";

export interface RunningPlatform {
  readonly sipListeners: readonly Listener[];
  /** The redirect server's UDP and TCP listeners (REDIRECT_PORT). */
  readonly redirectListeners: readonly Listener[];
  readonly adminUrl: string;
  readonly adminToken: string;
  /** True when the token was generated at this start (the caller prints it). */
  readonly adminTokenGenerated: boolean;
  close(): Promise<void>;
}

/**
 * Every service in one process: the edge, registrar, location and admin API on one bus. Embedded
 * defaults (in-process bus, in-memory bindings, PGlite under ./data) unless NATS_URL, REDIS_URL or
 * DATABASE_URL name real ones. Stops what it started, in reverse order, on close or on a failed start.
 */
export async function startPlatform(config: PlatformConfig, log: Logger): Promise<RunningPlatform> {
  const closers: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const c of closers.reverse())
      await c().catch((err: unknown) => log.warn({ err }, "error while stopping"));
  };
  try {
    const database: Database = await openDatabase({ url: config.DATABASE_URL ?? EMBEDDED_DATABASE_URL });
    closers.push(() => database.close());
    await database.migrate();
    const repository = createRepository(database);

    const bindings: BindingStore = openBindingStore(config.REDIS_URL ? { redisUrl: config.REDIS_URL } : {});
    closers.push(() => bindings.close());

    const bus: Bus = await openBus({
      ...(config.NATS_URL ? { natsUrl: config.NATS_URL } : {}),
      prefix: config.NATS_SUBJECT_PREFIX,
      name: `platform-${process.pid}`,
      ...busLogHooks(log),
    });
    closers.push(() => bus.close());

    // Before the edge: every call event it publishes finds its writer (the in-process store keeps them too).
    const callRecords = await startCallRecordWriter({
      bus,
      repository,
      log: log.child({ service: "call-records" }),
    });
    closers.push(() => callRecords.close());

    // One-process mode generates the cluster secret per start: only this process verifies its nonces.
    const secret = config.CLUSTER_SECRET ?? randomBytes(32).toString("hex");
    const policy = {
      ...REGISTRAR_DEFAULTS,
      algorithms: config.DIGEST_ALGORITHMS as readonly DigestAlgorithm[],
      secret,
    };
    const registrar = await startRegistrar({
      bus,
      repository,
      bindings,
      policy,
      log: log.child({ service: "registrar" }),
    });
    closers.push(() => registrar.close());
    const location = await startLocation({ bus, bindings, log: log.child({ service: "location" }) });
    closers.push(() => location.close());

    const adminToken = config.ADMIN_TOKEN ?? randomBytes(24).toString("base64url");
    const admin = await startAdminApi({
      repository,
      database,
      bindings,
      bus,
      adminToken,
      host: config.SIP_LISTEN,
      port: config.ADMIN_PORT,
      log: log.child({ service: "admin-api" }),
    });
    closers.push(() => admin.close());

    const edge = await startEdgeProxy({
      bus,
      listeners: sipListeners(config),
      advertisedHost: advertisedHost(config),
      clusterSecret: secret,
      digestAlgorithms: policy.algorithms,
      log: log.child({ service: "edge-proxy" }),
    });
    closers.push(() => edge.close());

    const redirectService = await startRedirect({
      bus,
      trustedCidrs: config.TRUSTED_CIDRS,
      log: log.child({ service: "redirect" }),
    });
    closers.push(() => redirectService.close());
    const redirect = await startRedirectListener({
      bus,
      listeners: [
        { protocol: "udp", address: config.SIP_LISTEN, port: config.REDIRECT_PORT },
        { protocol: "tcp", address: config.SIP_LISTEN, port: config.REDIRECT_PORT },
      ],
      log: log.child({ service: "redirect-listener" }),
    });
    closers.push(() => redirect.close());

    return {
      sipListeners: edge.listeners,
      redirectListeners: redirect.listeners,
      adminUrl: admin.url,
      adminToken,
      adminTokenGenerated: config.ADMIN_TOKEN === undefined,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

function sipListeners(c: PlatformConfig): ListenerOptions[] {
  const address = c.SIP_LISTEN;
  const listeners: ListenerOptions[] = [
    { protocol: "udp", address, port: c.SIP_PORT },
    { protocol: "tcp", address, port: c.SIP_PORT },
    { protocol: "ws", address, port: c.SIP_WS_PORT },
  ];
  if (c.SIP_TLS_CERT && c.SIP_TLS_KEY) {
    const tls = { cert: readFileSync(c.SIP_TLS_CERT), key: readFileSync(c.SIP_TLS_KEY) };
    listeners.push({ protocol: "tls", address, port: c.SIP_TLS_PORT, tls });
    listeners.push({ protocol: "wss", address, port: c.SIP_WSS_PORT, tls });
  }
  return listeners;
}
