import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { Baresip, baresipMissing, type TracedMessage } from "./test/baresip.js";
import { Linphone, linphoneMissing } from "./test/linphone.js";
import {
  type PlatformProcess,
  selfSignedCertificate,
  startPlatformProcess,
} from "./test/platform-process.js";
import { type SipTransport, waitFor } from "./test/processes.js";
import { headerValues, isLooseRouteTo, uris } from "./test/routes.js";

/**
 * Two real phones call each other through the one-process platform (`pnpm start`): baresip
 * (Debian 12: 1.0.0) and linphonec (liblinphone 5.1), both headless, on different transports
 * (baresip UDP and linphonec TCP; baresip TCP and linphonec TLS, against a throwaway self-signed
 * certificate linphonec is told not to verify). baresip dials linphonec, which answers, and baresip
 * hangs up; then linphonec dials baresip, which answers, each puts the other on hold and resumes
 * (re-INVITEs both ways), and linphonec hangs up. Then a call the caller cancels while it rings,
 * and one the callee declines. Each step is confirmed from what the phones print, and baresip's
 * SIP trace shows that the platform stayed in the path (RFC 3261 §16.6 Record-Route, §12.2.1.1
 * in-dialog requests carry the Route set).
 *
 * The platform runs with `DIGEST_ALGORITHMS=MD5`: baresip 1.0.0 gives up on a challenge that also
 * offers SHA-256 (see phone.e2e.test.ts).
 */
const DOMAIN = "example.test";
/** Registration, ringing, answer and hang-up each get this long: phones on a busy 2-core box. */
const STEP_MS = 20_000;
const ALICE = { user: "alice", password: "wonderland" };
const BOB = { user: "bob", password: "builder-pw" };

const missing = baresipMissing() ?? linphoneMissing();
if (missing) console.warn(`calls-phones.e2e: skipped: ${missing}`);

describe.skipIf(missing !== undefined)(
  `calls between real phones (baresip, linphonec) through the one-process platform${missing ? ` [skipped: ${missing}]` : ""}`,
  () => {
    let platform: PlatformProcess;
    let certificate: Awaited<ReturnType<typeof selfSignedCertificate>> | undefined;
    const phones: Array<Baresip | Linphone> = [];

    beforeAll(async () => {
      certificate = await selfSignedCertificate();
      platform = await startPlatformProcess({
        DIGEST_ALGORITHMS: "MD5",
        SIP_TLS_CERT: certificate.cert,
        SIP_TLS_KEY: certificate.key,
      });
      await platform.addDomain(DOMAIN);
      for (const u of [ALICE, BOB]) await platform.addSubscriber(u.user, DOMAIN, u.password);
    }, 60_000);

    afterEach(async () => {
      for (const phone of phones.splice(0)) await phone.stop();
    }, 60_000);

    afterAll(async () => {
      await platform?.stop();
      await certificate?.remove();
    }, 60_000);

    /** On failure, everything each side printed: the phones' words and SIP traces, the platform's log. */
    const dumpOnFailure = () =>
      onTestFailed(() => {
        for (const p of phones) console.error(`--- ${p.cli.name} printed:\n${p.cli.output()}`);
        console.error(`--- the platform printed:\n${platform.output()}`);
      });

    const proxy = (transport: SipTransport) => {
      const port = platform.sip[transport];
      if (!port) throw new Error(`the platform has no ${transport} listener`);
      return { host: platform.host, port, transport };
    };

    for (const [baresipOver, linphoneOver] of [
      ["udp", "tcp"],
      ["tcp", "tls"],
    ] as const) {
      const title = `baresip (${baresipOver.toUpperCase()}) and linphonec (${linphoneOver.toUpperCase()}) call each other, each holds and resumes, each hangs up once`;
      it(title, async () => {
        dumpOnFailure();
        const alice = await Baresip.start({ ...ALICE, domain: DOMAIN, proxy: proxy(baresipOver) });
        phones.push(alice);
        const bob = await Linphone.start({ ...BOB, domain: DOMAIN, proxy: proxy(linphoneOver) });
        phones.push(bob);
        await alice.registered(STEP_MS);
        await bob.registered(STEP_MS);
        const aliceUri = `sip:alice@${DOMAIN}`;
        const bobUri = `sip:bob@${DOMAIN}`;
        /** Where baresip's requests go and its responses come from: the platform's listener. */
        const edge = `127.0.0.1:${platform.sip[baresipOver]}`;
        const isEdgeRoute = (u: string) => isLooseRouteTo(u, platform.host, platform.sip[baresipOver]);
        // A request to baresip comes from the platform's UDP socket, or over TCP/TLS on the
        // connection baresip opened or one the platform opened to baresip's listener (either may
        // be used, RFC 3261 §18.2.2 / RFC 5923), so only the host is fixed then.
        const fromEdge = (from: string) =>
          baresipOver === "udp" ? from === edge : from.startsWith(`${platform.host}:`);

        // Call 1: baresip → linphonec; linphonec answers; baresip hangs up.
        let a = alice.cli.mark();
        let b = bob.cli.mark();
        alice.dial(bobUri);
        const inbound = await bob.incoming(aliceUri, STEP_MS, b);
        bob.answer(inbound);
        await bob.connected(inbound, aliceUri, STEP_MS, b);
        await alice.established(bobUri, STEP_MS, a);

        // baresip's trace: the 2xx it got for its INVITE carries the platform's Record-Route (§16.6
        // step 4), so its ACK and BYE go to the platform with that Route set (§12.1.2, §12.2.1.1).
        const ok = alice.sipTrace(a).find((m) => isResponse(m, 200, "INVITE"));
        expect(ok, "baresip received a 200 OK for its INVITE").toBeDefined();
        expect(ok!.from).toBe(edge);
        const recordRoutes = uris(headerValues(ok!.head, "Record-Route"));
        expect(recordRoutes.some(isEdgeRoute)).toBe(true);

        a = alice.cli.mark();
        b = bob.cli.mark();
        alice.hangup();
        await alice.hungUp(bobUri, STEP_MS, a);
        expect(await bob.ended(inbound, aliceUri, STEP_MS, b)).toMatch(/ended \(No error\)\.$/);
        const bye = alice.sipTrace(a).find((m) => m.startLine.startsWith("BYE "));
        expect(bye, "baresip sent a BYE").toBeDefined();
        expect(bye!.to).toBe(edge);
        expect(uris(headerValues(bye!.head, "Route"))).toEqual(recordRoutes.slice().reverse());
        await waitForResponse(alice, 200, "BYE", a);

        // Call 2: linphonec → baresip; baresip answers; linphonec hangs up.
        a = alice.cli.mark();
        b = bob.cli.mark();
        bob.call(aliceUri);
        const outbound = await bob.calling(aliceUri, STEP_MS, b);
        await alice.incoming(bobUri, STEP_MS, a);
        alice.accept();
        await alice.established(bobUri, STEP_MS, a);
        await bob.connected(outbound, aliceUri, STEP_MS, b);
        const invite = alice.sipTrace(a).find((m) => m.startLine.startsWith("INVITE "));
        expect(invite, "baresip received the INVITE").toBeDefined();
        expect(fromEdge(invite!.from), `INVITE from ${invite!.from}`).toBe(true);
        expect(uris(headerValues(invite!.head, "Record-Route")).some(isEdgeRoute)).toBe(true);

        // Hold and resume from each side: four re-INVITEs inside the dialog, each routed by the
        // Route set (RFC 3261 §14.1, §16.12), each answered through the platform.
        a = alice.cli.mark();
        b = bob.cli.mark();
        bob.pause(outbound);
        await bob.paused(outbound, aliceUri, STEP_MS, b);
        await alice.reInvited(STEP_MS, a);
        b = bob.cli.mark();
        bob.resume(outbound);
        await bob.streamsRunning(outbound, aliceUri, STEP_MS, b);
        b = bob.cli.mark();
        a = alice.cli.mark();
        alice.hold();
        await bob.pausedByPeer(outbound, aliceUri, STEP_MS, b);
        await waitForResponse(alice, 200, "INVITE", a);
        b = bob.cli.mark();
        a = alice.cli.mark();
        alice.resume();
        await bob.streamsRunning(outbound, aliceUri, STEP_MS, b);
        await waitForResponse(alice, 200, "INVITE", a);
        const reInvite = alice.sipTrace(a).find((m) => m.startLine.startsWith("INVITE "));
        expect(reInvite, "baresip sent the resume re-INVITE").toBeDefined();
        expect(reInvite!.to).toBe(edge);
        expect(uris(headerValues(reInvite!.head, "Route")).some(isEdgeRoute)).toBe(true);

        a = alice.cli.mark();
        b = bob.cli.mark();
        bob.terminate(outbound);
        expect(await bob.ended(outbound, aliceUri, STEP_MS, b)).toMatch(/ended \(No error\)\.$/);
        // libre reports a BYE it received as ECONNRESET: baresip's words for "the peer hung up".
        expect(await alice.closedByPeer(bobUri, STEP_MS, a)).toBe(
          `${bobUri}: session closed: Connection reset by peer`,
        );
        const byeIn = alice.sipTrace(a).find((m) => m.startLine.startsWith("BYE "));
        expect(byeIn, "baresip received linphonec's BYE").toBeDefined();
        expect(fromEdge(byeIn!.from), `BYE from ${byeIn!.from}`).toBe(true);
      }, 180_000);
    }

    it("a caller that gives up cancels the ringing phone (487); a declined call reaches the caller (603)", async () => {
      dumpOnFailure();
      const alice = await Baresip.start({ ...ALICE, domain: DOMAIN, proxy: proxy("udp") });
      phones.push(alice);
      const bob = await Linphone.start({ ...BOB, domain: DOMAIN, proxy: proxy("tcp") });
      phones.push(bob);
      await alice.registered(STEP_MS);
      await bob.registered(STEP_MS);
      const aliceUri = `sip:alice@${DOMAIN}`;
      const bobUri = `sip:bob@${DOMAIN}`;

      // baresip hangs up while linphonec rings: CANCEL (RFC 3261 §9), which the platform answers
      // and passes on (§16.10); linphonec stops ringing and the INVITE ends with 487 (§9.2).
      let a = alice.cli.mark();
      let b = bob.cli.mark();
      alice.dial(bobUri);
      const ringing = await bob.incoming(aliceUri, STEP_MS, b);
      await alice.cli.waitForOutput(/^call: SIP Progress: 180 /m, "the 180 Ringing", STEP_MS, a);
      alice.hangup();
      expect(await bob.ended(ringing, aliceUri, STEP_MS, b)).toMatch(/ended \(Not answered\)\.$/);
      await waitForResponse(alice, 200, "CANCEL", a);
      await waitForResponse(alice, 487, "INVITE", a);

      // linphonec declines the next call: its 603 reaches baresip as the final answer (§16.7).
      a = alice.cli.mark();
      b = bob.cli.mark();
      alice.dial(bobUri);
      const declined = await bob.incoming(aliceUri, STEP_MS, b);
      bob.terminate(declined);
      expect(await bob.ended(declined, aliceUri, STEP_MS, b)).toMatch(/ended \(Call declined\)\.$/);
      expect(await alice.closedByPeer(bobUri, STEP_MS, a)).toBe(`${bobUri}: session closed: 603 Decline`);
    }, 120_000);
  },
);

/** A response with this status code to a request with this CSeq method. */
function isResponse(m: TracedMessage, status: number, method: string): boolean {
  return (
    m.startLine.startsWith(`SIP/2.0 ${status} `) &&
    new RegExp(`^CSeq: *\\d+ ${method}\r?$`, "mi").test(m.head)
  );
}

/** baresip received this response (e.g. the 200 for its BYE: the platform forwarded the request). */
async function waitForResponse(phone: Baresip, status: number, method: string, since: number): Promise<void> {
  await waitFor(
    `baresip to receive ${status} for its ${method}`,
    STEP_MS,
    () => (phone.sipTrace(since).some((m) => isResponse(m, status, method)) ? true : undefined),
    () => phone.cli.output().slice(since),
  );
}
