import { INVITE, OPTIONS, sipMessage } from "@sip-platform/fixtures/messages";
import { parseMessage, type SipRequest } from "@sip-platform/sip";
import { describe, expect, it } from "vitest";
import { answer } from "./answer.js";

const req = (text: string) => parseMessage(text) as SipRequest;

describe("demo server answers", () => {
  it("OPTIONS with 200 and Allow", () => {
    const res = answer(req(OPTIONS), "demo");
    expect(res?.status).toBe(200);
    expect(res?.header("Allow")).toBe("OPTIONS");
    expect(res?.callId()).toBe("options-1@127.0.0.1");
  });

  it("INVITE with 501", () => {
    expect(answer(req(INVITE), "demo")?.status).toBe(501);
  });

  it("nothing to ACK", () => {
    expect(answer(req(INVITE.replace(/INVITE/g, "ACK")), "demo")).toBeNull();
  });

  it("400 naming a missing header", () => {
    const res = answer(
      req(sipMessage(["OPTIONS sip:a@b SIP/2.0", "Via: SIP/2.0/UDP h;branch=z9hG4bK1", "Content-Length: 0"])),
      "demo",
    );
    expect(res?.status).toBe(400);
    expect(res?.reason).toMatch(/From/);
  });

  it("505 for another SIP version", () => {
    const text = OPTIONS.replace(
      "OPTIONS sip:proxy.example.test SIP/2.0",
      "OPTIONS sip:proxy.example.test SIP/7.0",
    );
    expect(answer(req(text), "demo")?.status).toBe(505);
  });

  it("400 when CSeq method and request method differ", () => {
    expect(answer(req(OPTIONS.replace("1 OPTIONS", "1 INVITE")), "demo")?.status).toBe(400);
  });
});
