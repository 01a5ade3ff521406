import { describe, expect, it } from "vitest";
import { contextOf, request } from "../test/requests.js";
import { type DomainStatus, optionsToSelf } from "./options.js";

const self = {
  isSelf: (host: string, port: number | undefined) => host === "192.0.2.1" && (port ?? 5060) === 5060,
};
const domains = (status: DomainStatus) => ({
  status: (h: string) => (h === "example.test" ? status : "foreign") as DomainStatus,
});

describe("OPTIONS-to-self step", () => {
  it.each([
    ["our address", "OPTIONS", "sip:192.0.2.1", "local", 200],
    ["our address and port", "OPTIONS", "sip:192.0.2.1:5060", "local", 200],
    ["our address on another port", "OPTIONS", "sip:192.0.2.1:5099", "local", "continue"],
    ["a local domain", "OPTIONS", "sip:example.test", "local", 200],
    ["a local domain while domains are unknown", "OPTIONS", "sip:example.test", "unknown", "continue"],
    ["a user at a local domain", "OPTIONS", "sip:bob@example.test", "local", "continue"],
    ["a user at our address", "OPTIONS", "sip:bob@192.0.2.1", "local", "continue"],
    ["another domain", "OPTIONS", "sip:elsewhere.test", "local", "continue"],
    ["a tel: URI", "OPTIONS", "tel:+441234", "local", "continue"],
    ["an INVITE to us", "INVITE", "sip:192.0.2.1", "local", "continue"],
  ] as const)("%s", (_name, method, uri, status, expected) => {
    const v = optionsToSelf(self, domains(status))(contextOf(request({ method, uri })));
    if (expected === "continue") expect(v.kind).toBe("continue");
    else expect(v).toMatchObject({ kind: "reply", status: 200, reason: "OK" });
  });

  it("says what it allows, accepts and supports", () => {
    const v = optionsToSelf(self, domains("local"))(contextOf(request({ uri: "sip:192.0.2.1" })));
    expect(v.kind === "reply" && Object.fromEntries(v.headers ?? [])).toEqual({
      Allow: "REGISTER, OPTIONS, ACK, CANCEL",
      Accept: "*/*",
      Supported: "path, outbound",
    });
  });
});
