import type { SipResponse } from "@sip-platform/sip";
import { describe, expect, it } from "vitest";
import {
  CLIENT_NON_INVITE,
  type ClientNonInviteEvent,
  type ClientNonInviteState,
} from "./client-non-invite.js";
import type { ClientTransaction } from "./layer.js";
import {
  copy,
  type Harness,
  harness,
  reply,
  request,
  settle,
  TCP_TARGET,
  UDP_TARGET,
} from "./test-support.js";
import type { TimerConfig } from "./timers.js";
import type { Target } from "./transport-types.js";

interface Run extends Harness {
  readonly tx: ClientTransaction;
  readonly responses: SipResponse[];
  readonly timeouts: number[];
  readonly transportErrors: unknown[];
}

function start(target: Target = UDP_TARGET, timers?: Partial<TimerConfig>, method = "OPTIONS"): Run {
  const h = harness(timers ? { timers } : {});
  const responses: SipResponse[] = [];
  const timeouts: number[] = [];
  const transportErrors: unknown[] = [];
  const tx = h.layer.sendRequest(request({ method }), target, {
    onResponse: (r) => responses.push(r),
    onTimeout: () => timeouts.push(h.clock.now()),
    onTransportError: (e) => transportErrors.push(e),
  });
  return { ...h, tx, responses, timeouts, transportErrors };
}

const isRequest = (m: { isRequest(): boolean }) => m.isRequest();

describe("ClientNonInviteTransaction: Trying", () => {
  it("Timer E doubles from T1 and caps at T2; Timer F = 64*T1 tells the TU", () => {
    const r = start();
    expect(r.tx.kind).toBe("client-non-invite");
    r.clock.advance(32_000);
    // 500, 1000, 2000, 4000, then every T2 = 4000
    expect(r.transport.times(isRequest)).toEqual([
      0, 500, 1500, 3500, 7500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500,
    ]);
    expect(r.timeouts).toEqual([32_000]);
    expect(r.tx.state).toBe("Terminated");
    expect(r.layer.stats().client).toBe(0);
    expect(r.clock.pending).toBe(0);
  });

  it("caps at a configured T2", () => {
    const r = start(UDP_TARGET, { T1: 500, T2: 1000 });
    r.clock.advance(5000);
    expect(r.transport.times(isRequest)).toEqual([0, 500, 1500, 2500, 3500, 4500]);
  });

  it("no retransmissions over a reliable transport; Timer F still applies", () => {
    const r = start(TCP_TARGET);
    r.clock.advance(32_000);
    expect(r.transport.times(isRequest)).toEqual([0]);
    expect(r.timeouts).toEqual([32_000]);
    expect(r.layer.stats().client).toBe(0);
  });

  it("a failed send informs the TU and terminates", async () => {
    const h = harness();
    h.transport.failWith = () => new Error("boom");
    const errors: unknown[] = [];
    h.layer.sendRequest(request({ method: "REGISTER" }), TCP_TARGET, {
      onResponse: () => {},
      onTransportError: (e) => errors.push(e),
    });
    await settle();
    expect(errors).toHaveLength(1);
    expect(h.layer.stats().client).toBe(0);
  });
});

describe("ClientNonInviteTransaction: Proceeding", () => {
  it("1xx → Proceeding; Timer E then fires every T2", () => {
    const r = start();
    r.clock.advance(600); // E fired at 500, next at 1500
    r.transport.inject(reply(r.tx.request, 100));
    expect(r.tx.state).toBe("Proceeding");
    r.clock.advance(900); // 1500: the pending E fires and is reset to T2
    r.clock.advance(8000);
    expect(r.transport.times(isRequest)).toEqual([0, 500, 1500, 5500, 9500]);
    expect(r.responses.map((x) => x.status)).toEqual([100]);
  });

  it("further 1xx go to the TU; Timer F times out from Proceeding too", () => {
    const r = start();
    r.transport.inject(reply(r.tx.request, 100));
    r.transport.inject(reply(r.tx.request, 180, { toTag: "x" }));
    expect(r.responses.map((x) => x.status)).toEqual([100, 180]);
    r.clock.advance(32_000);
    expect(r.timeouts).toEqual([32_000]);
    expect(r.layer.stats().client).toBe(0);
  });
});

describe("ClientNonInviteTransaction: Completed", () => {
  it("final response → Completed; retransmissions absorbed; Timer K = T4 on UDP", () => {
    const r = start();
    r.clock.advance(100);
    const ok = reply(r.tx.request, 200, { toTag: "x" });
    r.transport.inject(ok);
    expect(r.tx.state).toBe("Completed");
    expect(r.clock.pending).toBe(1); // Timer K only
    r.transport.inject(copy(ok));
    r.transport.inject(reply(r.tx.request, 404, { toTag: "x" }));
    expect(r.responses.map((x) => x.status)).toEqual([200]);
    r.clock.advance(4999);
    expect(r.tx.state).toBe("Completed");
    expect(r.transport.times(isRequest)).toEqual([0]); // Timer E stopped
    r.clock.advance(1);
    expect(r.tx.state).toBe("Terminated");
    expect(r.layer.stats().client).toBe(0);
    expect(r.clock.pending).toBe(0);
  });

  it("Timer K is 0 on a reliable transport", () => {
    const r = start(TCP_TARGET);
    r.transport.inject(reply(r.tx.request, 100));
    r.transport.inject(reply(r.tx.request, 481, { toTag: "x" }));
    expect(r.responses.map((x) => x.status)).toEqual([100, 481]);
    expect(r.tx.state).toBe("Terminated");
    expect(r.layer.stats().client).toBe(0);
  });
});

const FIGURE_6: ReadonlyArray<readonly [ClientNonInviteState, ClientNonInviteEvent, ClientNonInviteState]> = [
  ["Trying", "timerE", "Trying"],
  ["Trying", "timerF", "Terminated"],
  ["Trying", "1xx", "Proceeding"],
  ["Trying", "200-699", "Completed"],
  ["Trying", "transportError", "Terminated"],
  ["Proceeding", "timerE", "Proceeding"],
  ["Proceeding", "timerF", "Terminated"],
  ["Proceeding", "1xx", "Proceeding"],
  ["Proceeding", "200-699", "Completed"],
  ["Proceeding", "transportError", "Terminated"],
  ["Completed", "timerK", "Terminated"],
];

describe("ClientNonInviteTransaction: transition table", () => {
  it("is Figure 6, cell for cell", () => {
    const cells = Object.entries(CLIENT_NON_INVITE.table).flatMap(([state, row]) =>
      Object.entries(row).map(([event, t]) => [state, event, t?.to ?? state]),
    );
    expect(cells).toEqual(FIGURE_6);
  });

  it.each(FIGURE_6)("%s + %s → %s", async (from, event, to) => {
    const r = start();
    if (from === "Proceeding") r.transport.inject(reply(r.tx.request, 100));
    if (from === "Completed") r.transport.inject(reply(r.tx.request, 200, { toTag: "t" }));
    expect(r.tx.state).toBe(from);
    const fire: Record<ClientNonInviteEvent, () => void> = {
      start: () => {},
      "1xx": () => r.transport.inject(reply(r.tx.request, 180, { toTag: "t" })),
      "200-699": () => r.transport.inject(reply(r.tx.request, 503, { toTag: "t" })),
      timerE: () => r.clock.advance(500),
      timerF: () => r.clock.advance(32_000),
      timerK: () => r.clock.advance(5000),
      transportError: () => {
        r.transport.failWith = () => new Error("down");
        r.clock.advance(500); // the Timer E retransmission fails
      },
    };
    fire[event]();
    await settle();
    expect(r.tx.state).toBe(to);
    if (to === "Terminated") expect(r.layer.stats().client).toBe(0);
  });
});

describe("ClientNonInviteTransaction: CANCEL", () => {
  it("a CANCEL is its own client transaction beside the INVITE (same branch, method CANCEL)", () => {
    const h = harness();
    const invite = h.layer.sendRequest(request(), UDP_TARGET, { onResponse: () => {} });
    h.transport.inject(reply(invite.request, 180, { toTag: "t" }));
    const cancelStatuses: number[] = [];
    const inviteStatuses: number[] = [];
    const cancelReq = request({ method: "CANCEL", branch: invite.branch });
    const cancel = h.layer.sendRequest(cancelReq, invite.flow ?? invite.target, {
      onResponse: (r) => cancelStatuses.push(r.status),
    });
    expect(h.layer.stats().client).toBe(2);
    expect(cancel.kind).toBe("client-non-invite");
    h.transport.inject(reply(cancelReq, 200, { toTag: "t" }));
    expect(cancelStatuses).toEqual([200]);
    expect(inviteStatuses).toEqual([]);
    expect(invite.state).toBe("Proceeding");
  });
});
