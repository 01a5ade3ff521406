import { fc, test } from "@fast-check/vitest";
import { sipMessage } from "@sip-platform/fixtures/messages";
import { createResponse, parseMessage, type SipRequest, type SipResponse } from "@sip-platform/sip";
import { describe, expect, it } from "vitest";
import { aggregateChallenges, chooseBest, groupByQ, upstreamStatus } from "./best-response.js";

const invite = parseMessage(
  sipMessage([
    "INVITE sip:bob@example.test SIP/2.0",
    "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKproxy1;rport",
    "Via: SIP/2.0/UDP 198.51.100.7:5062;branch=z9hG4bKcaller1;rport",
    "Max-Forwards: 69",
    "From: <sip:alice@example.test>;tag=ft1",
    "To: <sip:bob@example.test>",
    "Call-ID: best-1@198.51.100.7",
    "CSeq: 1 INVITE",
    "Content-Length: 0",
  ]),
) as SipRequest;

/** A final response as a branch would send it; `n` makes equal statuses tell apart (To tag). */
function res(status: number, n = 0, headers: ReadonlyArray<readonly [string, string]> = []): SipResponse {
  return createResponse(invite, status, { toTag: `t${status}-${n}`, headers });
}

describe("chooseBest (RFC 3261 §16.7 step 6)", () => {
  it.each([
    ["nothing received", [], undefined],
    ["a single response", [486], 486],
    ["a 6xx wins over anything", [404, 603, 500], 603],
    ["the first 6xx of several", [600, 603], 600],
    ["a 6xx even after a 3xx", [302, 604], 604],
    ["the lowest class: 3xx over 4xx", [486, 302], 302],
    ["the lowest class: 4xx over 5xx", [503, 404], 404],
    ["within a class the first received", [486, 404, 480], 486],
    ["401 preferred within 4xx", [486, 401, 404], 401],
    ["407 preferred within 4xx", [404, 407], 407],
    ["415 preferred within 4xx", [480, 415], 415],
    ["420 preferred within 4xx", [480, 420], 420],
    ["484 preferred within 4xx", [480, 484], 484],
    ["the first of two informative ones", [486, 407, 401], 407],
    ["an informative 4xx does not beat a lower class", [407, 302], 302],
    ["a 5xx after an informative 4xx changes nothing", [407, 500], 407],
  ])("%s", (_name, input, expected) => {
    const rs = input.map((s, i) => res(s, i));
    expect(chooseBest(rs)?.status).toBe(expected);
  });

  it("returns one of the responses it was given, not a copy", () => {
    const rs = [res(486), res(404)];
    expect(chooseBest(rs)).toBe(rs[0]);
  });

  const finals = fc.array(fc.integer({ min: 300, max: 699 }), { minLength: 1, maxLength: 8 });

  test.prop([finals])("the choice follows the §16.7 rules for any list", (codes) => {
    const rs = codes.map((s, i) => res(s, i));
    const best = chooseBest(rs)!;
    const sixes = rs.filter((r) => r.status >= 600);
    if (sixes.length > 0) {
      expect(best).toBe(sixes[0]);
      return;
    }
    const lowest = Math.min(...codes.map((s) => Math.floor(s / 100)));
    expect(Math.floor(best.status / 100)).toBe(lowest);
    const inClass = rs.filter((r) => Math.floor(r.status / 100) === lowest);
    const preferred = inClass.filter((r) => [401, 407, 415, 420, 484].includes(r.status));
    expect(best).toBe(preferred[0] ?? inClass[0]);
  });
});

describe("aggregateChallenges (§16.7 step 7)", () => {
  it("collects every Proxy-Authenticate and WWW-Authenticate of the 401s and 407s into the best", () => {
    const a = res(407, 1, [["Proxy-Authenticate", 'Digest realm="a.test", nonce="n1"']]);
    const b = res(407, 2, [
      ["Proxy-Authenticate", 'Digest realm="b.test", nonce="n2", algorithm=SHA-256'],
      ["Proxy-Authenticate", 'Digest realm="b.test", nonce="n3", algorithm=MD5'],
    ]);
    const c = res(401, 3, [["WWW-Authenticate", 'Digest realm="c.test", nonce="n4"']]);
    const other = res(486, 4, [["Proxy-Authenticate", 'Digest realm="ignored", nonce="n5"']]);
    aggregateChallenges(a, [a, other, b, c]);
    expect(a.headerLines("Proxy-Authenticate")).toEqual([
      'Digest realm="a.test", nonce="n1"',
      'Digest realm="b.test", nonce="n2", algorithm=SHA-256',
      'Digest realm="b.test", nonce="n3", algorithm=MD5',
    ]);
    expect(a.headerLines("WWW-Authenticate")).toEqual(['Digest realm="c.test", nonce="n4"']);
    // The other responses are left as they were.
    expect(b.headerLines("Proxy-Authenticate")).toHaveLength(2);
  });

  it("leaves a best response that is not a 401/407 alone", () => {
    const best = res(486);
    const challenge = res(407, 1, [["Proxy-Authenticate", 'Digest realm="a.test", nonce="n1"']]);
    aggregateChallenges(best, [best, challenge]);
    expect(best.hasHeader("Proxy-Authenticate")).toBe(false);
  });

  it("does not copy the best response's own challenges onto itself", () => {
    const best = res(401, 1, [["WWW-Authenticate", 'Digest realm="a.test", nonce="n1"']]);
    aggregateChallenges(best, [best]);
    expect(best.headerLines("WWW-Authenticate")).toHaveLength(1);
  });
});

describe("upstreamStatus (§16.7 step 6)", () => {
  it.each([
    [503, 500],
    [500, 500],
    [502, 502],
    [504, 504],
    [486, 486],
    [200, 200],
  ])("%i goes upstream as %i", (status, expected) => {
    expect(upstreamStatus(status)).toBe(expected);
  });
});

describe("groupByQ (§16.6 serial and parallel forking)", () => {
  it("groups equal q, highest first, keeping the given order within a group; no q counts as 1", () => {
    const groups = groupByQ([
      { id: "a", q: 0.5 },
      { id: "b" },
      { id: "c", q: 1 },
      { id: "d", q: 0.1 },
      { id: "e", q: 0.5 },
    ]);
    expect(groups.map((g) => g.map((t) => t.id))).toEqual([["b", "c"], ["a", "e"], ["d"]]);
  });

  it("no targets, no groups", () => {
    expect(groupByQ([])).toEqual([]);
  });

  test.prop([fc.array(fc.record({ q: fc.option(fc.integer({ min: 0, max: 10 }).map((n) => n / 10)) }))])(
    "every target lands in exactly one group; q strictly decreases from group to group",
    (raw) => {
      const targets = raw.map((t, i) => ({ i, ...(t.q === null ? {} : { q: t.q }) }));
      const groups = groupByQ(targets);
      expect(
        groups
          .flat()
          .map((t) => t.i)
          .sort((a, b) => a - b),
      ).toEqual(targets.map((t) => t.i));
      const qs = groups.map((g) => {
        const q = g[0]!.q ?? 1;
        for (const t of g) expect(t.q ?? 1).toBe(q);
        // Within a group, the original order.
        expect(g.map((t) => t.i)).toEqual([...g.map((t) => t.i)].sort((a, b) => a - b));
        return q;
      });
      for (let k = 1; k < qs.length; k++) expect(qs[k]!).toBeLessThan(qs[k - 1]!);
    },
  );
});
