/**
 * Probes: `/healthz` says the process serves HTTP (restart it when this fails); `/readyz` says
 * its dependencies answer (take it out of the load balancer when this fails, do not restart it).
 */
import type { AdminApiDeps, AdminApp } from "../app.js";
import { loggableError } from "../errors.js";
import { Health, Readiness } from "../schemas.js";

/** An AoR no phone can register (`.invalid` is reserved, RFC 2606), looked up to reach the store. */
const READINESS_AOR = "sip:readyz@readyz.invalid";

type Check = "ok" | "unavailable";

export function registerHealthRoutes(app: AdminApp, deps: AdminApiDeps): void {
  const clock = deps.clock ?? Date.now;
  const timeoutMs = deps.readinessTimeoutMs ?? 2_000;

  app.get(
    "/healthz",
    {
      schema: {
        summary: "Liveness: the process serves requests",
        tags: ["probes"],
        security: [],
        response: { 200: Health },
      },
    },
    async () => ({ status: "ok" as const }),
  );

  app.get(
    "/readyz",
    {
      schema: {
        summary: "Readiness: the database, the registration store and the bus answer",
        tags: ["probes"],
        security: [],
        response: { 200: Readiness, 503: Readiness },
      },
    },
    async (request, reply) => {
      const probe = async (name: string, op: () => Promise<void>): Promise<Check> => {
        try {
          await withTimeout(op(), timeoutMs, name);
          return "ok";
        } catch (error) {
          request.log.warn({ check: name, error: loggableError(error) }, "readiness check failed");
          return "unavailable";
        }
      };
      const [database, bindings] = await Promise.all([
        probe("database", () => deps.database.ping()),
        probe("bindings", async () => {
          await deps.bindings.lookup(READINESS_AOR, clock());
        }),
      ]);
      const bus: Check = deps.bus.connected ? "ok" : "unavailable";
      if (bus === "unavailable") request.log.warn({ check: "bus" }, "readiness check failed");
      const ready = database === "ok" && bindings === "ok" && bus === "ok";
      reply.code(ready ? 200 : 503);
      return {
        status: ready ? ("ready" as const) : ("unavailable" as const),
        checks: { database, bindings, bus },
      };
    },
  );
}

function withTimeout(p: Promise<void>, ms: number, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
