import type { SipRequest, SipResponse } from "@sip-platform/sip";
import { describe, expect, it } from "vitest";
import { CLIENT_INVITE, type ClientInviteEvent, type ClientInviteState } from "./client-invite.js";
import type { ClientTransaction } from "./layer.js";
import {
  copy,
  type Harness,
  harness,
  reply,
  request,
  settle,
  TCP_TARGET,
  UDP_FLOW,
  UDP_TARGET,
} from "./test-support.js";
import type { Target } from "./transport-types.js";

interface Run extends Harness {
  readonly tx: ClientTransaction;
  readonly responses: SipResponse[];
  readonly timeouts: number[];
  readonly transportErrors: unknown[];
  readonly terminated: number[];
}

function start(target: Target = UDP_TARGET, withHandlers = true): Run {
  const h = harness();
  const responses: SipResponse[] = [];
  const timeouts: number[] = [];
  const transportErrors: unknown[] = [];
  const terminated: number[] = [];
  const invite = request({ routes: ["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"] });
  const tx = h.layer.sendRequest(invite, target, {
    onResponse: (r) => responses.push(r),
    ...(withHandlers
      ? {
          onTimeout: () => timeouts.push(h.clock.now()),
          onTransportError: (e: unknown) => transportErrors.push(e),
        }
      : {}),
    onTerminated: () => terminated.push(h.clock.now()),
  });
  return { ...h, tx, responses, timeouts, transportErrors, terminated };
}

const isInvite = (m: SipRequest | SipResponse) => m.isRequest() && m.method === "INVITE";

describe("ClientInviteTransaction: Calling", () => {
  it("retransmits on Timer A at T1, 2T1, 4T1… without a T2 cap, then times out on Timer B = 64*T1", () => {
    const r = start();
    expect(r.tx.state).toBe("Calling");
    r.clock.advance(64 * 500 - 1);
    expect(r.transport.times(isInvite)).toEqual([0, 500, 1500, 3500, 7500, 15500, 31500]);
    expect(r.timeouts).toEqual([]);
    r.clock.advance(1);
    expect(r.timeouts).toEqual([32_000]);
    expect(r.tx.state).toBe("Terminated");
    expect(r.terminated).toEqual([32_000]);
    expect(r.layer.stats().client).toBe(0);
    expect(r.clock.pending).toBe(0);
  });

  it("does not retransmit over a reliable transport, and Timer B still applies", () => {
    const r = start(TCP_TARGET);
    r.clock.advance(32_000);
    expect(r.transport.times(isInvite)).toEqual([0]);
    expect(r.timeouts).toEqual([32_000]);
    expect(r.layer.stats().client).toBe(0);
  });

  it("scales every timer with T1", () => {
    const h = harness({ timers: { T1: 100 } });
    h.layer.sendRequest(request(), UDP_TARGET, { onResponse: () => {} });
    h.clock.advance(6400);
    expect(h.transport.times(isInvite)).toEqual([0, 100, 300, 700, 1500, 3100, 6300]);
    expect(h.layer.stats().client).toBe(0);
  });

  it("without onTimeout hands the TU a locally made 408 (§8.1.3.1)", () => {
    const r = start(UDP_TARGET, false);
    r.clock.advance(32_000);
    expect(r.responses.map((x) => x.status)).toEqual([408]);
  });

  it("retransmits to the flow the transport chose", async () => {
    const r = start();
    await settle();
    r.clock.advance(500);
    expect(r.transport.sent[1]!.to).toEqual(r.tx.flow);
    expect(r.tx.flow?.remote).toEqual({ address: "192.0.2.2", port: 5060 });
  });
});

describe("ClientInviteTransaction: responses", () => {
  it("1xx → Proceeding: passed to the TU, retransmissions stop, Timer B no longer applies", () => {
    const r = start();
    r.clock.advance(600);
    r.transport.inject(reply(r.tx.request, 180, { toTag: "b1" }));
    expect(r.tx.state).toBe("Proceeding");
    expect(r.clock.pending).toBe(0); // Timers A and B belong to Calling
    r.transport.inject(reply(r.tx.request, 183, { toTag: "b1" }));
    expect(r.responses.map((x) => x.status)).toEqual([180, 183]);
    r.clock.advance(120_000);
    expect(r.transport.times(isInvite)).toEqual([0, 500]);
    expect(r.tx.state).toBe("Proceeding");
    expect(r.timeouts).toEqual([]);
  });

  it("486 → Completed: ACK built per §17.1.1.3 and sent to the same flow", async () => {
    const r = start();
    await settle();
    const busy = reply(r.tx.request, 486, { toTag: "busy-tag" });
    r.transport.inject(busy);
    expect(r.tx.state).toBe("Completed");
    expect(r.responses.map((x) => x.status)).toEqual([486]);
    const [ack] = r.transport.requests("ACK");
    expect(ack).toBeDefined();
    const invite = r.tx.request;
    expect(ack!.uri).toBe(invite.uri);
    expect(ack!.headerValues("Via")).toEqual([invite.headerValues("Via")[0]]);
    expect(ack!.topVia()?.params.get("branch")).toBe(r.tx.branch);
    expect(ack!.header("From")).toBe(invite.header("From"));
    expect(ack!.header("To")).toBe(busy.header("To"));
    expect(ack!.toTag()).toBe("busy-tag");
    expect(ack!.callId()).toBe(invite.callId());
    expect(ack!.cseq()).toEqual({ seq: invite.cseq().seq, method: "ACK" });
    expect(ack!.headerLines("Route")).toEqual(["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]);
    expect(ack!.header("Max-Forwards")).toBe("70");
    expect(ack!.header("Content-Length")).toBe("0");
    expect(ack!.hasHeader("Contact")).toBe(false);
    expect(r.transport.sent.at(-1)!.to).toEqual(r.tx.flow);
  });

  it("Completed: a retransmitted final response gets the ACK again and is not passed up", () => {
    const r = start();
    const busy = reply(r.tx.request, 486, { toTag: "busy-tag" });
    r.transport.inject(busy);
    r.transport.inject(copy(busy));
    r.transport.inject(copy(busy));
    expect(r.transport.requests("ACK")).toHaveLength(3);
    expect(r.responses).toHaveLength(1);
  });

  it("Completed: Timer D (32 s) on UDP, then removed", () => {
    const r = start();
    r.clock.advance(100);
    r.transport.inject(reply(r.tx.request, 486, { toTag: "x" }));
    r.clock.advance(31_999);
    expect(r.tx.state).toBe("Completed");
    r.clock.advance(1);
    expect(r.tx.state).toBe("Terminated");
    expect(r.terminated).toEqual([32_100]);
    expect(r.layer.stats().client).toBe(0);
    expect(r.clock.pending).toBe(0);
  });

  it("Completed: Timer D is 0 on a reliable transport (ACK still sent)", () => {
    const r = start(TCP_TARGET);
    r.transport.inject(reply(r.tx.request, 603, { toTag: "x" }));
    expect(r.transport.requests("ACK")).toHaveLength(1);
    expect(r.tx.state).toBe("Terminated");
    expect(r.responses.map((x) => x.status)).toEqual([603]);
    expect(r.layer.stats().client).toBe(0);
  });

  it("2xx → Accepted: 2xx retransmissions and forked 2xx go to the TU until Timer M", () => {
    const r = start();
    const ok = reply(r.tx.request, 200, { toTag: "fork-a" });
    r.transport.inject(ok);
    expect(r.tx.state).toBe("Accepted");
    expect(r.clock.pending).toBe(1); // Timer M only
    r.transport.inject(copy(ok));
    r.transport.inject(reply(r.tx.request, 200, { toTag: "fork-b" }));
    expect(r.responses.map((x) => x.toTag())).toEqual(["fork-a", "fork-a", "fork-b"]);
    expect(r.transport.requests("ACK")).toHaveLength(0); // the ACK for a 2xx is the TU's (§13.2.2.4)
    r.clock.advance(32_000 - 1);
    expect(r.tx.state).toBe("Accepted");
    r.clock.advance(1);
    expect(r.tx.state).toBe("Terminated");
    expect(r.layer.stats().client).toBe(0);
    r.transport.inject(copy(ok));
    expect(r.responses).toHaveLength(3); // now a stray
  });

  it("Accepted: non-2xx responses are absorbed", () => {
    const r = start();
    r.transport.inject(reply(r.tx.request, 200, { toTag: "a" }));
    r.transport.inject(reply(r.tx.request, 180, { toTag: "a" }));
    r.transport.inject(reply(r.tx.request, 486, { toTag: "a" }));
    expect(r.responses.map((x) => x.status)).toEqual([200]);
    expect(r.tx.state).toBe("Accepted");
  });
});

describe("ClientInviteTransaction: transport errors (§17.1.4)", () => {
  it("a failed INVITE send informs the TU and terminates", async () => {
    const r = start();
    r.transport.failWith = () => new Error("connect refused");
    r.clock.advance(500); // Timer A retransmission fails
    await settle();
    expect(r.transportErrors).toHaveLength(1);
    expect(r.tx.state).toBe("Terminated");
    expect(r.layer.stats().client).toBe(0);
    expect(r.clock.pending).toBe(0);
  });

  it("without onTransportError hands the TU a locally made 503", async () => {
    const h = harness();
    h.transport.failWith = () => new Error("no route");
    const statuses: number[] = [];
    h.layer.sendRequest(request(), TCP_TARGET, { onResponse: (res) => statuses.push(res.status) });
    await settle();
    expect(statuses).toEqual([503]);
    expect(h.layer.stats().client).toBe(0);
  });

  it("a failed ACK send in Completed informs the TU and terminates", async () => {
    const r = start();
    r.transport.failWith = (m) => (m.isRequest() && m.method === "ACK" ? new Error("gone") : undefined);
    r.transport.inject(reply(r.tx.request, 486, { toTag: "x" }));
    await settle();
    expect(r.transportErrors).toHaveLength(1);
    expect(r.tx.state).toBe("Terminated");
    expect(r.layer.stats().client).toBe(0);
  });
});

/*
 * Table-driven: every cell of the transition table, driven through the layer from a fresh
 * transaction, ends in the state the table names. Together with the expected list below, this pins
 * Figure 5 (as amended by RFC 6026) cell by cell.
 */
const FIGURE_5: ReadonlyArray<readonly [ClientInviteState, ClientInviteEvent, ClientInviteState]> = [
  ["Calling", "timerA", "Calling"],
  ["Calling", "timerB", "Terminated"],
  ["Calling", "1xx", "Proceeding"],
  ["Calling", "2xx", "Accepted"],
  ["Calling", "300-699", "Completed"],
  ["Calling", "transportError", "Terminated"],
  ["Proceeding", "1xx", "Proceeding"],
  ["Proceeding", "2xx", "Accepted"],
  ["Proceeding", "300-699", "Completed"],
  ["Completed", "300-699", "Completed"],
  ["Completed", "timerD", "Terminated"],
  ["Completed", "transportError", "Terminated"],
  ["Accepted", "2xx", "Accepted"],
  ["Accepted", "timerM", "Terminated"],
];

describe("ClientInviteTransaction: transition table", () => {
  it("is Figure 5 + RFC 6026, cell for cell", () => {
    const cells = Object.entries(CLIENT_INVITE.table).flatMap(([state, row]) =>
      Object.entries(row).map(([event, t]) => [state, event, t?.to ?? state]),
    );
    expect(cells).toEqual(FIGURE_5);
  });

  it.each(FIGURE_5)("%s + %s → %s", async (from, event, to) => {
    const r = start();
    r.transport.failWith = (m) =>
      event === "transportError" &&
      m.isRequest() &&
      (from === "Calling" ? m.method === "INVITE" : m.method === "ACK")
        ? new Error("down")
        : undefined;
    // Drive into `from`.
    if (from === "Proceeding") r.transport.inject(reply(r.tx.request, 180, { toTag: "t" }));
    if (from === "Completed") r.transport.inject(reply(r.tx.request, 486, { toTag: "t" }));
    if (from === "Accepted") r.transport.inject(reply(r.tx.request, 200, { toTag: "t" }));
    expect(r.tx.state).toBe(from);
    // Fire `event`.
    const fire: Record<ClientInviteEvent, () => void> = {
      start: () => {},
      "1xx": () => r.transport.inject(reply(r.tx.request, 183, { toTag: "t" })),
      "2xx": () => r.transport.inject(reply(r.tx.request, 200, { toTag: "t" })),
      "300-699": () => r.transport.inject(reply(r.tx.request, 486, { toTag: "t" })),
      timerA: () => r.clock.advance(500),
      timerB: () => r.clock.advance(32_000),
      timerD: () => r.clock.advance(32_000),
      timerM: () => r.clock.advance(32_000),
      // Calling: the Timer A retransmission fails; Completed: the ACK already failed on the way in.
      transportError: () => {
        if (from === "Calling") r.clock.advance(500);
      },
    };
    fire[event]();
    await settle();
    expect(r.tx.state).toBe(to);
    if (to === "Terminated") {
      expect(r.layer.stats().client).toBe(0);
      expect(r.terminated).toHaveLength(1);
    }
  });

  it("ignores responses once terminated and leaves no timers", () => {
    const r = start(TCP_TARGET);
    r.transport.inject(reply(r.tx.request, 500, { toTag: "t" }));
    expect(r.tx.state).toBe("Terminated");
    r.tx.receiveResponse(reply(r.tx.request, 200, { toTag: "t" }));
    expect(r.responses).toHaveLength(1);
    expect(r.clock.pending).toBe(0);
  });
});

describe("ClientInviteTransaction: flows", () => {
  it("sends on a given flow and keeps using it", () => {
    const h = harness();
    const tx = h.layer.sendRequest(request(), UDP_FLOW, { onResponse: () => {} });
    expect(tx.flow).toBe(UDP_FLOW);
    h.clock.advance(500);
    expect(h.transport.sent.map((s) => s.to)).toEqual([UDP_FLOW, UDP_FLOW]);
  });
});
