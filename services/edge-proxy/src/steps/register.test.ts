import { type Bus, InProcessBus, requests } from "@sip-platform/bus";
import { createResponse, parseMessage, type SipRequest } from "@sip-platform/sip";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { contextOf, request, UDP_FLOW } from "../test/requests.js";
import { registerRelay } from "./register.js";

let bus: InProcessBus;
beforeEach(() => {
  bus = new InProcessBus({ name: "register-step-test", prefix: `t${Math.random().toString(36).slice(2)}` });
});
afterEach(async () => {
  await bus.close();
});

const register = () => request({ method: "REGISTER", uri: "sip:example.test" });
const relay = (b: Bus = bus, timeoutMs = 200) => registerRelay({ bus: b, edgeId: "edge-test-1", timeoutMs });

describe("REGISTER relay step", () => {
  it("passes other methods on without asking anyone", async () => {
    expect(await relay()(contextOf(request({ method: "OPTIONS" })))).toEqual({ kind: "continue" });
  });

  it("sends edge id, flow, time and the bytes, and relays the registrar's response unchanged", async () => {
    const seen: unknown[] = [];
    await bus.serve(requests.register, {}, (req) => {
      seen.push(req);
      const reg = parseMessage(req.message) as SipRequest;
      const res = createResponse(reg, 401, {
        headers: [["WWW-Authenticate", 'Digest realm="example.test"']],
      });
      return { message: res.toBuffer() };
    });
    const req = register();
    const v = await relay()(contextOf(req));
    expect(seen).toEqual([
      { edgeId: "edge-test-1", flow: UDP_FLOW, receivedAt: 1_800_000_000_000, message: req.toBuffer() },
    ]);
    expect(v.kind).toBe("relay");
    if (v.kind === "relay") {
      expect(v.response.status).toBe(401);
      expect(v.response.header("WWW-Authenticate")).toBe('Digest realm="example.test"');
    }
  });

  it.each([
    ["no registrar on the bus", async () => {}, 503],
    [
      "the registrar does not answer in time",
      async () => {
        await bus.serve(requests.register, {}, () => new Promise<never>(() => {}));
      },
      503,
    ],
    [
      "the registrar handler throws",
      async () => {
        await bus.serve(requests.register, {}, () => {
          throw new Error("boom");
        });
      },
      500,
    ],
    [
      "the reply is not SIP",
      async () => {
        await bus.serve(requests.register, {}, () => ({ message: Buffer.from("hello") }));
      },
      500,
    ],
    [
      "the reply is a request",
      async () => {
        await bus.serve(requests.register, {}, (r) => ({ message: r.message }));
      },
      500,
    ],
    [
      "the reply is provisional",
      async () => {
        await bus.serve(requests.register, {}, (r) => ({
          message: createResponse(parseMessage(r.message) as SipRequest, 100).toBuffer(),
        }));
      },
      500,
    ],
    [
      "the reply answers another request",
      async () => {
        await bus.serve(requests.register, {}, (r) => {
          const other = parseMessage(r.message) as SipRequest;
          other.setHeader("Call-ID", "someone-else");
          return { message: createResponse(other, 200).toBuffer() };
        });
      },
      500,
    ],
  ])("%s → %i", async (_name, setup, status) => {
    await setup();
    const v = await relay()(contextOf(register()));
    expect(v).toMatchObject({ kind: "reply", status });
    if (status === 503) expect(v).toMatchObject({ headers: [["Retry-After", "5"]] });
  });

  it("a closed bus → 503", async () => {
    await bus.close();
    expect(await relay()(contextOf(register()))).toMatchObject({ kind: "reply", status: 503 });
  });
});
