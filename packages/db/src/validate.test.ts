import { describe, expect, it } from "vitest";
import { InvalidInputError } from "./errors.js";
import { decodeCursor, encodeCursor, isUuid, normalizeDomainName, validateUsername } from "./validate.js";

describe("cursors", () => {
  it.each([
    ["2b0f5c9e-3f5e-4a43-9d6b-7f3d7f7a1c10", "alice"],
    ["2b0f5c9e-3f5e-4a43-9d6b-7f3d7f7a1c10", 'ünïcødé,"quoted"'],
    ["00000000-0000-0000-0000-000000000000", ""],
  ])("round-trip (%s, %j) as URL-safe text", (domainId, username) => {
    const cursor = encodeCursor({ domainId, username });
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor)).toEqual({ domainId, username });
  });

  it.each([
    "",
    "!!!",
    "bnVsbA",
    Buffer.from('["not-a-uuid","x"]').toString("base64url"),
    Buffer.from("{}").toString("base64url"),
  ])("refuses %j", (cursor) => {
    expect(() => decodeCursor(cursor)).toThrow(InvalidInputError);
  });
});

describe("input checks", () => {
  it.each([
    ["Example.TEST", "example.test"],
    ["192.0.2.1", "192.0.2.1"],
    ["2001:DB8::1", "2001:db8::1"],
    ["localhost", "localhost"],
  ])("domain %s → %s", (input, normalized) => {
    expect(normalizeDomainName(input)).toBe(normalized);
  });

  it.each(["", " ", "a b", "a_b.test", "fe80::1%eth0", 42, null])("refuses the domain %j", (input) => {
    expect(() => normalizeDomainName(input)).toThrow(InvalidInputError);
  });

  it.each(["1001", "+4420794600", "alice.smith", "a-b_c!~*'()&=+$,;?/"])("accepts the username %j", (u) => {
    expect(validateUsername(u)).toBe(u);
  });

  it.each(["", "a b", "a\tb", "a\u0000b", "a@b", "a:b", "x".repeat(129), 1001])(
    "refuses the username %j",
    (u) => {
      expect(() => validateUsername(u)).toThrow(InvalidInputError);
    },
  );

  it("recognises UUIDs only", () => {
    expect(isUuid("2B0F5C9E-3F5E-4A43-9D6B-7F3D7F7A1C10")).toBe(true);
    expect(isUuid("2b0f5c9e3f5e4a439d6b7f3d7f7a1c10")).toBe(false);
    expect(isUuid("2b0f5c9e-3f5e-4a43-9d6b-7f3d7f7a1c10 ")).toBe(false);
  });
});
