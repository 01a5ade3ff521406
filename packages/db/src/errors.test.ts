import { describe, expect, it } from "vitest";
import { asUnavailable, DatabaseUnavailableError, driverErrorOf, isUnavailable } from "./errors.js";

const withCode = (code: string, message = "x") => Object.assign(new Error(message), { code });
/** drizzle ≥ 0.44 wraps driver errors: "Failed query: …" with the driver's error as cause. */
const wrapped = (cause: Error) => new Error("Failed query: select 1", { cause });

describe("isUnavailable", () => {
  it.each([
    ["ECONNREFUSED", withCode("ECONNREFUSED"), true],
    ["ENOTFOUND (DNS)", withCode("ENOTFOUND"), true],
    ["ETIMEDOUT", withCode("ETIMEDOUT"), true],
    ["08006 connection failure", withCode("08006"), true],
    ["57P01 admin shutdown", withCode("57P01"), true],
    ["57P03 cannot connect now (starting up)", withCode("57P03"), true],
    ["57014 statement timeout", withCode("57014"), true],
    ["53300 too many connections", withCode("53300"), true],
    ["28P01 bad password", withCode("28P01"), true],
    ["3D000 no such database", withCode("3D000"), true],
    ["pg-pool connect timeout", new Error("timeout exceeded when trying to connect"), true],
    ["pg connection terminated", new Error("Connection terminated unexpectedly"), true],
    ["PGlite closed", new Error("PGlite is closed"), true],
    ["wrapped by drizzle", wrapped(withCode("ECONNREFUSED")), true],
    [
      "happy eyeballs",
      new AggregateError([withCode("ECONNREFUSED"), withCode("ECONNREFUSED")], "connect"),
      true,
    ],
    ["23505 unique violation", withCode("23505"), false],
    ["42P01 undefined table", wrapped(withCode("42P01")), false],
    ["22P02 bad uuid text", withCode("22P02"), false],
    ["a plain bug", new TypeError("cannot read x of undefined"), false],
    ["not an error", "ECONNREFUSED", false],
  ])("%s → %s", (_what, error, expected) => {
    expect(isUnavailable(error)).toBe(expected);
  });
});

describe("asUnavailable", () => {
  it("wraps with the location and the driver's code, keeping the cause", () => {
    const cause = wrapped(withCode("ECONNREFUSED", "connect ECONNREFUSED 127.0.0.1:1"));
    const e = asUnavailable(cause, "postgres://sip@127.0.0.1:1/sip");
    expect(e).toBeInstanceOf(DatabaseUnavailableError);
    expect((e as Error).message).toBe(
      "database postgres://sip@127.0.0.1:1/sip is unavailable: ECONNREFUSED connect ECONNREFUSED 127.0.0.1:1",
    );
    expect((e as Error).cause).toBe(cause);
  });

  it("returns other errors unchanged", () => {
    const bug = new RangeError("bug");
    expect(asUnavailable(bug, "memory:")).toBe(bug);
  });

  it("finds the SQLSTATE under drizzle's wrapper", () => {
    expect(driverErrorOf(wrapped(withCode("23505")))?.code).toBe("23505");
  });
});
