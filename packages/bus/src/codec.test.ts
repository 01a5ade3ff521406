import { Buffer } from "node:buffer";
import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import { sampleRegister } from "./bus.contract.js";
import { catalogue, events, requests } from "./catalogue.js";
import {
  decodeOn,
  decodeReply,
  encodeDecodeErrorReply,
  encodeHandlerErrorReply,
  encodeReplyOk,
} from "./codec.js";
import { BusDecodeError, BusHandlerError } from "./errors.js";

const allBytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const flow = {
  protocol: "tcp" as const,
  local: { address: "127.0.0.1", port: 5060 },
  remote: { address: "127.0.0.1", port: 40000 },
  connectionId: "c1",
};

describe("payload codecs", () => {
  it("carry every byte value exactly, as latin1 text", () => {
    const codec = requests.edgeDeliver("e1").request;
    const wire = codec.encode({ flow, message: allBytes });
    const back = codec.decode(Buffer.from(wire, "utf8"));
    expect(Buffer.from(back.message)).toEqual(allBytes);
    // SIP text stays readable on the wire (handy with `nats sub`).
    expect(codec.encode({ flow, message: Buffer.from("OPTIONS sip:a SIP/2.0\r\n") })).toContain(
      '"message":"OPTIONS sip:a SIP/2.0\\r\\n"',
    );
  });

  it("round-trip a REGISTER request, dropping unknown keys and treating null as absent", () => {
    const codec = requests.register.request;
    const req = sampleRegister(7);
    const wire = JSON.parse(codec.encode(req)) as Record<string, unknown>;
    const back = codec.decode(JSON.stringify({ ...wire, addedInV2: { x: 1 } }));
    expect(back).toEqual({ ...req, message: Buffer.from(req.message) });
    expect(back).not.toHaveProperty("addedInV2");
    const reply = requests.edgeDeliver("e1").reply.decode('{"delivered":true,"reason":null}');
    expect(reply).toEqual({ delivered: true });
    expect(reply).not.toHaveProperty("reason");
  });

  it.each([
    ["not JSON", "{", ""],
    ["not an object", "[1]", ""],
    ["wrong protocol", { flow: { protocol: "sctp" } }, "flow.protocol"],
    ["port out of range", { flow: { local: { port: 70000 } } }, "flow.local.port"],
    ["fractional time", { receivedAt: 1.5 }, "receivedAt"],
    ["edge id with a dot", { edgeId: "a.b" }, "edgeId"],
    ["bytes as an array", { message: [1, 2] }, "message"],
  ])("name the field: %s", (_, patch, field) => {
    const base = JSON.parse(requests.register.request.encode(sampleRegister())) as Record<string, unknown>;
    const merge = (a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> => {
      const out = { ...a };
      for (const [k, v] of Object.entries(b)) {
        out[k] =
          typeof v === "object" && v !== null && !Array.isArray(v) && typeof a[k] === "object"
            ? merge(a[k] as Record<string, unknown>, v as Record<string, unknown>)
            : v;
      }
      return out;
    };
    const wire = typeof patch === "string" ? patch : JSON.stringify(merge(base, patch));
    let error: unknown;
    try {
      decodeOn(requests.register.request, wire, "sip.registrar.register");
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(BusDecodeError);
    expect(error).toMatchObject({ field, subject: "sip.registrar.register", remote: false });
  });

  it("names array elements in paths", () => {
    const bad = { bindings: [{}, { aor: "sip:a@b" }] };
    expect(() => decodeOn(requests.locationLookup.reply, JSON.stringify(bad), "s")).toThrow(
      expect.objectContaining({ field: "bindings[0].aor" }),
    );
  });

  test.prop([fc.uint8Array({ maxLength: 2048 })])("bytes survive any content", (data) => {
    const codec = requests.edgeDeliver("e1").request;
    const back = codec.decode(codec.encode({ flow, message: data }));
    expect(Buffer.from(back.message).equals(Buffer.from(data))).toBe(true);
  });

  test.prop([fc.jsonValue()])("decode throws nothing but BusDecodeError, whatever arrives", (value) => {
    const wire = JSON.stringify(value);
    for (const codec of [
      requests.register.request,
      requests.locationLookup.reply,
      events.edgeHeartbeat.payload,
      events.bindingChanged.payload,
    ]) {
      try {
        codec.decode(wire);
      } catch (err) {
        expect(err).toBeInstanceOf(BusDecodeError);
      }
    }
  });
});

describe("reply envelope", () => {
  const spec = requests.locationLookup;

  it("carries a value", () => {
    expect(decodeReply(spec.reply, encodeReplyOk(spec.reply, { bindings: [] }), "s")).toEqual({
      bindings: [],
    });
  });

  it("carries a decode failure of the request as a remote BusDecodeError", () => {
    const wire = encodeDecodeErrorReply(new BusDecodeError("", "aor", "is required"));
    expect(() => decodeReply(spec.reply, wire, "s")).toThrow(
      expect.objectContaining({ name: "BusDecodeError", field: "aor", remote: true }),
    );
  });

  it("carries any handler failure as BusHandlerError, even a bus error of the handler's own", () => {
    const own = new BusDecodeError("sip.other", "x", "is required");
    expect(() => decodeReply(spec.reply, encodeHandlerErrorReply(own), "s")).toThrow(BusHandlerError);
    expect(() => decodeReply(spec.reply, encodeHandlerErrorReply(42), "s")).toThrow(BusHandlerError);
  });

  it("says retryable (503, not 500) only when the handler's error said so", () => {
    const down = Object.assign(new Error("database is unavailable"), {
      code: "DB_UNAVAILABLE",
      retryable: true,
    });
    const wire = encodeHandlerErrorReply(down);
    expect(() => decodeReply(spec.reply, wire, "s")).toThrow(
      expect.objectContaining({
        name: "BusHandlerError",
        remoteCode: "DB_UNAVAILABLE",
        retryable: true,
        sipStatus: 503,
      }),
    );
    const bug = encodeHandlerErrorReply(Object.assign(new TypeError("boom"), { retryable: "yes" }));
    expect(() => decodeReply(spec.reply, bug, "s")).toThrow(
      expect.objectContaining({ name: "BusHandlerError", retryable: false, sipStatus: 500 }),
    );
  });

  it.each(["", "null", "[]", '{"ok":"yes"}', '{"ok":true,"value":{"bindings":1}}', '{"ok":false}'])(
    "rejects a malformed reply %j with a local BusDecodeError",
    (wire) => {
      expect(() => decodeReply(spec.reply, wire, "s")).toThrow(
        expect.objectContaining({ name: "BusDecodeError", remote: false }),
      );
    },
  );
});

describe("catalogue", () => {
  it("lists every subject once", () => {
    const subjects = catalogue.map((e) => e.subject);
    expect(new Set(subjects).size).toBe(subjects.length);
    expect(subjects).toEqual([
      "registrar.register",
      "registrar.domains",
      "registrar.directory",
      "redirect.resolve",
      "location.lookup",
      "edge.{edgeId}.deliver",
      "edge.{edgeId}.response",
      "binding.changed",
      "domains.changed",
      "credentials.changed",
      "forwarding.changed",
      "calls.event",
      "edge.up",
      "edge.heartbeat",
      "edge.down",
    ]);
  });

  it("addresses edges by a single subject token", () => {
    expect(requests.edgeDeliver("edge-01_a").subject).toBe("edge.edge-01_a.deliver");
    for (const bad of ["", "a.b", "*", ">", "a b", "x".repeat(129)]) {
      expect(() => requests.edgeDeliver(bad)).toThrow(TypeError);
    }
  });
});
