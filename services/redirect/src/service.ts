import { type Bus, isBusError, type RedirectReply, type RedirectRequest, requests } from "@sip-platform/bus";
import { type Cidr, toBlockList } from "@sip-platform/config";
import type { Logger } from "pino";
import { decideRedirect, factsOf, refusal } from "./decide.js";
import { BusLookups, type BusLookupsOptions } from "./lookups.js";

export {
  ALLOW,
  type ContactBinding,
  decideRedirect,
  factsOf,
  type RedirectFacts,
  type RedirectLookups,
  type UnreadableRequest,
} from "./decide.js";
export { LOOKUP_DEFAULTS } from "./lookups.js";

/** RFC 3261 §20.33: how long a client should wait before trying again after our 503. */
export const RETRY_AFTER_SECONDS = 5;

export interface RedirectDeps {
  /** The bus to the edges, the registrar and the location service. Not closed by the service. */
  readonly bus: Bus;
  /** Sources the redirect server answers (TRUSTED_CIDRS); others get 403. */
  readonly trustedCidrs: readonly Cidr[];
  readonly log: Logger;
  /** Lookup timeouts and cache lifetimes (`LOOKUP_DEFAULTS` otherwise). */
  readonly lookups?: Omit<BusLookupsOptions, "bus" | "log">;
}

export interface RunningRedirect {
  /** Stops taking requests (those in progress are answered), then drops the caches. */
  close(): Promise<void>;
}

/**
 * The redirect service: serves `redirect.resolve` in the `redirect` queue group. The edge that owns
 * the redirect port sends each request that arrived there; the answer is the decision of
 * `decideRedirect` (see decide.ts for the choices). A lookup the bus cannot complete is answered
 * 503 with Retry-After when another try may succeed, 500 otherwise (`BusError.sipStatus`).
 */
export async function startRedirect(deps: RedirectDeps): Promise<RunningRedirect> {
  const { bus, log } = deps;
  const trusted = toBlockList(deps.trustedCidrs);
  const isTrusted = (address: string): boolean => {
    try {
      return trusted.check(address, address.includes(":") ? "ipv6" : "ipv4");
    } catch {
      return false; // not an IP address
    }
  };
  const lookups = await BusLookups.start({ ...deps.lookups, bus, log });

  const resolve = async ({ flow, message }: RedirectRequest): Promise<RedirectReply> => {
    const facts = factsOf(message, isTrusted(flow.remote.address));
    try {
      const reply = await decideRedirect(facts, lookups);
      log.debug({ ...facts, remote: flow.remote, status: reply.status }, "redirect decided");
      return reply;
    } catch (err) {
      if (!isBusError(err)) throw err;
      log.warn({ err, ...facts }, "a lookup failed");
      return err.retryable
        ? refusal(503, "Service Unavailable", [{ name: "Retry-After", value: String(RETRY_AFTER_SECONDS) }])
        : refusal(500, "Server Internal Error");
    }
  };

  let server: Awaited<ReturnType<Bus["serve"]>>;
  try {
    server = await bus.serve(requests.redirect, { queue: requests.redirect.queue }, resolve);
  } catch (err) {
    await lookups.stop();
    throw err;
  }
  log.info("redirect serving");
  let closing: Promise<void> | undefined;
  return {
    close() {
      closing ??= (async () => {
        await server.drain();
        await lookups.stop();
      })();
      return closing;
    },
  };
}
