import type { Bus, BusHooks } from "./bus.js";
import { InProcessBus, type InProcessHub } from "./in-process.js";
import { NatsBus } from "./nats.js";

export interface OpenBusOptions extends BusHooks {
  /** `NATS_URL` (one URL or a comma-separated list); unset → the in-process bus (one-process mode). */
  readonly natsUrl?: string | undefined;
  /** Client name: service and instance, e.g. `registrar-1`. */
  readonly name: string;
  /** Subject prefix; default `sip`. */
  readonly prefix?: string;
  /** In-process only: share a hub with other buses of this process. */
  readonly hub?: InProcessHub;
  /** NATS only: how long the first connection may take. Default 2000 ms. */
  readonly connectTimeoutMs?: number;
}

/**
 * The bus a service talks over: NATS when a URL is given, in-process otherwise. Rejects with
 * `BusUnavailableError` when NATS cannot be reached (the service should exit and be restarted,
 * or retry: it has nothing to serve without the bus).
 */
export async function openBus(options: OpenBusOptions): Promise<Bus> {
  const { natsUrl, ...rest } = options;
  if (natsUrl !== undefined && natsUrl.trim() !== "") return NatsBus.connect({ ...rest, servers: natsUrl });
  return new InProcessBus(rest);
}

/** The part of a logger (pino's shape) the bus hooks write to. */
export interface BusLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

/** The hooks every service gives its bus: connection changes at info, absorbed faults at warn. */
export function busLogHooks(log: BusLog): BusHooks {
  return {
    onStatus: (s) => log.info({ bus: s.type }, "bus status"),
    onError: (f) => log.warn({ kind: f.kind, subject: f.subject, err: f.error }, "bus fault"),
  };
}
