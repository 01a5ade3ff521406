import type { BindingStore, FlowRef, ReceivedFrom } from "@sip-platform/bindings";
import { type Bus, events, requests } from "@sip-platform/bus";
import { isUnavailable, type Repository } from "@sip-platform/db";
import { Registrar, type RegistrarPolicy } from "@sip-platform/registrar";
import { parseMessage, SipParseError, type SipRequest } from "@sip-platform/sip";
import type { Logger } from "pino";
import { CachedCredentials } from "./credentials-cache.js";
import { CachedDirectory } from "./directory-cache.js";
import { DomainCache } from "./domain-cache.js";

export interface RegistrarServiceDeps {
  readonly bus: Bus;
  readonly repository: Pick<Repository, "findCredentials" | "findDirectoryEntry" | "listDomains">;
  readonly bindings: BindingStore;
  readonly policy: RegistrarPolicy;
  readonly log: Logger;
}

export interface RunningRegistrar {
  close(): Promise<void>;
}

/**
 * The registrar service: serves `registrar.register`, the domain list edges ask for, and the
 * subscriber directory (`registrar.directory`: HA1s and call forwarding, for the proxy's
 * authentication and the redirect server) in the `registrar` queue group, so any number of
 * instances share the load. Stateless apart from caches: nonces are HMAC-signed with the cluster
 * secret, bindings live in the binding store.
 *
 * While the database is down, a directory lookup fails with the database's retryable error: the
 * asker gets a retryable `BusHandlerError` and answers 503 with Retry-After, as when no registrar
 * is up.
 */
export async function startRegistrar(deps: RegistrarServiceDeps): Promise<RunningRegistrar> {
  const { bus, log } = deps;
  const credentials = new CachedCredentials({ find: (u, d) => deps.repository.findCredentials(u, d) });
  const domains = new DomainCache(async () => (await deps.repository.listDomains()).map((d) => d.name));
  const registrar = new Registrar({ bindings: deps.bindings, credentials, domains, policy: deps.policy });
  const directory = new CachedDirectory((u, d) => deps.repository.findDirectoryEntry(u, d));

  const subscriptions = [
    await bus.serve(requests.register, { queue: requests.register.queue }, async (req) => {
      let register: SipRequest;
      try {
        const parsed = parseMessage(req.message);
        if (!parsed.isRequest() || parsed.method !== "REGISTER")
          throw new SipParseError("BAD_METHOD", "not a REGISTER");
        register = parsed;
      } catch (err) {
        // The edge parsed it before sending, so this is a bug or a version skew: the edge answers 500.
        log.warn({ err, edgeId: req.edgeId }, "unparseable REGISTER from the edge");
        throw err;
      }
      const connectionOriented = req.flow.protocol !== "udp";
      const received: ReceivedFrom = {
        protocol: req.flow.protocol,
        address: req.flow.remote.address,
        port: req.flow.remote.port,
      };
      const flow: FlowRef | undefined = connectionOriented
        ? { edgeId: req.edgeId, connectionId: req.flow.connectionId }
        : undefined;
      const response = await registrar.handle(register, { received, ...(flow ? { flow } : {}) });
      if (response.status === 200 && register.hasHeader("Contact")) {
        const aor = register.to().uri;
        bus.publish(events.bindingChanged, { aor, count: response.headerLines("Contact").length });
      }
      log.debug({ aor: register.to().uri, status: response.status, edgeId: req.edgeId }, "REGISTER");
      return { message: response.toBuffer() };
    }),
    await bus.serve(requests.domains, { queue: requests.domains.queue }, async () => ({
      domains: await domains.list(),
    })),
    await bus.serve(requests.directory, { queue: requests.directory.queue }, async ({ username, domain }) => {
      try {
        const entry = await directory.find(username, domain);
        return entry === undefined ? {} : { entry };
      } catch (err) {
        if (isUnavailable(err)) log.warn({ err, username, domain }, "directory lookup: database unavailable");
        throw err;
      }
    }),
    await bus.subscribe(events.credentialsChanged, (e) => {
      credentials.invalidate(e.username, e.domain);
      directory.invalidate(e.username, e.domain);
    }),
    await bus.subscribe(events.forwardingChanged, (e) => directory.invalidate(e.username, e.domain)),
    await bus.subscribe(events.domainsChanged, () => domains.invalidate()),
  ];
  log.info({ algorithms: deps.policy.algorithms }, "registrar serving");
  return {
    async close() {
      for (const s of subscriptions) await s.drain();
    },
  };
}
