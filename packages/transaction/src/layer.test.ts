import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { createResponse, parseMessage, type SipRequest, type SipResponse } from "@sip-platform/sip";
import { describe, expect, it } from "vitest";
import {
  TRANSACTION_CHANNELS,
  type TransactionErrorEvent,
  type TransactionStateEvent,
} from "./diagnostics.js";
import { TransactionError } from "./errors.js";
import type { ServerTransaction } from "./layer.js";
import { createCancel } from "./messages.js";
import { ServerInviteTransaction } from "./server-invite.js";
import { ServerNonInviteTransaction } from "./server-non-invite.js";
import { copy, harness, reply, request, settle, UDP_FLOW, UDP_TARGET } from "./test-support.js";

function serving() {
  const h = harness();
  const txs: ServerTransaction[] = [];
  const acks: Array<{ ack: SipRequest; tx: ServerInviteTransaction | undefined }> = [];
  h.layer.onRequest((tx) => txs.push(tx));
  h.layer.onAck((ack, _flow, tx) => acks.push({ ack, tx }));
  return { ...h, txs, acks };
}

describe("server matching (§17.2.3)", () => {
  it("branch + sent-by + method: a retransmission matches, a different sent-by or method does not", () => {
    const s = serving();
    s.transport.inject(request({ method: "OPTIONS", branch: "z9hG4bKsame" }));
    s.transport.inject(request({ method: "OPTIONS", branch: "z9hG4bKsame" }));
    expect(s.txs).toHaveLength(1);
    s.transport.inject(
      request({ method: "OPTIONS", branch: "z9hG4bKsame", sentBy: "other.example.com:5060" }),
    );
    s.transport.inject(request({ method: "INFO", branch: "z9hG4bKsame" }));
    expect(s.txs).toHaveLength(3);
    // sent-by host compares case-insensitively; a missing port differs from an explicit one.
    s.transport.inject(
      request({ method: "OPTIONS", branch: "z9hG4bKsame", sentBy: "PC33.atlanta.example.com:5060" }),
    );
    expect(s.txs).toHaveLength(3);
    s.transport.inject(
      request({ method: "OPTIONS", branch: "z9hG4bKsame", sentBy: "pc33.atlanta.example.com" }),
    );
    expect(s.txs).toHaveLength(4);
    expect(s.layer.stats().server).toBe(4);
  });

  it("an ACK matches the INVITE transaction; a CANCEL gets its own, and finds the INVITE (§9.2)", () => {
    const s = serving();
    const inv = request({ branch: "z9hG4bKinv1" });
    s.transport.inject(inv);
    const inviteTx = s.txs[0] as ServerInviteTransaction;
    expect(inviteTx).toBeInstanceOf(ServerInviteTransaction);
    const cancel = request({ method: "CANCEL", branch: "z9hG4bKinv1" });
    s.transport.inject(cancel);
    expect(s.txs).toHaveLength(2);
    const cancelTx = s.txs[1]!;
    expect(cancelTx).toBeInstanceOf(ServerNonInviteTransaction);
    expect(s.layer.findInviteForCancel(cancel)).toBe(inviteTx);
    expect(
      s.layer.findInviteForCancel(request({ method: "CANCEL", branch: "z9hG4bKother" })),
    ).toBeUndefined();
    // The usual UAS reaction: 200 to the CANCEL, 487 to the INVITE.
    cancelTx.respond(createResponse(cancel, 200));
    inviteTx.respond(createResponse(inv, 487, { toTag: "uas" }));
    s.transport.inject(request({ method: "ACK", branch: "z9hG4bKinv1", toTag: "uas" }));
    expect(inviteTx.state).toBe("Confirmed");
    expect(s.acks).toEqual([]);
  });

  it("a CANCEL built by createCancel finds the INVITE", () => {
    const s = serving();
    const inv = request({ routes: ["<sip:p1.example.com;lr>"] });
    s.transport.inject(inv);
    const cancel = parseMessage(createCancel(inv).toBuffer()) as SipRequest;
    expect(s.layer.findInviteForCancel(cancel)).toBe(s.txs[0]);
  });

  it("an ACK without a transaction goes to the TU as-is and creates nothing", () => {
    const s = serving();
    const ack = request({ method: "ACK", toTag: "x" });
    s.transport.inject(ack, UDP_FLOW);
    expect(s.acks).toEqual([{ ack, tx: undefined }]);
    expect(s.txs).toHaveLength(0);
    expect(s.layer.stats().server).toBe(0);
  });
});

describe("RFC 2543 fallback (§17.2.3, no magic cookie)", () => {
  const legacy = (o: Parameters<typeof request>[0] = {}) => request({ branch: "1", ...o });

  it("an INVITE retransmission matches on Request-URI, tags, Call-ID, CSeq and top Via", () => {
    const s = serving();
    s.transport.inject(legacy());
    s.transport.inject(legacy());
    expect(s.txs).toHaveLength(1);
    s.transport.inject(legacy({ callId: "other" }));
    s.transport.inject(legacy({ seq: 2 }));
    s.transport.inject(legacy({ uri: "sip:carol@example.com" }));
    s.transport.inject(legacy({ fromTag: "zzz" }));
    s.transport.inject(legacy({ sentBy: "host.example.com:5060" }));
    expect(s.txs).toHaveLength(6);
    expect(s.layer.stats()).toEqual({ client: 0, server: 6, legacyIndex: 6 });
  });

  it("the ACK matches by the To tag of the response sent; the CANCEL finds its INVITE", () => {
    const s = serving();
    const inv = legacy();
    s.transport.inject(inv);
    const tx = s.txs[0] as ServerInviteTransaction;
    const cancel = legacy({ method: "CANCEL" });
    s.transport.inject(cancel);
    expect(s.txs).toHaveLength(2);
    expect(s.layer.findInviteForCancel(cancel)).toBe(tx);
    tx.respond(createResponse(inv, 486, { toTag: "resp-tag" }));
    s.transport.inject(legacy({ method: "ACK", toTag: "wrong" }));
    expect(tx.state).toBe("Completed");
    expect(s.acks).toHaveLength(1);
    s.transport.inject(legacy({ method: "ACK", toTag: "resp-tag" }));
    expect(tx.state).toBe("Confirmed");
  });

  it("a request without any branch uses the fallback too", () => {
    const s = serving();
    const text = request({ method: "OPTIONS" })
      .toString()
      .replace(/;branch=[^;\r\n]*/, "");
    s.transport.inject(parseMessage(text) as SipRequest);
    s.transport.inject(parseMessage(text) as SipRequest);
    expect(s.txs).toHaveLength(1);
  });

  it("the index is emptied when the transactions end", () => {
    const s = serving();
    s.transport.inject(legacy({ method: "OPTIONS" }));
    s.transport.inject(legacy());
    for (const tx of s.txs) tx.respond(createResponse(tx.request, 500, { toTag: "t" }));
    s.clock.advance(64 * 500);
    expect(s.layer.stats()).toEqual({ client: 0, server: 0, legacyIndex: 0 });
  });
});

describe("client matching (§17.1.3)", () => {
  it("branch + CSeq method; anything else is a stray for the TU", () => {
    const h = harness();
    const strays: SipResponse[] = [];
    h.layer.onStrayResponse((r) => strays.push(r));
    const got: number[] = [];
    const req = request({ method: "OPTIONS" });
    h.layer.sendRequest(req, UDP_TARGET, { onResponse: (r) => got.push(r.status) });
    h.transport.inject(reply(request({ method: "OPTIONS" }), 200)); // other branch
    h.transport.inject(
      reply(
        request({ method: "OPTIONS", branch: req.topVia()!.params.get("branch")!, cseqMethod: "INFO" }),
        200,
      ),
    );
    expect(strays.map((r) => r.status)).toEqual([200, 200]);
    expect(got).toEqual([]);
    h.transport.inject(reply(req, 200));
    expect(got).toEqual([200]);
  });

  it("refuses ACK, a missing branch, a CSeq mismatch, a duplicate branch, a missing header", () => {
    const h = harness();
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e instanceof TransactionError ? e.code : e;
      }
      return "no error";
    };
    const noop = { onResponse: () => {} };
    expect(code(() => h.layer.sendRequest(request({ method: "ACK" }), UDP_TARGET, noop))).toBe("BAD_METHOD");
    const noBranch = parseMessage(
      request()
        .toString()
        .replace(/;branch=[^;\r\n]*/, ""),
    ) as SipRequest;
    expect(code(() => h.layer.sendRequest(noBranch, UDP_TARGET, noop))).toBe("NO_BRANCH");
    expect(code(() => h.layer.sendRequest(request({ cseqMethod: "BYE" }), UDP_TARGET, noop))).toBe(
      "CSEQ_MISMATCH",
    );
    const once = request({ branch: "z9hG4bKdup" });
    h.layer.sendRequest(once, UDP_TARGET, noop);
    expect(code(() => h.layer.sendRequest(request({ branch: "z9hG4bKdup" }), UDP_TARGET, noop))).toBe(
      "DUPLICATE_TRANSACTION",
    );
    const noCallId = parseMessage(
      request()
        .toString()
        .replace(/Call-ID:[^\r]*\r\n/, ""),
    ) as SipRequest;
    expect(code(() => h.layer.sendRequest(noCallId, UDP_TARGET, noop))).toBe("MISSING_HEADER");
    expect(h.layer.stats().client).toBe(1);
  });
});

describe("robustness", () => {
  it("drops an unreadable message and reports it on sip.transaction.error", () => {
    const s = serving();
    const events: TransactionErrorEvent[] = [];
    const listener = (m: unknown) => events.push(m as TransactionErrorEvent);
    subscribe(TRANSACTION_CHANNELS.error, listener);
    try {
      const noVia = parseMessage(
        request()
          .toString()
          .replace(/Via:[^\r]*\r\n/g, ""),
      ) as SipRequest;
      s.transport.inject(noVia);
      const badCseq = parseMessage(
        request()
          .toString()
          .replace(/CSeq:[^\r]*/, "CSeq: x"),
      ) as SipRequest;
      s.transport.inject(reply(request(), 200));
      s.transport.inject(parseMessage(reply(badCseq, 200).toBuffer()) as SipResponse);
    } finally {
      unsubscribe(TRANSACTION_CHANNELS.error, listener);
    }
    expect(s.txs).toHaveLength(0);
    expect(events.map((e) => e.reason)).toEqual(["malformed", "malformed"]);
  });

  it("a TU callback that throws is reported and the transaction carries on", () => {
    const h = harness();
    const req = request({ method: "OPTIONS" });
    const tx = h.layer.sendRequest(req, UDP_TARGET, {
      onResponse: () => {
        throw new Error("TU bug");
      },
    });
    h.transport.inject(reply(req, 200));
    expect(h.errors).toHaveLength(1);
    expect(tx.state).toBe("Completed");
    h.clock.advance(5000);
    expect(h.layer.stats().client).toBe(0);
    h.layer.onRequest(() => {
      throw new Error("TU bug 2");
    });
    h.transport.inject(request({ method: "BYE" }));
    expect(h.errors).toHaveLength(2);
    expect(h.layer.stats().server).toBe(1);
  });

  it("without a request handler, new requests are dropped", () => {
    const h = harness();
    h.transport.inject(request());
    expect(h.layer.stats().server).toBe(0);
    expect(h.transport.sent).toHaveLength(0);
  });

  it("close() terminates everything and ignores later messages", () => {
    const s = serving();
    const ended: string[] = [];
    s.layer.sendRequest(request(), UDP_TARGET, {
      onResponse: () => {},
      onTerminated: (tx) => ended.push(tx.kind),
    });
    s.transport.inject(request({ method: "OPTIONS" }));
    s.layer.close();
    expect(ended).toEqual(["client-invite"]);
    expect(s.layer.stats()).toEqual({ client: 0, server: 0, legacyIndex: 0 });
    expect(s.clock.pending).toBe(0);
    s.transport.inject(request({ method: "OPTIONS" }));
    expect(s.txs).toHaveLength(1);
    expect(() => s.layer.sendRequest(request(), UDP_TARGET, { onResponse: () => {} })).toThrow(
      TransactionError,
    );
  });

  it("rejects a bad tryingDelay", () => {
    expect(() => harness({ tryingDelay: -1 })).toThrow(RangeError);
  });
});

describe("diagnostics_channel", () => {
  it("publishes every state change with kind, branch, from and to", async () => {
    const h = harness();
    const events: TransactionStateEvent[] = [];
    const listener = (m: unknown) => events.push(m as TransactionStateEvent);
    subscribe(TRANSACTION_CHANNELS.state, listener);
    try {
      const req = request({ method: "OPTIONS" });
      const tx = h.layer.sendRequest(req, UDP_TARGET, { onResponse: () => {} });
      h.transport.inject(reply(req, 100));
      h.transport.inject(reply(req, 200));
      h.clock.advance(5000);
      await settle();
      expect(events.map((e) => [e.kind, e.branch, e.from, e.to])).toEqual([
        ["client-non-invite", tx.branch, null, "Trying"],
        ["client-non-invite", tx.branch, "Trying", "Proceeding"],
        ["client-non-invite", tx.branch, "Proceeding", "Completed"],
        ["client-non-invite", tx.branch, "Completed", "Terminated"],
      ]);
    } finally {
      unsubscribe(TRANSACTION_CHANNELS.state, listener);
    }
  });

  it("publishes retransmissions", () => {
    const h = harness();
    const what: Array<string | number> = [];
    const listener = (m: unknown) => what.push((m as { what: string | number }).what);
    subscribe(TRANSACTION_CHANNELS.retransmit, listener);
    try {
      h.layer.sendRequest(request(), UDP_TARGET, { onResponse: () => {} });
      h.clock.advance(1500);
    } finally {
      unsubscribe(TRANSACTION_CHANNELS.retransmit, listener);
    }
    expect(what).toEqual(["request", "request"]);
  });
});

describe("response retransmission flow", () => {
  it("a server response goes out on the flow of the latest retransmission", () => {
    const s = serving();
    const req = request({ method: "OPTIONS" });
    s.transport.inject(req, UDP_FLOW);
    const tx = s.txs[0]!;
    tx.respond(createResponse(req, 200));
    const otherFlow = { ...UDP_FLOW, remote: { address: "192.0.2.77", port: 5062 } };
    s.transport.inject(copy(req), otherFlow);
    expect(s.transport.sent.map((x) => x.to)).toEqual([UDP_FLOW, otherFlow]);
  });

  it("sends settle without unhandled rejections when a transaction is already gone", async () => {
    const h = harness();
    h.transport.failWith = () => new Error("late");
    const req = request({ method: "OPTIONS", transport: "TCP" });
    h.layer.sendRequest(
      req,
      { protocol: "tcp", address: "192.0.2.2", port: 5060 },
      {
        onResponse: () => {},
        onTransportError: () => {},
      },
    );
    await settle();
    expect(h.layer.stats().client).toBe(0);
  });
});
