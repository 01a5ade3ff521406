import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { chromiumMissing, type PageEvent, WebBrowser, type WebPhone } from "./test/browser.js";
import { type PlatformProcess, startPlatformProcess } from "./test/platform-process.js";
import { headerValues, isLooseRouteTo, uris } from "./test/routes.js";
import {
  freeUdpPort,
  registerSippUser,
  type SippUas,
  sippMissing,
  startWebRtcUas,
} from "./test/sipp-phone.js";

/**
 * Browsers as phones: JsSIP (the library most WebRTC softphones build on) in headless Chromium,
 * registered with the one-process platform over SIP over WebSocket (RFC 7118). Two pages call each
 * other, one calls a UDP phone (SIPp), one sends the other a MESSAGE (RFC 3428). The platform
 * reaches a browser only over the browser's own WebSocket connection: the Contact a browser
 * registers (`sip:…@….invalid;transport=ws`) names no reachable host (RFC 7118 §5).
 *
 * JsSIP answers only MD5 digest challenges, so the platform runs with `DIGEST_ALGORITHMS=MD5`.
 * WebRTC is set up for real (getUserMedia from Chromium's fake device, SDP offer/answer) but
 * gathers no ICE candidates: no media flows, only the SIP dialogs are under test.
 */
const DOMAIN = "example.test";
const STEP_MS = 20_000;
const USERS = {
  alice: "wonderland",
  bob: "builder-pw",
  carol: "carol-pw",
} as const;

const missing = chromiumMissing();
const noSipp = sippMissing();
if (missing) console.warn(`browser.e2e: skipped: ${missing}`);

describe.skipIf(missing !== undefined)(
  `browsers (JsSIP in headless Chromium) over WebSocket through the one-process platform${missing ? ` [skipped: ${missing}]` : ""}`,
  () => {
    let platform: PlatformProcess;
    let browser: WebBrowser;
    let alice: WebPhone;
    let bob: WebPhone;
    let ws = "";
    const uas: SippUas[] = [];
    const ids: Record<string, string> = {};

    const isPlatformWs = (uri: string) => isLooseRouteTo(uri, platform.host, platform.sip.ws);
    const dumpOnFailure = () =>
      onTestFailed(() => {
        for (const p of [alice, bob]) if (p) console.error(`--- ${p.name} log:\n${p.log()}`);
        console.error(`--- the platform printed:\n${platform.output()}`);
      });

    beforeAll(async () => {
      platform = await startPlatformProcess({ DIGEST_ALGORITHMS: "MD5" });
      await platform.addDomain(DOMAIN);
      for (const [user, password] of Object.entries(USERS))
        ids[user] = await platform.addSubscriber(user, DOMAIN, password);
      ws = `ws://${platform.host}:${platform.sip.ws}`;
      browser = await WebBrowser.start();
      alice = await browser.newPhone("alice");
      bob = await browser.newPhone("bob");
    }, 90_000);

    afterAll(async () => {
      for (const u of uas.splice(0)) await u.stop();
      await browser?.close();
      await platform?.stop();
    }, 60_000);

    it("answers the WebSocket handshake with the `sip` subprotocol (RFC 7118 §4.1)", async () => {
      // The browser fails a handshake whose answer names another subprotocol; one that names none
      // opens, so the agreed protocol is checked here, not left to JsSIP.
      expect(await alice.subprotocol(ws)).toEqual({ type: "open", protocol: "sip" });
    });

    it("registers two browsers over WebSocket", async () => {
      dumpOnFailure();
      await alice.register({ ws, uri: `sip:alice@${DOMAIN}`, password: USERS.alice }, STEP_MS);
      await bob.register({ ws, uri: `sip:bob@${DOMAIN}`, password: USERS.bob }, STEP_MS);
      const regs = await registrations("bob");
      expect(regs).toHaveLength(1);
      expect(regs[0]!.transport).toBe("ws");
      expect(regs[0]!.contact).toMatch(/^sip:[^@]+@[^;]+\.invalid;transport=ws$/);
      expect(regs[0]!.userAgent).toBe(`JsSIP e2e (sip:bob@${DOMAIN})`);
    }, 60_000);

    it("browser A calls browser B, B answers, both confirm, A holds and resumes, A hangs up and both see the end", async () => {
      dumpOnFailure();
      const a0 = (await alice.events()).length;
      const b0 = (await bob.events()).length;
      await alice.call(`sip:bob@${DOMAIN}`);
      const outgoing = await alice.waitForEvent(isSession("newSession", "local"), STEP_MS, a0);
      const incoming = await bob.waitForEvent(isSession("newSession", "remote"), STEP_MS, b0);
      expect(incoming.remote).toBe(`sip:alice@${DOMAIN}`);
      // The platform stays in the dialog on both sides (RFC 3261 §16.6 step 4), and names its
      // WebSocket listener for them: B's INVITE and A's 2xx carry that Record-Route.
      expect(uris(incoming.recordRoute ?? []).some(isPlatformWs)).toBe(true);
      // 'confirmed': the 2xx went out and the ACK reached the callee (JsSIP's "call is up").
      await confirmed(alice, outgoing, a0);
      await confirmed(bob, incoming, b0);
      const accepted = await alice.waitForEvent(
        isSession("accepted", "remote", outgoing.session),
        STEP_MS,
        a0,
      );
      expect(uris(accepted.recordRoute ?? []).some(isPlatformWs)).toBe(true);

      // Hold and resume: re-INVITEs inside the dialog from A to B over both WebSockets (B emits
      // 'hold'/'unhold' when one arrives), each 2xx back to A.
      await alice.hold(outgoing.session!);
      await bob.waitForEvent(isSession("hold", "remote", incoming.session), STEP_MS, b0);
      await alice.waitForEvent(isSession("holdAnswered", undefined, outgoing.session), STEP_MS, a0);
      await alice.unhold(outgoing.session!);
      await bob.waitForEvent(isSession("unhold", "remote", incoming.session), STEP_MS, b0);
      await alice.waitForEvent(isSession("unholdAnswered", undefined, outgoing.session), STEP_MS, a0);

      await alice.hangup(outgoing.session!);
      const endedHere = await alice.waitForEvent(
        isSession("ended", undefined, outgoing.session),
        STEP_MS,
        a0,
      );
      expect(endedHere).toMatchObject({ originator: "local", cause: "Terminated" });
      // B's 'ended' with originator remote: A's BYE was routed to B over B's own WebSocket.
      const endedThere = await bob.waitForEvent(isSession("ended", undefined, incoming.session), STEP_MS, b0);
      expect(endedThere).toMatchObject({ originator: "remote", cause: "Terminated" });
    }, 90_000);

    it.skipIf(noSipp !== undefined)(
      `browser A calls a SIP phone on UDP (SIPp), the call is confirmed, A hangs up${noSipp ? ` [skipped: ${noSipp}]` : ""}`,
      async () => {
        dumpOnFailure();
        const port = await freeUdpPort();
        await registerSippUser({
          port,
          user: "carol",
          domain: DOMAIN,
          password: USERS.carol,
          proxy: { host: platform.host, port: platform.sip.udp },
        });
        const phone = await startWebRtcUas(port);
        uas.push(phone);
        onTestFailed(async () => console.error(`--- SIPp UAS messages:\n${await phone.messages()}`));

        const a0 = (await alice.events()).length;
        await alice.call(`sip:carol@${DOMAIN}`);
        const outgoing = await alice.waitForEvent(isSession("newSession", "local"), STEP_MS, a0);
        await confirmed(alice, outgoing, a0);
        const accepted = await alice.waitForEvent(
          isSession("accepted", "remote", outgoing.session),
          STEP_MS,
          a0,
        );
        expect(uris(accepted.recordRoute ?? []).some(isPlatformWs)).toBe(true);

        await alice.hangup(outgoing.session!);
        expect(
          await alice.waitForEvent(isSession("ended", undefined, outgoing.session), STEP_MS, a0),
        ).toMatchObject({
          originator: "local",
        });
        // SIPp exits 0 only after INVITE → 180 → 200 → ACK → BYE → 200 in that order.
        await phone.done;
        const messages = await phone.messages();
        const invite = messages.indexOf(`INVITE sip:carol@127.0.0.1:${port}`);
        expect(invite, "SIPp got the INVITE at its registered Contact").toBeGreaterThanOrEqual(0);
        // The UDP side of the platform's Record-Route pair (RFC 5658 double record-routing).
        const inviteHead = messages.slice(invite, messages.indexOf("\r\n\r\n", invite));
        const isPlatformUdp = (u: string) => isLooseRouteTo(u, platform.host, platform.sip.udp);
        expect(uris(headerValues(inviteHead, "Record-Route")).some(isPlatformUdp)).toBe(true);
        expect(messages).toMatch(/^BYE sip:callee@127\.0\.0\.1:\d+/m);
      },
      90_000,
    );

    it("a MESSAGE from browser A reaches browser B", async () => {
      dumpOnFailure();
      const a0 = (await alice.events()).length;
      const b0 = (await bob.events()).length;
      const text = `hello bob, it is ${new Date().toISOString()}`;
      await alice.message(`sip:bob@${DOMAIN}`, text);
      const received = await bob.waitForEvent((e) => e.type === "newMessage", STEP_MS, b0);
      expect(received).toMatchObject({ remote: `sip:alice@${DOMAIN}`, body: text });
      // A's MESSAGE transaction got B's 2xx back through the platform.
      const outcome = await alice.waitForEvent(
        (e) => e.type === "messageSucceeded" || e.type === "messageFailed",
        STEP_MS,
        a0,
      );
      expect(outcome.type).toBe("messageSucceeded");
    }, 60_000);

    async function registrations(user: keyof typeof USERS) {
      const res = await platform.api("GET", `/v1/subscribers/${ids[user]}/registrations`);
      expect(res.status).toBe(200);
      return res.json as Array<{ contact: string; transport: string; userAgent: string | null }>;
    }
  },
);

/** A session event of this type (and originator, and session), as the page recorded it. */
function isSession(type: string, originator?: string, session?: number) {
  return (e: PageEvent) =>
    e.type === type &&
    (originator === undefined || e.originator === originator) &&
    (session === undefined || e.session === session);
}

/**
 * Waits until the session is confirmed, or fails at once when it fails or ends first (with JsSIP's
 * cause, e.g. "SIP Failure Code", "Not Found", "RTP Timeout").
 */
async function confirmed(phone: WebPhone, session: PageEvent, since: number): Promise<void> {
  const e = await phone.waitForEvent(
    (e) => e.session === session.session && ["confirmed", "failed", "ended"].includes(e.type),
    STEP_MS,
    since,
  );
  expect(e, `${phone.name}: session ${session.session}`).toMatchObject({ type: "confirmed" });
}
