import { EDGE_ID_PATTERN } from "@sip-platform/bus";
import { describe, expect, it } from "vitest";
import { newEdgeId } from "./edge-id.js";

describe("edge ids", () => {
  it.each(["host-1", "sip.edge.example.net", "weird host/name:01", "", "-".repeat(200), "h".repeat(300)])(
    "are one subject token for host %j",
    (host) => {
      expect(newEdgeId(host)).toMatch(EDGE_ID_PATTERN);
    },
  );

  it("differ on every start", () => {
    expect(newEdgeId("h")).not.toBe(newEdgeId("h"));
  });
});
