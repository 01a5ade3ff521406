import { createResponse, type SipResponse } from "@sip-platform/sip";
import { describe, expect, it } from "vitest";
import { contextOf, request } from "../test/requests.js";
import { type CancellableInvite, cancel } from "./cancel.js";

function invite(state: string, responseToTag?: string) {
  const sent: SipResponse[] = [];
  const tx: CancellableInvite = {
    request: request({ method: "INVITE", uri: "sip:bob@example.test" }),
    state,
    responseToTag,
    respond: (r) => sent.push(r),
  };
  return { tx, sent };
}

describe("CANCEL step", () => {
  it("passes other methods on", () => {
    const step = cancel({ findInviteForCancel: () => undefined });
    expect(step(contextOf(request({ method: "INVITE", uri: "sip:bob@example.test" }))).kind).toBe("continue");
  });

  it("481 when no INVITE transaction matches", () => {
    const step = cancel({ findInviteForCancel: () => undefined });
    const v = step(contextOf(request({ method: "CANCEL", uri: "sip:bob@example.test" })));
    expect(v).toMatchObject({ kind: "reply", status: 481, reason: "Call/Transaction Does Not Exist" });
  });

  it("200, and 487 for the INVITE still pending, both with one To tag (§9.2)", () => {
    const { tx, sent } = invite("Proceeding");
    const v = cancel({ findInviteForCancel: () => tx })(
      contextOf(request({ method: "CANCEL", uri: "sip:bob@example.test" })),
    );
    expect(sent.map((r) => r.status)).toEqual([487]);
    expect(v).toMatchObject({ kind: "reply", status: 200, toTag: sent[0]!.toTag() });
  });

  it.each(["Completed", "Confirmed", "Accepted"])("200 only, when the INVITE is %s", (state) => {
    const final = createResponse(request({ method: "INVITE", uri: "sip:bob@example.test" }), 501, {
      toTag: "t501",
    });
    const { tx, sent } = invite(state, final.toTag());
    const v = cancel({ findInviteForCancel: () => tx })(
      contextOf(request({ method: "CANCEL", uri: "sip:bob@example.test" })),
    );
    expect(sent).toEqual([]);
    expect(v).toMatchObject({ kind: "reply", status: 200, toTag: "t501" });
  });
});
