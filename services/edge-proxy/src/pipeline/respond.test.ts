import { createResponse, type SipResponse } from "@sip-platform/sip";
import type { ServerTransaction } from "@sip-platform/transaction";
import { describe, expect, it } from "vitest";
import { contextOf, request, silentLog, UDP_FLOW } from "../test/requests.js";
import { requestContext, respond, responseFor } from "./respond.js";

const req = request({ method: "INVITE", uri: "sip:bob@example.test" });

describe("verdicts to responses", () => {
  it("builds ours per §8.2.6 with the reason, headers, To tag and Server", () => {
    const res = responseFor(
      req,
      {
        kind: "reply",
        status: 503,
        reason: "Service Unavailable",
        headers: [["Retry-After", "5"]],
        toTag: "t1",
      },
      "edge",
    )!;
    expect(res.status).toBe(503);
    expect(res.reason).toBe("Service Unavailable");
    expect(res.header("Retry-After")).toBe("5");
    expect(res.header("Server")).toBe("edge");
    expect(res.toTag()).toBe("t1");
    expect(res.callId()).toBe(req.callId());
  });

  it("relays another's response untouched, and sends nothing for continue/absorb", () => {
    const theirs = createResponse(req, 200);
    expect(responseFor(req, { kind: "relay", response: theirs }, "edge")).toBe(theirs);
    expect(responseFor(req, { kind: "absorb" }, "edge")).toBeUndefined();
    expect(responseFor(req, { kind: "continue" }, "edge")).toBeUndefined();
  });

  it("never throws when the transaction refuses the response", () => {
    const tx = {
      request: req,
      respond: (_r: SipResponse) => {
        throw new Error("bad status");
      },
    } as unknown as ServerTransaction;
    expect(() => respond(tx, { kind: "reply", status: 404 }, contextOf(req), "edge")).not.toThrow();
  });

  it("builds the request logger only when used", () => {
    let children = 0;
    const child = () => {
      children += 1;
      return silentLog;
    };
    const log = { child } as unknown as typeof silentLog;
    const ctx = requestContext(log, req, UDP_FLOW);
    expect(children).toBe(0);
    void ctx.log;
    void ctx.log;
    expect(children).toBe(1);
  });
});
