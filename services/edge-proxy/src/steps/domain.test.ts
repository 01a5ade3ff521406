import { describe, expect, it } from "vitest";
import { contextOf, request } from "../test/requests.js";
import { localDomainOnly } from "./domain.js";
import type { DomainStatus } from "./options.js";

const self = { isSelf: (host: string) => host === "192.0.2.1" };
const known = {
  status: (h: string): DomainStatus => (h.toLowerCase() === "example.test" ? "local" : "foreign"),
};
const unknown = { status: (): DomainStatus => "unknown" };

describe("local-domain step (no open relay)", () => {
  it.each([
    ["a user at a local domain", "sip:bob@example.test", known, "continue"],
    ["a local domain in capitals", "sip:bob@EXAMPLE.test", known, "continue"],
    ["sips: at a local domain", "sips:bob@example.test", known, "continue"],
    ["one of our addresses", "sip:bob@192.0.2.1", known, "continue"],
    ["another domain → 403", "sip:bob@elsewhere.test", known, 403],
    ["an IP that is not ours → 403", "sip:bob@203.0.113.9", known, 403],
    ["domains unknown → 503", "sip:bob@example.test", unknown, 503],
    ["our address while domains are unknown", "sip:bob@192.0.2.1", unknown, "continue"],
    ["tel: → 416", "tel:+441234567", known, 416],
  ] as const)("%s", (_name, uri, domains, expected) => {
    const v = localDomainOnly(self, domains)(contextOf(request({ method: "INVITE", uri })));
    if (expected === "continue") expect(v.kind).toBe("continue");
    else expect(v).toMatchObject({ kind: "reply", status: expected });
    if (expected === 503) expect(v).toMatchObject({ headers: [["Retry-After", "5"]] });
    if (expected === 403) expect(v).toMatchObject({ reason: "Forbidden" });
  });
});
