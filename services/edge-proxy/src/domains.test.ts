import { events, InProcessBus, InProcessHub, ManualClock, requests } from "@sip-platform/bus";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LocalDomains } from "./domains.js";
import { silentLog } from "./test/requests.js";

let hub: InProcessHub;
let edgeBus: InProcessBus;
let registrarBus: InProcessBus;
let clock: ManualClock;
let served: string[];
let domains: LocalDomains | undefined;

const flush = () => new Promise((r) => setTimeout(r, 5));

beforeEach(() => {
  hub = new InProcessHub();
  edgeBus = new InProcessBus({ name: "edge", hub });
  registrarBus = new InProcessBus({ name: "registrar", hub });
  clock = new ManualClock();
  served = ["example.test"];
});
afterEach(async () => {
  await domains?.stop();
  domains = undefined;
  await edgeBus.close();
  await registrarBus.close();
});

const serveDomains = () => registrarBus.serve(requests.domains, {}, () => ({ domains: served }));
const start = async () => {
  domains = await LocalDomains.start({
    bus: edgeBus,
    log: silentLog,
    clock,
    refreshMs: 30_000,
    retryMs: 2_000,
  });
  return domains;
};

describe("local domains", () => {
  it("are fetched at start; matching ignores case and a root dot", async () => {
    served = ["Example.Test"];
    await serveDomains();
    const d = await start();
    expect(d.known).toBe(true);
    expect.soft(d.status("example.test")).toBe("local");
    expect.soft(d.status("EXAMPLE.TEST.")).toBe("local");
    expect.soft(d.status("other.test")).toBe("foreign");
  });

  it("are unknown while the registrar is not reachable, and learned on a retry", async () => {
    const d = await start();
    expect(d.status("example.test")).toBe("unknown");
    await serveDomains();
    clock.advance(1_999);
    await flush();
    expect(d.status("example.test")).toBe("unknown");
    clock.advance(1);
    await flush();
    expect(d.status("example.test")).toBe("local");
  });

  it("follow domains.changed at once, and refetch", async () => {
    await serveDomains();
    const d = await start();
    served = ["example.test", "new.test"];
    registrarBus.publish(events.domainsChanged, { domain: "new.test", change: "created" });
    await flush();
    expect(d.status("new.test")).toBe("local");
    served = ["new.test"];
    registrarBus.publish(events.domainsChanged, { domain: "example.test", change: "deleted" });
    await flush();
    expect(d.status("example.test")).toBe("foreign");
    expect(d.list()).toEqual(["new.test"]);
  });

  it("are refreshed every 30 s, and kept when a refresh fails", async () => {
    const sub = await serveDomains();
    const d = await start();
    served = ["example.test", "quiet.test"]; // created without an event reaching us
    clock.advance(30_000);
    await flush();
    expect(d.status("quiet.test")).toBe("local");
    await sub.drain();
    clock.advance(30_000);
    await flush();
    expect(d.status("quiet.test")).toBe("local");
  });

  it("ignore an answer older than the last applied change", async () => {
    let release: (v: { domains: string[] }) => void = () => {};
    let calls = 0;
    await registrarBus.serve(requests.domains, {}, () => {
      calls += 1;
      if (calls === 2) return new Promise((r) => (release = r)); // a slow, stale answer
      return { domains: served };
    });
    const d = await start();
    const slow = d.refresh();
    await flush();
    served = ["example.test", "late.test"];
    registrarBus.publish(events.domainsChanged, { domain: "late.test", change: "created" });
    await flush();
    release({ domains: ["example.test"] });
    await slow;
    expect(d.status("late.test")).toBe("local");
  });
});
