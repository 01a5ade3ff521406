import { describe, expect, expectTypeOf, it } from "vitest";
import { type Field, field, required } from "./field.js";
import type { Cidr } from "./net.js";
import { ConfigError, describeSchema, parseConfig, redact, requireTogether } from "./parse.js";
import * as v from "./validators.js";

const schema = {
  PORT: field.port({ default: 5060, describe: "SIP port" }),
  WORKERS: field.int({ default: 4, min: 1, max: 64, describe: "worker count" }),
  MODE: field.enum(["proxy", "redirect"], { required: true, describe: "what to run" }),
  NAME: field.string({ default: undefined, describe: "instance name" }),
  TOKEN: field.secret({ default: undefined, minLength: 8, describe: "API token" }),
  UPSTREAM: field.url({ default: undefined, protocols: ["postgres:"], describe: "database" }),
  ALGS: field.list(v.oneOf(["MD5", "SHA-256"]), { default: ["MD5"], unique: true, describe: "algorithms" }),
  NETS: field.cidrs({ default: ["10.0.0.0/8"], describe: "trusted" }),
  BIND: field.ip({ default: "0.0.0.0", describe: "bind address" }),
};

describe("parseConfig", () => {
  it("infers the value types from the schema", () => {
    const c = parseConfig(schema, { MODE: "proxy" });
    expectTypeOf(c.PORT).toEqualTypeOf<number>();
    expectTypeOf(c.MODE).toEqualTypeOf<"proxy" | "redirect">();
    expectTypeOf(c.NAME).toEqualTypeOf<string | undefined>();
    expectTypeOf(c.TOKEN).toEqualTypeOf<string | undefined>();
    expectTypeOf(c.ALGS).toEqualTypeOf<readonly ("MD5" | "SHA-256")[]>();
    expectTypeOf(c.NETS).toEqualTypeOf<readonly Cidr[]>();
    expectTypeOf(required(schema.TOKEN)).toEqualTypeOf<Field<string, "required">>();
    expectTypeOf(parseConfig({ T: required(schema.TOKEN) }, { T: "12345678" }).T).toEqualTypeOf<string>();
  });

  it("fills every default and freezes the result", () => {
    const c = parseConfig(schema, { MODE: "redirect" });
    expect(c).toEqual({
      PORT: 5060,
      WORKERS: 4,
      MODE: "redirect",
      NAME: undefined,
      TOKEN: undefined,
      UPSTREAM: undefined,
      ALGS: ["MD5"],
      NETS: [{ family: 4, address: "10.0.0.0", prefixLength: 8, text: "10.0.0.0/8" }],
      BIND: "0.0.0.0",
    });
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.ALGS)).toBe(true);
    expect(Object.isFrozen(c.NETS[0])).toBe(true);
    expect(() => {
      (c as { PORT: number }).PORT = 1;
    }).toThrow(TypeError);
  });

  it.each([
    [{ MODE: "proxy", PORT: " 5080 " }, { PORT: 5080 }],
    [{ MODE: "PROXY" }, { MODE: "proxy" }],
    [{ MODE: "proxy", PORT: "" }, { PORT: 5060 }],
    [{ MODE: "proxy", NAME: "   " }, { NAME: undefined }],
    [{ MODE: "proxy", ALGS: "SHA-256,MD5" }, { ALGS: ["SHA-256", "MD5"] }],
    [{ MODE: "proxy", TOKEN: " secret with spaces " }, { TOKEN: " secret with spaces " }],
    [{ MODE: "proxy", BIND: "::" }, { BIND: "::" }],
    [{ MODE: "proxy", UPSTREAM: "postgres://db/sip" }, { UPSTREAM: "postgres://db/sip" }],
  ] as const)("env %j gives %j", (env, expected) => {
    expect(parseConfig(schema, env)).toMatchObject(expected);
  });

  it("collects every problem, names each variable, says what was expected", () => {
    const env = {
      PORT: "70000",
      WORKERS: "many",
      TOKEN: "short",
      UPSTREAM: "mysql://x",
      ALGS: "MD5,SHA-1",
      NETS: "10.0.0.1/8",
      BIND: "localhost",
    };
    let error: unknown;
    try {
      parseConfig(schema, env);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const issues = (error as ConfigError).issues;
    expect(issues.map((i) => i.variable)).toEqual([
      "PORT",
      "WORKERS",
      "MODE",
      "TOKEN",
      "UPSTREAM",
      "ALGS",
      "NETS",
      "BIND",
    ]);
    expect(issues).toContainEqual({
      variable: "PORT",
      problem: "70000 is above 65535",
      expected: "a port number 0-65535 (SIP port)",
    });
    expect(issues).toContainEqual({
      variable: "MODE",
      problem: "is not set",
      expected: "one of proxy, redirect (what to run)",
    });
    expect(issues.find((i) => i.variable === "TOKEN")?.problem).toBe("is 5 characters long, shorter than 8");
    const message = (error as ConfigError).message;
    expect(message).toMatch(
      /^invalid configuration \(8 problems\):\n {2}PORT: 70000 is above 65535; expected/,
    );
    expect(message).toContain('ALGS: item 2: "SHA-1" is not allowed; expected a comma-separated list');
    expect(message).toContain("NETS: host bits are set below /8 (the block is 10.0.0.0/8)");
  });

  it("never prints a secret's value, nor credentials in a URL", () => {
    const s = {
      KEY: field.secret({ required: true, minLength: 40, describe: "HMAC key" }),
      DB: field.url({ default: undefined, protocols: ["postgres:"], describe: "db" }),
    };
    try {
      parseConfig(s, { KEY: "hunter2-hunter2", DB: "mysql://admin:topsecretpw@db/x" });
      expect.unreachable();
    } catch (e) {
      const text = `${(e as Error).message} ${JSON.stringify((e as ConfigError).issues)}`;
      expect(text).not.toContain("hunter2");
      expect(text).not.toContain("topsecretpw");
      expect(text).toContain("KEY: is 15 characters long, shorter than 40");
    }
  });

  it("reports an empty required variable as empty", () => {
    expect(() => parseConfig(schema, { MODE: " " })).toThrow("MODE: is empty");
  });

  it("ignores variables outside the schema", () => {
    expect(parseConfig({ PORT: schema.PORT }, { PORT: "1", HOME: "/root" })).toEqual({ PORT: 1 });
  });

  it("runs rules once their variables parsed, and reports them with the rest", () => {
    const s = {
      CERT: field.string({ default: undefined, describe: "cert" }),
      KEY: field.string({ default: undefined, describe: "key" }),
      PORT: schema.PORT,
    };
    const rules = [requireTogether("CERT", "KEY")];
    expect(parseConfig(s, {}, { rules })).toMatchObject({ CERT: undefined, KEY: undefined });
    expect(parseConfig(s, { CERT: "c", KEY: "k" }, { rules })).toMatchObject({ CERT: "c", KEY: "k" });
    try {
      parseConfig(s, { CERT: "c", PORT: "x" }, { rules });
      expect.unreachable();
    } catch (e) {
      expect((e as ConfigError).issues).toEqual([
        expect.objectContaining({ variable: "PORT" }),
        {
          variable: "CERT, KEY",
          problem: "CERT is set but KEY is not",
          expected: "CERT and KEY set together or not at all",
        },
      ]);
    }
  });

  it("refuses a bad default when the schema is built", () => {
    expect(() => field.port({ default: 70000, describe: "p" })).toThrow(
      /default of port field "p" is invalid/,
    );
    expect(() => field.cidrs({ default: ["10.0.0.1/8"], describe: "c" })).toThrow(/host bits/);
    expect(() => field.list(v.port(), { default: [], describe: "l" })).toThrow(/fewer than 1/);
  });
});

describe("redact", () => {
  it("hides secrets and URL credentials, prints CIDR blocks as text", () => {
    const c = parseConfig(schema, {
      MODE: "proxy",
      TOKEN: "s3cr3t-t0ken",
      UPSTREAM: "postgres://sip:pw@db:5432/sip",
    });
    const r = redact(c);
    expect(r).toMatchObject({
      TOKEN: "***",
      UPSTREAM: "postgres://sip:***@db:5432/sip",
      NETS: ["10.0.0.0/8"],
      PORT: 5060,
    });
    expect(JSON.stringify(r)).not.toContain("s3cr3t");
    expect(JSON.stringify(r)).not.toContain(":pw@");
  });

  it("leaves an unset secret unset", () => {
    expect(redact(parseConfig(schema, { MODE: "proxy" })).TOKEN).toBeUndefined();
  });

  it("refuses objects that parseConfig did not return", () => {
    expect(() => redact({ TOKEN: "x" })).toThrow(TypeError);
  });

  it("keeps the schema out of JSON", () => {
    const c = parseConfig(schema, { MODE: "proxy" });
    expect(JSON.parse(JSON.stringify(c))).toEqual({
      PORT: 5060,
      WORKERS: 4,
      MODE: "proxy",
      ALGS: ["MD5"],
      NETS: [{ family: 4, address: "10.0.0.0", prefixLength: 8, text: "10.0.0.0/8" }],
      BIND: "0.0.0.0",
    });
    expect(Object.getOwnPropertySymbols(c)).toHaveLength(1);
  });
});

describe("describeSchema", () => {
  it("lists each variable with its default as the environment spells it", () => {
    const rows = describeSchema(schema);
    expect(rows.find((r) => r.variable === "NETS")).toEqual({
      variable: "NETS",
      kind: "cidrs",
      presence: "default",
      default: "10.0.0.0/8",
      describe: "trusted",
      expected: expect.stringContaining("CIDR block"),
    });
    expect(rows.find((r) => r.variable === "MODE")).toMatchObject({
      presence: "required",
      default: undefined,
    });
    expect(rows.find((r) => r.variable === "TOKEN")).toMatchObject({ kind: "secret", presence: "optional" });
  });
});
