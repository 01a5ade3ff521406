import { describe, expect, it } from "vitest";
import { SipParseError } from "../errors.js";
import { parseCSeq } from "./cseq.js";
import { fastTag, formatNameAddr, parseNameAddr, tagOf } from "./name-addr.js";
import { formatVia, parseVia, viaRport } from "./via.js";

describe("Via (RFC 3261 §20.42, RFC 3581)", () => {
  it.each([
    ["SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds", "UDP", "pc33.atlanta.com", undefined],
    ["SIP / 2.0 / TCP  host.example : 5070 ; branch = z9hG4bK1", "TCP", "host.example", 5070],
    ["SIP/2.0/UDP [2001:db8::9:1]:6050;branch=z9hG4bKas3", "UDP", "[2001:db8::9:1]", 6050],
    ["sip/2.0/ws df7jal23ls0d.invalid;branch=z9hG4bKasudf", "WS", "df7jal23ls0d.invalid", undefined],
  ])("%s", (text, transport, host, port) => {
    const v = parseVia(text);
    expect(v.protocol).toBe("SIP/2.0");
    expect(v.transport).toBe(transport);
    expect(v.host).toBe(host);
    expect(v.port).toBe(port);
    expect(v.params.get("branch")).toMatch(/^z9hG4bK/);
  });

  it("reads received, rport, maddr, ttl", () => {
    const v = parseVia(
      "SIP/2.0/UDP 10.0.0.1:5060;rport=5070;received=192.0.2.1;maddr=224.0.1.75;ttl=16;branch=z9hG4bK1",
    );
    expect(viaRport(v)).toBe(5070);
    expect(v.params.get("received")).toBe("192.0.2.1");
    expect(v.params.get("maddr")).toBe("224.0.1.75");
    expect(v.params.get("ttl")).toBe("16");
    expect(viaRport(parseVia("SIP/2.0/UDP h;rport"))).toBe(true);
    expect(viaRport(parseVia("SIP/2.0/UDP h"))).toBeUndefined();
  });

  it.each(["SIP/2.0/UDP", "SIP/2.0 UDP h", "SIP/2.0/UDP h:70000", "SIP/2.0/UDP h;", "SIP/2.0/UDP [::1"])(
    "rejects %j",
    (text) => {
      expect(() => parseVia(text)).toThrow(SipParseError);
    },
  );

  it("formats canonically", () => {
    expect(formatVia(parseVia("SIP / 2.0 / UDP h : 5060 ;branch=z9hG4bK1;rport"))).toBe(
      "SIP/2.0/UDP h:5060;branch=z9hG4bK1;rport",
    );
  });
});

describe("CSeq (§20.16)", () => {
  it("parses number and method", () => {
    expect(parseCSeq("4711 INVITE")).toEqual({ seq: 4711, method: "INVITE" });
    expect(parseCSeq("  1\tREGISTER ")).toEqual({ seq: 1, method: "REGISTER" });
  });
  it.each(["INVITE", "1", "-1 INVITE", "2147483648 INVITE", "1INVITE", "1 IN VITE"])("rejects %j", (t) => {
    expect(() => parseCSeq(t)).toThrow(SipParseError);
  });
});

describe("name-addr / addr-spec (§20.10, §25.1)", () => {
  it.each([
    ['"Bob \\"the\\" Builder" <sip:bob@b.com>;tag=1', 'Bob "the" Builder', "sip:bob@b.com", "1"],
    ["Anonymous <sip:c8oqz84zk7z@privacy.org>;tag=hyh8", "Anonymous", "sip:c8oqz84zk7z@privacy.org", "hyh8"],
    ["sip:alice@a.com;tag=88sja8x", undefined, "sip:alice@a.com", "88sja8x"],
    ["<sip:alice@a.com;transport=tcp>;tag=x", undefined, "sip:alice@a.com;transport=tcp", "x"],
    ["<tel:+1555>", undefined, "tel:+1555", undefined],
  ])("%s", (text, displayName, uri, tag) => {
    const n = parseNameAddr(text);
    expect(n.displayName).toBe(displayName);
    expect(n.uri).toBe(uri);
    expect(n.params.get("tag") ?? undefined).toBe(tag);
  });

  it.each(['"unterminated <sip:a@b>', "<sip:a@b", "<>", '"x" sip:a@b', "sip:a b@c"])("rejects %j", (t) => {
    expect(() => parseNameAddr(t)).toThrow(SipParseError);
  });

  it("formats with angle brackets when there are parameters", () => {
    expect(formatNameAddr(parseNameAddr("sip:a@b;tag=1"))).toBe("<sip:a@b>;tag=1");
    expect(formatNameAddr(parseNameAddr('"A" <sip:a@b>'))).toBe('"A" <sip:a@b>');
  });
});

describe("fastTag agrees with the full parse", () => {
  it.each([
    '"Bob \\"the\\" Builder" <sip:bob@b.com>;tag=1',
    '"a;tag=no" <sip:x@y;tag=uri-param>;TAG = yes ;other=1',
    "sip:alice@a.com;tag=88sja8x",
    "<sip:alice@a.com;transport=tcp>",
    "Anonymous <sip:c8oqz84zk7z@privacy.org>;tag=hyh8;x",
    "<sip:a@b>;tagx=1;tag=2",
  ])("%s", (value) => {
    expect(fastTag(value)).toBe(tagOf(parseNameAddr(value)));
  });
});
