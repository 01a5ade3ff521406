import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import { bindingIdentity, normalizeAor, normalizeContactUri, normalizeEscapes } from "./aor.js";
import { InvalidAorError } from "./errors.js";

describe("normalizeAor", () => {
  it.each([
    ["sip:Alice@Example.TEST;transport=udp", "sip:Alice@example.test"],
    ["sips:alice@example.test", "sip:alice@example.test"],
    ["SIP:alice@example.test", "sip:alice@example.test"],
    ["sip:bob@Example.test:5070;user=phone?subject=hi", "sip:bob@example.test:5070"],
    ["sip:alice:secret@example.test", "sip:alice@example.test"],
    ["sip:%61lice@example.test", "sip:alice@example.test"],
    ["sip:%41lice@example.test", "sip:Alice@example.test"],
    ["sip:a%2fb%7e@example.test", "sip:a%2Fb~@example.test"],
    ["sip:alice@[2001:DB8::1]:5060", "sip:alice@[2001:db8::1]:5060"],
    ["sip:example.test", "sip:example.test"],
    ["  sip:alice@example.test  ", "sip:alice@example.test"],
  ])("%s → %s", (input, expected) => {
    expect(normalizeAor(input)).toBe(expected);
  });

  it("keeps the user part case-sensitive (RFC 3261 §19.1.4)", () => {
    expect(normalizeAor("sip:ALICE@example.test")).not.toBe(normalizeAor("sip:alice@example.test"));
  });

  it.each(["tel:+15551234567", "mailto:alice@example.test", "alice@example.test", "sip:", "sip:a@b c"])(
    "refuses %s with InvalidAorError",
    (input) => {
      expect(() => normalizeAor(input)).toThrow(InvalidAorError);
    },
  );

  const user = fc.stringMatching(/^[A-Za-z0-9._~!*'()-]{1,12}$/);
  const host = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,10}(\.[A-Za-z]{2,6}){1,2}$/);
  const param = fc.stringMatching(/^;[a-z]{1,8}(=[A-Za-z0-9]{1,8})?$/);

  test.prop([user, host, fc.array(param, { maxLength: 3 }), fc.constantFrom("sip", "sips", "SIP")])(
    "is idempotent and ignores scheme, host case and parameters",
    (u, h, params, scheme) => {
      const canonical = normalizeAor(`sip:${u}@${h.toLowerCase()}`);
      const variant = normalizeAor(`${scheme}:${u}@${h.toUpperCase()}${params.join("")}`);
      expect(variant).toBe(canonical);
      expect(normalizeAor(canonical)).toBe(canonical);
      expect(canonical).toBe(`sip:${u}@${h.toLowerCase()}`);
    },
  );

  test.prop([user])("treats an escaped unreserved character as the character itself", (u) => {
    const escaped = [...u].map((c) => `%${c.charCodeAt(0).toString(16)}`).join("");
    expect(normalizeAor(`sip:${escaped}@example.test`)).toBe(`sip:${u}@example.test`);
  });
});

describe("normalizeContactUri and bindingIdentity", () => {
  it("compares parameters without regard to order or case, and keeps the scheme and port", () => {
    expect(normalizeContactUri("sip:alice@Host.Example:5080;Transport=TCP;ob")).toBe(
      "sip:alice@host.example:5080;ob;transport=tcp",
    );
    expect(normalizeContactUri("sips:alice@h")).toBe("sips:alice@h");
    expect(normalizeContactUri("TEL:+1555")).toBe("tel:+1555");
    expect(normalizeContactUri(" not a uri ")).toBe("not a uri");
    expect(normalizeEscapes("%7e%2f")).toBe("~%2F");
  });

  it("binds by +sip.instance and reg-id when both are present (RFC 5626 §6), else by Contact URI", () => {
    const instanceId = "urn:uuid:00000000-0000-1000-8000-000A95A0E128";
    expect(bindingIdentity({ contact: "sip:a@1.2.3.4", instanceId, regId: 1 })).toBe(
      `<${instanceId}>;reg-id=1`,
    );
    expect(bindingIdentity({ contact: "sip:a@5.6.7.8", instanceId, regId: 1 })).toBe(
      `<${instanceId}>;reg-id=1`,
    );
    expect(bindingIdentity({ contact: "sip:a@1.2.3.4", instanceId })).toBe("sip:a@1.2.3.4");
    expect(bindingIdentity({ contact: "sip:a@HOST;Lr" })).toBe("sip:a@host;lr");
  });
});
