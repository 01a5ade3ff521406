/**
 * A registrar on the bus for the edge's tests: the real `Registrar` of packages/registrar over a
 * memory binding store and in-memory credentials, served the way the registrar service serves it.
 */
import { MemoryBindingStore } from "@sip-platform/bindings";
import { type Bus, type BusSubscription, events, type ForwardingRules, requests } from "@sip-platform/bus";
import { type CredentialsSource, REGISTRAR_DEFAULTS, Registrar } from "@sip-platform/registrar";
import { computeHa1, type DigestHash, parseMessage, type SipRequest } from "@sip-platform/sip";

export interface TestRegistrar {
  readonly store: MemoryBindingStore;
  /** REGISTERs the registrar was asked to handle. */
  readonly handled: SipRequest[];
  stop(): Promise<void>;
}

export async function serveTestRegistrar(
  bus: Bus,
  options: {
    domains: readonly string[];
    users: Readonly<Record<string, string>>;
    /** Call forwarding per user (what `registrar.directory` answers). */
    forwarding?: Record<string, ForwardingRules>;
  },
): Promise<TestRegistrar> {
  const [domain] = options.domains;
  const credentials: CredentialsSource = {
    async find(username, realm) {
      const password = options.users[username];
      if (password === undefined || !options.domains.includes(realm)) return undefined;
      const ha1: Partial<Record<DigestHash, string>> = {
        MD5: computeHa1("MD5", username, realm, password),
        "SHA-256": computeHa1("SHA-256", username, realm, password),
      };
      return { subscriberId: `id-${username}@${domain}`, enabled: true, ha1 };
    },
  };
  const store = new MemoryBindingStore({ sweepIntervalMs: 0 });
  const registrar = new Registrar({
    bindings: store,
    credentials,
    domains: { isLocal: async (d) => options.domains.includes(d) },
    policy: { ...REGISTRAR_DEFAULTS, secret: "edge-proxy-test-secret-0123456789" },
  });
  const handled: SipRequest[] = [];
  const subs: BusSubscription[] = [
    await bus.serve(requests.register, { queue: "registrar" }, async ({ edgeId, flow, message }) => {
      const req = parseMessage(message) as SipRequest;
      handled.push(req);
      const res = await registrar.handle(req, {
        received: { protocol: flow.protocol, address: flow.remote.address, port: flow.remote.port },
        ...(flow.connectionId !== "" ? { flow: { edgeId, connectionId: flow.connectionId } } : {}),
      });
      // As the registrar service does: edges drop what they cached of this AoR.
      if (res.status === 200 && req.hasHeader("Contact"))
        bus.publish(events.bindingChanged, { aor: req.to().uri, count: res.headerLines("Contact").length });
      return { message: res.toBuffer() };
    }),
    await bus.serve(requests.domains, { queue: "registrar" }, () => ({ domains: [...options.domains] })),
    // What the registrar service and location service answer, from the same users and store.
    await bus.serve(requests.directory, { queue: "registrar" }, ({ username, domain: realm }) => {
      const password = options.users[username];
      if (password === undefined || !options.domains.includes(realm)) return {};
      return {
        entry: {
          subscriberId: `id-${username}@${realm}`,
          enabled: true,
          ha1: {
            MD5: computeHa1("MD5", username, realm, password),
            "SHA-256": computeHa1("SHA-256", username, realm, password),
            "SHA-512-256": computeHa1("SHA-512-256", username, realm, password),
          },
          forwarding: options.forwarding?.[username] ?? {},
        },
      };
    }),
    await bus.serve(requests.locationLookup, { queue: "location" }, async ({ aor }) => ({
      bindings: await store.lookup(aor, Date.now()),
    })),
  ];
  return {
    store,
    handled,
    async stop() {
      await Promise.all(subs.map((s) => s.drain()));
      await store.close();
    },
  };
}
