import { createResponse, type SipRequest } from "@sip-platform/sip";
import { describe, expect, it } from "vitest";
import type { ServerTransaction, TransactionLayerOptions } from "./layer.js";
import {
  SERVER_INVITE,
  type ServerInviteEvent,
  type ServerInviteState,
  ServerInviteTransaction,
} from "./server-invite.js";
import { copy, type Harness, harness, request, settle, TCP_FLOW, UDP_FLOW } from "./test-support.js";
import type { Flow } from "./transport-types.js";

interface Served extends Harness {
  readonly txs: ServerTransaction[];
  readonly acks: Array<{ ack: SipRequest; tx: ServerTransaction | undefined }>;
  /** Delivers an INVITE and returns its server transaction. */
  invite(req?: SipRequest, flow?: Flow): ServerInviteTransaction;
}

function serve(options: Omit<TransactionLayerOptions, "clock"> = {}): Served {
  const h = harness(options);
  const txs: ServerTransaction[] = [];
  const acks: Served["acks"] = [];
  h.layer.onRequest((tx) => txs.push(tx));
  h.layer.onAck((ack, _flow, tx) => acks.push({ ack, tx }));
  return {
    ...h,
    txs,
    acks,
    invite(req = request(), flow = UDP_FLOW) {
      h.transport.inject(req, flow);
      const tx = txs.at(-1);
      if (!(tx instanceof ServerInviteTransaction)) throw new Error("no server INVITE transaction");
      return tx;
    },
  };
}

/** The ACK a client transaction would send for a non-2xx response: same branch as the INVITE. */
function ackFor(
  invite: SipRequest,
  toTag: string,
  branch = invite.topVia()!.params.get("branch")!,
): SipRequest {
  return request({ method: "ACK", branch, toTag, seq: invite.cseq().seq });
}

const isFinal = (m: { isRequest(): boolean }) => !m.isRequest();

describe("ServerInviteTransaction: 100 Trying (§17.2.1)", () => {
  it("is sent after 200 ms when the TU has not answered", () => {
    const s = serve();
    const tx = s.invite();
    expect(tx.state).toBe("Proceeding");
    s.clock.advance(199);
    expect(s.transport.statuses()).toEqual([]);
    s.clock.advance(1);
    expect(s.transport.statuses()).toEqual([100]);
    const trying = tx.lastResponse!;
    expect(trying.toTag()).toBeUndefined(); // §17.2.1: no To tag in our 100
    expect(trying.headerLines("Via")).toEqual(tx.request.headerLines("Via"));
  });

  it("is not sent when the TU answers first", () => {
    const s = serve();
    const tx = s.invite();
    s.clock.advance(150);
    tx.respond(createResponse(tx.request, 180, { toTag: "uas" }));
    s.clock.advance(10_000);
    expect(s.transport.statuses()).toEqual([180]);
  });

  it("honours a configured delay", () => {
    const s = serve({ tryingDelay: 50 });
    s.invite();
    s.clock.advance(50);
    expect(s.transport.statuses()).toEqual([100]);
  });

  it("is sent at once, before the TU sees the request, with tryingDelay 0 (proxies)", () => {
    const h = harness({ tryingDelay: 0 });
    const seenByTu: number[][] = [];
    h.layer.onRequest(() => seenByTu.push(h.transport.statuses()));
    h.transport.inject(request({ extra: ["Timestamp: 54.21"] }));
    expect(seenByTu).toEqual([[100]]);
    expect(
      (h.transport.sent[0]!.message as { header(n: string): string | undefined }).header("Timestamp"),
    ).toBe("54.21");
  });

  it("is never sent with tryingDelay 'never'", () => {
    const s = serve({ tryingDelay: "never" });
    s.invite();
    s.clock.advance(60_000);
    expect(s.transport.statuses()).toEqual([]);
  });
});

describe("ServerInviteTransaction: Proceeding", () => {
  it("a retransmitted INVITE gets the most recent provisional response again", () => {
    const s = serve();
    const inv = request();
    const tx = s.invite(inv);
    s.transport.inject(copy(inv)); // nothing sent yet: nothing to resend
    expect(s.transport.statuses()).toEqual([]);
    tx.respond(createResponse(tx.request, 180, { toTag: "uas" }));
    tx.respond(createResponse(tx.request, 183, { toTag: "uas" }));
    s.transport.inject(copy(inv));
    expect(s.transport.statuses()).toEqual([180, 183, 183]);
    expect(s.txs).toHaveLength(1); // the retransmission did not reach the TU
  });

  it("responses go back on the flow of the request", () => {
    const s = serve();
    const tx = s.invite(request(), TCP_FLOW);
    tx.respond(createResponse(tx.request, 180));
    expect(s.transport.sent[0]!.to).toBe(TCP_FLOW);
  });
});

describe("ServerInviteTransaction: Completed", () => {
  it("Timer G retransmits a non-2xx final response doubling up to T2; Timer H reports the missing ACK", () => {
    const s = serve();
    const timeouts: number[] = [];
    const tx = s.invite();
    tx.on({ onTimeout: () => timeouts.push(s.clock.now()) });
    tx.respond(createResponse(tx.request, 486, { toTag: "uas" }));
    expect(tx.state).toBe("Completed");
    s.clock.advance(32_000);
    expect(s.transport.times(isFinal)).toEqual([
      0, 500, 1500, 3500, 7500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500,
    ]);
    expect(timeouts).toEqual([32_000]);
    expect(tx.state).toBe("Terminated");
    expect(s.layer.stats().server).toBe(0);
    expect(s.clock.pending).toBe(0);
  });

  it("no Timer G over a reliable transport; Timer H still applies", () => {
    const s = serve();
    const timeouts: number[] = [];
    const tx = s.invite(request({ transport: "TCP" }), TCP_FLOW);
    tx.on({ onTimeout: () => timeouts.push(s.clock.now()) });
    tx.respond(createResponse(tx.request, 500, { toTag: "uas" }));
    s.clock.advance(32_000);
    expect(s.transport.statuses()).toEqual([500]);
    expect(timeouts).toEqual([32_000]);
    expect(s.layer.stats().server).toBe(0);
  });

  it("a retransmitted INVITE gets the final response again", () => {
    const s = serve();
    const inv = request();
    const tx = s.invite(inv);
    tx.respond(createResponse(tx.request, 404, { toTag: "uas" }));
    s.transport.inject(copy(inv));
    expect(s.transport.statuses()).toEqual([404, 404]);
  });

  it("later TU responses are discarded", () => {
    const s = serve();
    const tx = s.invite();
    tx.respond(createResponse(tx.request, 404, { toTag: "uas" }));
    tx.respond(createResponse(tx.request, 200, { toTag: "uas" }));
    tx.respond(createResponse(tx.request, 180, { toTag: "uas" }));
    expect(s.transport.statuses()).toEqual([404]);
  });

  it("ACK → Confirmed: retransmissions stop, ACKs absorbed, Timer I = T4, then removed", () => {
    const s = serve();
    const inv = request();
    const tx = s.invite(inv);
    tx.respond(createResponse(tx.request, 486, { toTag: "uas" }));
    s.clock.advance(600); // one G retransmission at 500
    s.transport.inject(ackFor(inv, "uas"));
    expect(tx.state).toBe("Confirmed");
    expect(s.clock.pending).toBe(1); // Timer I only: G and H belong to Completed
    s.transport.inject(ackFor(inv, "uas"));
    s.transport.inject(copy(inv));
    expect(s.acks).toEqual([]); // absorbed, not passed to the TU
    s.clock.advance(4999);
    expect(tx.state).toBe("Confirmed");
    expect(s.transport.statuses()).toEqual([486, 486]);
    s.clock.advance(1);
    expect(tx.state).toBe("Terminated");
    expect(s.layer.stats().server).toBe(0);
    expect(s.clock.pending).toBe(0);
  });

  it("Timer I is 0 over a reliable transport", () => {
    const s = serve();
    const inv = request({ transport: "TCP" });
    const tx = s.invite(inv, TCP_FLOW);
    tx.respond(createResponse(tx.request, 486, { toTag: "uas" }));
    s.transport.inject(ackFor(inv, "uas"), TCP_FLOW);
    expect(tx.state).toBe("Terminated");
    expect(s.layer.stats().server).toBe(0);
  });
});

describe("ServerInviteTransaction: Accepted (RFC 6026)", () => {
  it("2xx → Accepted: TU retransmissions of the 2xx are sent, INVITE retransmissions absorbed, Timer L ends it", () => {
    const s = serve();
    const inv = request();
    const tx = s.invite(inv);
    const ok = createResponse(tx.request, 200, { toTag: "uas" });
    tx.respond(ok);
    expect(tx.state).toBe("Accepted");
    s.transport.inject(copy(inv));
    expect(s.transport.statuses()).toEqual([200]); // absorbed
    expect(s.txs).toHaveLength(1);
    s.clock.advance(500);
    tx.respond(ok); // the TU's own retransmission (§13.3.1.4)
    s.clock.advance(1000);
    tx.respond(ok);
    expect(s.transport.statuses()).toEqual([200, 200, 200]);
    s.clock.advance(32_000 - 1500 - 1);
    expect(tx.state).toBe("Accepted");
    s.clock.advance(1);
    expect(tx.state).toBe("Terminated");
    expect(s.layer.stats().server).toBe(0);
  });

  it("an ACK matching the transaction goes to the TU: the transaction's onAck first, else the layer's", () => {
    const s = serve();
    const inv = request();
    const tx = s.invite(inv);
    tx.respond(createResponse(tx.request, 200, { toTag: "uas" }));
    s.transport.inject(ackFor(inv, "uas"));
    expect(s.acks.map((a) => a.tx)).toEqual([tx]);
    const own: SipRequest[] = [];
    tx.on({ onAck: (ack) => own.push(ack) });
    s.transport.inject(ackFor(inv, "uas"));
    expect(own).toHaveLength(1);
    expect(s.acks).toHaveLength(1);
    expect(tx.state).toBe("Accepted");
  });

  it("the usual ACK for a 2xx (new branch) matches nothing and reaches the TU as-is", () => {
    const s = serve();
    const inv = request();
    const tx = s.invite(inv);
    tx.respond(createResponse(tx.request, 200, { toTag: "uas" }));
    const ack = request({ method: "ACK", toTag: "uas", seq: inv.cseq().seq }); // fresh branch (§13.2.2.4)
    s.transport.inject(ack);
    expect(s.acks).toEqual([{ ack, tx: undefined }]);
    expect(s.layer.stats().server).toBe(1);
  });
});

describe("ServerInviteTransaction: transport errors (§17.2.4)", () => {
  it("Proceeding: a failed provisional informs the TU and terminates", async () => {
    const s = serve();
    const errors: unknown[] = [];
    const tx = s.invite();
    tx.on({ onTransportError: (e) => errors.push(e) });
    s.transport.failWith = () => new Error("flow closed");
    tx.respond(createResponse(tx.request, 180));
    await settle();
    expect(errors).toHaveLength(1);
    expect(tx.state).toBe("Terminated");
    expect(s.layer.stats().server).toBe(0);
  });

  it("Completed: a failed final response informs the TU and terminates", async () => {
    const s = serve();
    const errors: unknown[] = [];
    const tx = s.invite();
    tx.on({ onTransportError: (e) => errors.push(e) });
    s.transport.failWith = () => new Error("flow closed");
    tx.respond(createResponse(tx.request, 480, { toTag: "uas" }));
    await settle();
    expect(errors).toHaveLength(1);
    expect(tx.state).toBe("Terminated");
    expect(s.clock.pending).toBe(0);
  });

  it("Accepted: the TU is informed and the transaction stays (RFC 6026 Figure 7)", async () => {
    const s = serve();
    const errors: unknown[] = [];
    const tx = s.invite();
    tx.on({ onTransportError: (e) => errors.push(e) });
    s.transport.failWith = () => new Error("flow closed");
    tx.respond(createResponse(tx.request, 200, { toTag: "uas" }));
    await settle();
    expect(errors).toHaveLength(1);
    expect(tx.state).toBe("Accepted");
  });
});

describe("ServerInviteTransaction: respond()", () => {
  it("rejects a status outside 100–699", () => {
    const s = serve();
    const tx = s.invite();
    expect(() => tx.respond(createResponse(tx.request, 99))).toThrow(/100–699/);
    expect(() => tx.respond(createResponse(tx.request, 700))).toThrow(/100–699/);
  });
});

const FIGURE_7: ReadonlyArray<readonly [ServerInviteState, ServerInviteEvent, ServerInviteState]> = [
  ["Proceeding", "timer100", "Proceeding"],
  ["Proceeding", "invite", "Proceeding"],
  ["Proceeding", "tu1xx", "Proceeding"],
  ["Proceeding", "tu2xx", "Accepted"],
  ["Proceeding", "tu300-699", "Completed"],
  ["Proceeding", "transportError", "Terminated"],
  ["Completed", "timerG", "Completed"],
  ["Completed", "invite", "Completed"],
  ["Completed", "ack", "Confirmed"],
  ["Completed", "timerH", "Terminated"],
  ["Completed", "transportError", "Terminated"],
  ["Confirmed", "ack", "Confirmed"],
  ["Confirmed", "invite", "Confirmed"],
  ["Confirmed", "timerI", "Terminated"],
  ["Accepted", "invite", "Accepted"],
  ["Accepted", "ack", "Accepted"],
  ["Accepted", "tu2xx", "Accepted"],
  ["Accepted", "transportError", "Accepted"],
  ["Accepted", "timerL", "Terminated"],
];

describe("ServerInviteTransaction: transition table", () => {
  it("is Figure 7 + RFC 6026, cell for cell", () => {
    const cells = Object.entries(SERVER_INVITE.table).flatMap(([state, row]) =>
      Object.entries(row).map(([event, t]) => [state, event, t?.to ?? state]),
    );
    expect(cells).toEqual(FIGURE_7);
  });

  it.each(FIGURE_7)("%s + %s → %s", async (from, event, to) => {
    const s = serve();
    const inv = request();
    const tx = s.invite(inv);
    const failing = event === "transportError";
    if (failing && from !== "Proceeding") s.transport.failWith = () => new Error("down");
    if (from === "Completed" || from === "Confirmed") tx.respond(createResponse(inv, 486, { toTag: "uas" }));
    if (from === "Accepted") tx.respond(createResponse(inv, 200, { toTag: "uas" }));
    if (from === "Confirmed") s.transport.inject(ackFor(inv, "uas"));
    expect(tx.state).toBe(from);
    const fire: Record<ServerInviteEvent, () => void> = {
      start: () => {},
      invite: () => s.transport.inject(copy(inv)),
      ack: () => s.transport.inject(ackFor(inv, "uas")),
      tu1xx: () => tx.respond(createResponse(inv, 180, { toTag: "uas" })),
      tu2xx: () => tx.respond(createResponse(inv, 200, { toTag: "uas" })),
      "tu300-699": () => tx.respond(createResponse(inv, 603, { toTag: "uas" })),
      timer100: () => s.clock.advance(200),
      timerG: () => s.clock.advance(500),
      timerH: () => s.clock.advance(32_000),
      timerI: () => s.clock.advance(5000),
      timerL: () => s.clock.advance(32_000),
      transportError: () => {
        if (from === "Proceeding") {
          s.transport.failWith = () => new Error("down");
          s.clock.advance(200); // our 100 Trying fails
        }
      },
    };
    fire[event]();
    await settle();
    expect(tx.state).toBe(to);
    if (to === "Terminated") {
      expect(s.layer.stats().server).toBe(0);
      expect(s.clock.pending).toBe(0);
    }
  });
});
