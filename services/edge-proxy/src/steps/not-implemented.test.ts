import { describe, expect, it } from "vitest";
import { contextOf, request } from "../test/requests.js";
import { notImplemented } from "./not-implemented.js";

describe("not-implemented step", () => {
  it.each(["INVITE", "MESSAGE", "SUBSCRIBE", "BYE", "OPTIONS"])("%s → 501 with Allow", (method) => {
    expect(notImplemented(contextOf(request({ method, uri: "sip:bob@example.test" })))).toEqual({
      kind: "reply",
      status: 501,
      reason: "Not Implemented",
      headers: [["Allow", "REGISTER, OPTIONS, ACK, CANCEL"]],
    });
  });
});
