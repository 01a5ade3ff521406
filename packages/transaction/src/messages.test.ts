import { createResponse } from "@sip-platform/sip";
import { describe, expect, it } from "vitest";
import { TransactionError } from "./errors.js";
import { createAck, createCancel } from "./messages.js";
import { request } from "./test-support.js";

describe("createCancel (§9.1)", () => {
  it("copies Request-URI, Call-ID, To, From, CSeq number, the top Via only, and Route", () => {
    const inv = request({ routes: ["<sip:p1.example.com;lr>"], toTag: "dlg", seq: 7 });
    const cancel = createCancel(inv);
    expect(cancel.method).toBe("CANCEL");
    expect(cancel.uri).toBe(inv.uri);
    expect(cancel.headerValues("Via")).toEqual([inv.headerValues("Via")[0]]);
    expect(cancel.header("To")).toBe(inv.header("To"));
    expect(cancel.header("From")).toBe(inv.header("From"));
    expect(cancel.callId()).toBe(inv.callId());
    expect(cancel.cseq()).toEqual({ seq: 7, method: "CANCEL" });
    expect(cancel.headerLines("Route")).toEqual(["<sip:p1.example.com;lr>"]);
    expect(cancel.header("Max-Forwards")).toBe("70");
    expect(cancel.header("Content-Length")).toBe("0");
    expect(cancel.toString().startsWith(`CANCEL ${inv.uri} SIP/2.0\r\n`)).toBe(true);
  });

  it("refuses to cancel an ACK or a CANCEL", () => {
    expect(() => createCancel(request({ method: "ACK" }))).toThrow(TransactionError);
    expect(() => createCancel(request({ method: "CANCEL" }))).toThrow(TransactionError);
  });
});

describe("createAck (§17.1.1.3)", () => {
  it("takes To from the response and the rest from the INVITE", () => {
    const inv = request({ seq: 9 });
    const res = createResponse(inv, 404, { toTag: "abc" });
    const ack = createAck(inv, res);
    expect(ack.toTag()).toBe("abc");
    expect(ack.cseq()).toEqual({ seq: 9, method: "ACK" });
    expect(ack.headerLines("Route")).toEqual([]);
    expect(ack.vias()).toHaveLength(1);
  });
});
