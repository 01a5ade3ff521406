import { describe, expect, it } from "vitest";
import { contextOf, request } from "../test/requests.js";
import { maxForwards } from "./max-forwards.js";

describe("max-forwards step", () => {
  it.each([
    ["INVITE with 70 passes", "INVITE", "sip:bob@example.test", 70, "continue"],
    ["INVITE with 1 passes", "INVITE", "sip:bob@example.test", 1, "continue"],
    ["INVITE without Max-Forwards passes", "INVITE", "sip:bob@example.test", null, "continue"],
    ["INVITE with 0 → 483", "INVITE", "sip:bob@example.test", 0, 483],
    ["MESSAGE with 0 → 483", "MESSAGE", "sip:bob@example.test", 0, 483],
    [
      "OPTIONS to a user with 0 → 200 (we are the final recipient, §16.3 step 3)",
      "OPTIONS",
      "sip:bob@elsewhere.test",
      0,
      200,
    ],
    ["OPTIONS to us with 0 → 200", "OPTIONS", "sip:example.test", 0, 200],
    ["REGISTER with 0 ends here: passes to the registrar", "REGISTER", "sip:example.test", 0, "continue"],
    ["CANCEL with 0 is hop by hop: passes", "CANCEL", "sip:bob@example.test", 0, "continue"],
  ] as const)("%s", (_name, method, uri, mf, expected) => {
    const v = maxForwards(contextOf(request({ method, uri, maxForwards: mf })));
    if (expected === "continue") expect(v.kind).toBe("continue");
    else {
      expect(v).toMatchObject({ kind: "reply", status: expected });
      if (expected === 483) expect(v).toMatchObject({ reason: "Too Many Hops" });
      if (expected === 200)
        expect(v.kind === "reply" && v.headers?.map(([n]) => n)).toEqual(["Allow", "Accept", "Supported"]);
    }
  });
});
