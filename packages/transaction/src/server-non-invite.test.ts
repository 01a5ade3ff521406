import { createResponse, type SipRequest } from "@sip-platform/sip";
import { describe, expect, it } from "vitest";
import type { ServerTransaction } from "./layer.js";
import {
  SERVER_NON_INVITE,
  type ServerNonInviteEvent,
  type ServerNonInviteState,
  ServerNonInviteTransaction,
} from "./server-non-invite.js";
import { copy, type Harness, harness, request, settle, TCP_FLOW, UDP_FLOW } from "./test-support.js";
import type { Flow } from "./transport-types.js";

interface Served extends Harness {
  readonly txs: ServerTransaction[];
  readonly req: SipRequest;
  readonly tx: ServerNonInviteTransaction;
  readonly errors: unknown[];
  readonly ended: number[];
}

function serve(flow: Flow = UDP_FLOW, method = "BYE"): Served {
  const h = harness();
  const txs: ServerTransaction[] = [];
  const errors: unknown[] = [];
  const ended: number[] = [];
  h.layer.onRequest((tx) => {
    txs.push(tx);
    tx.on({ onTransportError: (e) => errors.push(e), onTerminated: () => ended.push(h.clock.now()) });
  });
  const req = request({ method, toTag: "dlg", transport: flow.protocol.toUpperCase() });
  h.transport.inject(req, flow);
  const tx = txs[0];
  if (!(tx instanceof ServerNonInviteTransaction)) throw new Error("no server non-INVITE transaction");
  return { ...h, txs, req, tx, errors, ended };
}

describe("ServerNonInviteTransaction", () => {
  it("Trying: request retransmissions are absorbed (nothing sent, TU not called again)", () => {
    const s = serve();
    expect(s.tx.state).toBe("Trying");
    s.transport.inject(copy(s.req));
    expect(s.transport.sent).toHaveLength(0);
    expect(s.txs).toHaveLength(1);
  });

  it("Proceeding: the last provisional response answers a retransmission", () => {
    const s = serve();
    s.tx.respond(createResponse(s.req, 100));
    expect(s.tx.state).toBe("Proceeding");
    s.tx.respond(createResponse(s.req, 183));
    s.transport.inject(copy(s.req));
    expect(s.transport.statuses()).toEqual([100, 183, 183]);
  });

  it("Completed: the final response answers retransmissions; later TU responses are discarded; Timer J = 64*T1", () => {
    const s = serve();
    s.clock.advance(10);
    s.tx.respond(createResponse(s.req, 200));
    expect(s.tx.state).toBe("Completed");
    s.transport.inject(copy(s.req));
    s.transport.inject(copy(s.req));
    s.tx.respond(createResponse(s.req, 500));
    s.tx.respond(createResponse(s.req, 180));
    expect(s.transport.statuses()).toEqual([200, 200, 200]);
    s.clock.advance(32_000 - 1);
    expect(s.tx.state).toBe("Completed");
    s.clock.advance(1);
    expect(s.tx.state).toBe("Terminated");
    expect(s.ended).toEqual([32_010]);
    expect(s.layer.stats().server).toBe(0);
    expect(s.clock.pending).toBe(0);
    // Gone: the next copy is a new request for the TU.
    s.transport.inject(copy(s.req));
    expect(s.txs).toHaveLength(2);
  });

  it("Timer J is 0 over a reliable transport", () => {
    const s = serve(TCP_FLOW);
    s.tx.respond(createResponse(s.req, 200));
    expect(s.transport.statuses()).toEqual([200]);
    expect(s.tx.state).toBe("Terminated");
    expect(s.layer.stats().server).toBe(0);
  });

  it("a failed response in Proceeding or Completed informs the TU and terminates", async () => {
    for (const status of [180, 200]) {
      const s = serve();
      s.transport.failWith = () => new Error("gone");
      s.tx.respond(createResponse(s.req, status));
      await settle();
      expect(s.errors).toHaveLength(1);
      expect(s.tx.state).toBe("Terminated");
      expect(s.layer.stats().server).toBe(0);
      expect(s.clock.pending).toBe(0);
    }
  });
});

const FIGURE_8: ReadonlyArray<readonly [ServerNonInviteState, ServerNonInviteEvent, ServerNonInviteState]> = [
  ["Trying", "request", "Trying"],
  ["Trying", "tu1xx", "Proceeding"],
  ["Trying", "tu200-699", "Completed"],
  ["Proceeding", "tu1xx", "Proceeding"],
  ["Proceeding", "request", "Proceeding"],
  ["Proceeding", "tu200-699", "Completed"],
  ["Proceeding", "transportError", "Terminated"],
  ["Completed", "request", "Completed"],
  ["Completed", "timerJ", "Terminated"],
  ["Completed", "transportError", "Terminated"],
];

describe("ServerNonInviteTransaction: transition table", () => {
  it("is Figure 8, cell for cell", () => {
    const cells = Object.entries(SERVER_NON_INVITE.table).flatMap(([state, row]) =>
      Object.entries(row).map(([event, t]) => [state, event, t?.to ?? state]),
    );
    expect(cells).toEqual(FIGURE_8);
  });

  it.each(FIGURE_8)("%s + %s → %s", async (from, event, to) => {
    const s = serve();
    if (from === "Proceeding") s.tx.respond(createResponse(s.req, 100));
    if (from === "Completed") s.tx.respond(createResponse(s.req, 200));
    expect(s.tx.state).toBe(from);
    const fire: Record<ServerNonInviteEvent, () => void> = {
      start: () => {},
      request: () => s.transport.inject(copy(s.req)),
      tu1xx: () => s.tx.respond(createResponse(s.req, 180)),
      "tu200-699": () => s.tx.respond(createResponse(s.req, 404)),
      timerJ: () => s.clock.advance(32_000),
      transportError: () => {
        s.transport.failWith = () => new Error("down");
        s.transport.inject(copy(s.req)); // the resend fails
      },
    };
    fire[event]();
    await settle();
    expect(s.tx.state).toBe(to);
    if (to === "Terminated") expect(s.layer.stats().server).toBe(0);
  });
});
