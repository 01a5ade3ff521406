/**
 * Calls through the one-process platform (`pnpm start`) with SIPp phones over UDP, provisioned
 * over REST: the 407, the call and BYE from either side, forking, CANCEL, re-INVITE, MESSAGE, the
 * error answers (404, 480, 483, 482), call forwarding (always, busy, no answer) and the call
 * records `GET /v1/calls` shows afterwards.
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SippPhones, type SippScenario } from "@sip-platform/fixtures/sipp";
import { loopHash } from "@sip-platform/proxy-core";
import { parseMessage, type SipRequest } from "@sip-platform/sip";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PlatformProcess, startPlatformProcess } from "./test/platform-process.js";
import { waitFor } from "./test/processes.js";
import { finalAnswerTo } from "./test/udp-uac.js";

const DOMAIN = "example.test";
const USERS = {
  alice: "wonderland",
  bob: "builder-pw",
  carol: "carol-pw",
  dave: "dave-pw",
  erin: "erin-pw",
  frank: "frank-pw",
  grace: "grace-pw",
} as const;
type User = keyof typeof USERS;

let platform: PlatformProcess;
const ids: Partial<Record<User, string>> = {};
let dir: string;

const edge = () => ({ host: "127.0.0.1", port: platform.sip.udp });

let phones: SippPhones;
const registered = (user: User) => phones.registered(user);
const callee = (scenario: SippScenario, port: number) => phones.callee(scenario, port);
const caller = (scenario: SippScenario, from: User, to: string, pauseMs?: number) =>
  phones.call(scenario, from, to, pauseMs);

interface CallRecord {
  callId: string;
  from: string;
  to: string;
  startedAt: string;
  answeredAt: string | null;
  endedAt: string | null;
  durationMs: number | null;
  status: number;
  endReason: string | null;
}

async function calls(): Promise<CallRecord[]> {
  const res = await platform.api("GET", "/v1/calls?limit=100");
  expect(res.status).toBe(200);
  return (res.json as { items: CallRecord[] }).items;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "platform-calls-"));
  platform = await startPlatformProcess({ DIGEST_ALGORITHMS: "MD5" });
  phones = new SippPhones(edge, DOMAIN, USERS, dir);
  await platform.addDomain(DOMAIN);
  for (const [user, password] of Object.entries(USERS)) {
    ids[user as User] = await platform.addSubscriber(user, DOMAIN, password);
  }
}, 40_000);

afterAll(async () => {
  await platform?.stop();
});

describe("calls through the one-process platform", () => {
  it("alice calls bob (407, 180, 200, ACK, BYE from the caller) and one call record appears with its duration", async () => {
    const uas = callee("call-uas", await registered("bob"));
    const before = (await calls()).length;
    await caller("call-uac-auth", "alice", "bob", 1_000);
    await uas.done;
    const record = await waitFor("the call record", 10_000, async () => {
      const list = await calls();
      return list.length > before && list[0]!.endedAt !== null ? list[0] : undefined;
    });
    expect(record).toMatchObject({ status: 200, endReason: "caller-bye" });
    expect(record!.from).toContain("alice@example.test");
    expect(record!.to).toContain("bob@example.test");
    expect(record!.durationMs).toBeGreaterThanOrEqual(900);
    expect(record!.durationMs).toBeLessThan(10_000);
    expect((await calls()).filter((c) => c.callId === record!.callId)).toHaveLength(1);
  });

  it("bob hangs up: his BYE reaches alice", async () => {
    const uas = callee("call-uas-bye", await registered("bob"));
    await caller("call-uac-bye-wait", "alice", "bob");
    await uas.done;
  });

  it("forks to both of bob's phones: one answers, the other gets CANCEL", async () => {
    const ringing = callee("call-uas-noanswer", await registered("bob"));
    const answering = callee("call-uas", await registered("bob"));
    await caller("call-uac-auth", "alice", "bob");
    await answering.done;
    await ringing.done;
    // Both bindings stay; unregister them so the other tests see one phone per user.
    const del = await platform.api("DELETE", `/v1/subscribers/${ids.bob}/registrations`);
    expect([200, 204]).toContain(del.status);
  });

  it("CANCEL before the answer: 200 for the CANCEL, 487 for the INVITE", async () => {
    const uas = callee("call-uas-noanswer", await registered("carol"));
    await caller("call-uac-cancel", "alice", "carol");
    await uas.done;
  });

  it("a re-INVITE in the dialog is routed without a new challenge", async () => {
    const uas = callee("call-reinvite-uas", await registered("dave"));
    await caller("call-reinvite-uac", "alice", "dave");
    await uas.done;
  });

  it("MESSAGE is delivered to the registered user", async () => {
    const uas = callee("call-message-uas", await registered("dave"));
    await caller("call-message", "alice", "dave");
    await uas.done;
  });

  it.each([
    ["an unknown user", "nobody", 404],
    ["a known user who is not registered", "erin", 480],
  ])("calling %s (%s) → %i", async (_what, to, status) => {
    const res = await finalAnswerTo({
      port: platform.sip.udp,
      user: "alice",
      password: USERS.alice,
      domain: DOMAIN,
      callee: to,
    });
    expect(res.status).toBe(status);
  });

  it("Max-Forwards 0 → 483", async () => {
    const res = await finalAnswerTo({
      port: platform.sip.udp,
      user: "alice",
      password: USERS.alice,
      domain: DOMAIN,
      callee: "bob",
      maxForwards: 0,
    });
    expect(res.status).toBe(483);
  });

  it("a request that comes back with our Via and the same loop hash → 482", async () => {
    const callId = "loop-test@127.0.0.1";
    const fromTag = "loop-tag";
    const uri = `sip:bob@${DOMAIN}`;
    const probe = parseMessage(
      `INVITE ${uri} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKx\r\nFrom: <sip:alice@${DOMAIN}>;tag=${fromTag}\r\nTo: <${uri}>\r\nCall-ID: ${callId}\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n`,
    ) as SipRequest;
    const ours = `Via: SIP/2.0/UDP 127.0.0.1:${platform.sip.udp};branch=z9hG4bK${loopHash(probe)}.abcdef;rport`;
    const res = await finalAnswerTo({
      port: platform.sip.udp,
      user: "alice",
      password: USERS.alice,
      domain: DOMAIN,
      callee: "bob",
      callId,
      fromTag,
      extra: [ours],
    });
    expect(res.status).toBe(482);
  });
});

describe("call forwarding over REST", () => {
  it("always: a call to frank rings bob", async () => {
    expect(
      (await platform.api("PUT", `/v1/subscribers/${ids.frank}/forwarding`, { always: `sip:bob@${DOMAIN}` }))
        .status,
    ).toBe(200);
    const uas = callee("call-uas", await registered("bob"));
    await caller("call-uac-auth", "alice", "frank");
    await uas.done;
    await platform.api("DELETE", `/v1/subscribers/${ids.frank}/forwarding`);
    await platform.api("DELETE", `/v1/subscribers/${ids.bob}/registrations`);
  });

  it("busy: grace's 486 sends the call to bob", async () => {
    expect(
      (await platform.api("PUT", `/v1/subscribers/${ids.grace}/forwarding`, { busy: `sip:bob@${DOMAIN}` }))
        .status,
    ).toBe(200);
    const busy = callee("call-uas-busy", await registered("grace"));
    const uas = callee("call-uas", await registered("bob"));
    await caller("call-uac-auth", "alice", "grace");
    await busy.done;
    await uas.done;
    await platform.api("DELETE", `/v1/subscribers/${ids.grace}/registrations`);
    await platform.api("DELETE", `/v1/subscribers/${ids.bob}/registrations`);
  });

  it("no answer: after 1 s of ringing the branch is cancelled and the call goes to bob", async () => {
    expect(
      (
        await platform.api("PUT", `/v1/subscribers/${ids.grace}/forwarding`, {
          noAnswer: { target: `sip:bob@${DOMAIN}`, afterSeconds: 1 },
        })
      ).status,
    ).toBe(200);
    const ringing = callee("call-uas-noanswer", await registered("grace"));
    const uas = callee("call-uas", await registered("bob"));
    await caller("call-uac-auth", "alice", "grace");
    await ringing.done;
    await uas.done;
  });

  it("a forwarding loop (frank → erin → frank) is stopped with 482", async () => {
    await platform.api("PUT", `/v1/subscribers/${ids.frank}/forwarding`, { always: `sip:erin@${DOMAIN}` });
    await platform.api("PUT", `/v1/subscribers/${ids.erin}/forwarding`, { always: `sip:frank@${DOMAIN}` });
    const res = await finalAnswerTo({
      port: platform.sip.udp,
      user: "alice",
      password: USERS.alice,
      domain: DOMAIN,
      callee: "frank",
    });
    expect(res.status).toBe(482);
  });
});
