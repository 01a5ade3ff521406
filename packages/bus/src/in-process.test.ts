import { describe, expect, it } from "vitest";
import { busContract } from "./bus.contract.js";
import { requests } from "./catalogue.js";
import { BusUnavailableError } from "./errors.js";
import { InProcessBus, InProcessHub } from "./in-process.js";
import { openBus } from "./open.js";

// One hub per prefix: buses opened with the same prefix are connections to the same "server".
const hubs = new Map<string, InProcessHub>();

busContract("InProcessBus", {
  async open(name, prefix, hooks) {
    let hub = hubs.get(prefix);
    if (hub === undefined) {
      hub = new InProcessHub();
      hubs.set(prefix, hub);
    }
    return new InProcessBus({ name, prefix, hub, ...hooks });
  },
});

describe("InProcessBus specifics", () => {
  it("is what openBus returns without a NATS URL", async () => {
    const bus = await openBus({ name: "solo", natsUrl: "" });
    expect(bus).toBeInstanceOf(InProcessBus);
    expect(bus.prefix).toBe("sip");
    await bus.close();
  });

  it("rejects requests in flight when the requesting bus closes", async () => {
    const bus = new InProcessBus({ name: "solo" });
    await bus.serve(requests.locationLookup, {}, () => new Promise<never>(() => {}));
    const pending = bus.request(requests.locationLookup, { aor: "sip:a@b" }, { timeoutMs: 5000 });
    await bus.close();
    await expect(pending).rejects.toThrow(BusUnavailableError);
  });

  it("round-robins a queue group exactly", async () => {
    const bus = new InProcessBus({ name: "solo" });
    const order: string[] = [];
    for (const who of ["a", "b", "c"]) {
      await bus.serve(requests.locationLookup, {}, () => {
        order.push(who);
        return { bindings: [] };
      });
    }
    for (let i = 0; i < 6; i++)
      await bus.request(requests.locationLookup, { aor: "sip:a@b" }, { timeoutMs: 100 });
    expect(order).toEqual(["a", "b", "c", "a", "b", "c"]);
    await bus.close();
  });

  it("rejects a bad prefix", () => {
    expect(() => new InProcessBus({ name: "x", prefix: "sip.>" })).toThrow(TypeError);
  });
});
