import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { jssipBrowserBundle } from "./jssip-bundle.js";
import { findBinary, waitFor } from "./processes.js";

export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

/** Why the browser tests cannot run here, or undefined when they can. */
export function chromiumMissing(): string | undefined {
  return findBinary(CHROMIUM)
    ? undefined
    : `${CHROMIUM} not found: apt-get install chromium, or set CHROMIUM`;
}

/**
 * Chromium's switches: headless, no sandbox (containers), nothing fetched from the network, fake
 * camera and microphone granted without a prompt, host candidates as plain addresses rather than
 * mDNS names (which Chromium would announce by multicast). The page strips every candidate from
 * its SDP (see PAGE_CLIENT), so no peer sends ICE checks or media: the only traffic is SIP over the
 * loopback WebSocket, and the offer/answer stays valid, so calls set up exactly as with media.
 */
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--use-fake-device-for-media-stream",
  "--use-fake-ui-for-media-stream",
  "--disable-features=WebRtcHideLocalIpsWithMdns",
];

/** One JsSIP event as the page recorded it. */
export interface PageEvent {
  readonly type: string;
  readonly session?: number;
  readonly originator?: string;
  readonly cause?: string;
  readonly remote?: string;
  readonly body?: string;
  readonly protocol?: string;
  /** Record-Route header values: of the INVITE ("newSession", callee) or the 2xx ("accepted", caller). */
  readonly recordRoute?: string[];
}

/**
 * Runs in the page after JsSIP: one user agent, every event it emits recorded in
 * `window.sipTest.events` for the test to poll. An incoming call is answered at once (audio from
 * the fake microphone). Kept as page source, not Node code: it uses the DOM and JsSIP.
 */
const PAGE_CLIENT = String.raw`
window.sipTest = (function () {
  var events = [];
  var sessions = [];
  var ua = null;
  var media = { mediaConstraints: { audio: true, video: false }, pcConfig: { iceServers: [] } };
  function record(e) { e.at = Date.now(); events.push(e); }
  function watch(session) {
    var id = sessions.push(session) - 1;
    // No ICE candidates leave the page: the peer never sends connectivity checks (or media) to
    // this host's non-loopback addresses, which are all Chromium would offer.
    session.on("sdp", function (e) {
      if (e.originator === "local") e.sdp = e.sdp.replace(/^a=(candidate|end-of-candidates)\b.*\r\n/gm, "");
    });
    return id;
  }
  // The Record-Route set of the message that made the dialog (RFC 3261 §12.1): the INVITE for
  // the callee, the 2xx for the caller.
  function recordRoute(message) {
    return message ? message.getHeaders("record-route") : undefined;
  }
  function announce(session, id, request) {
    record({ type: "newSession", session: id, originator: session.direction === "incoming" ? "remote" : "local",
      remote: session.remote_identity.uri.toString(), recordRoute: recordRoute(request) });
    ["progress", "confirmed"].forEach(function (name) {
      session.on(name, function (e) { record({ type: name, session: id, originator: e && e.originator }); });
    });
    session.on("accepted", function (e) {
      record({ type: "accepted", session: id, originator: e.originator,
        recordRoute: e.originator === "remote" ? recordRoute(e.response) : undefined });
    });
    ["hold", "unhold"].forEach(function (name) {
      session.on(name, function (e) { record({ type: name, session: id, originator: e.originator }); });
    });
    ["ended", "failed"].forEach(function (name) {
      session.on(name, function (e) { record({ type: name, session: id, originator: e.originator, cause: e.cause }); });
    });
  }
  return {
    events: events,
    start: function (o) {
      JsSIP.debug.enable("JsSIP:*");
      ua = new JsSIP.UA({
        sockets: [new JsSIP.WebSocketInterface(o.ws)],
        uri: o.uri,
        password: o.password,
        register: true,
        register_expires: 60,
        session_timers: false,
        user_agent: "JsSIP e2e (" + o.uri + ")",
      });
      ua.on("registered", function () { record({ type: "registered" }); });
      ua.on("registrationFailed", function (e) { record({ type: "registrationFailed", cause: e.cause }); });
      ua.on("newRTCSession", function (e) {
        announce(e.session, watch(e.session), e.request);
        if (e.originator === "remote") e.session.answer(media);
      });
      ua.on("newMessage", function (e) {
        if (e.originator !== "remote") return;
        record({ type: "newMessage", originator: "remote", remote: e.request.from.uri.toString(), body: e.request.body });
      });
      ua.start();
    },
    call: function (target) {
      ua.call(target, media);
    },
    hangup: function (id) {
      sessions[id].terminate();
    },
    // JsSIP emits 'hold'/'unhold' locally before sending; its callback runs on the 2xx.
    hold: function (id) {
      sessions[id].hold({}, function () { record({ type: "holdAnswered", session: id }); });
    },
    unhold: function (id) {
      sessions[id].unhold({}, function () { record({ type: "unholdAnswered", session: id }); });
    },
    message: function (target, body) {
      ua.sendMessage(target, body, { eventHandlers: {
        succeeded: function () { record({ type: "messageSucceeded" }); },
        failed: function (e) { record({ type: "messageFailed", cause: e.cause }); },
      } });
    },
    stop: function () { if (ua) ua.stop(); },
    subprotocol: function (url) {
      return new Promise(function (resolve) {
        var ws = new WebSocket(url, "sip");
        ws.onopen = function () { resolve({ type: "open", protocol: ws.protocol }); ws.close(); };
        ws.onerror = function () { resolve({ type: "error" }); };
      });
    },
  };
})();
`;

/** A page running one JsSIP user agent. */
export class WebPhone {
  readonly #log: string[] = [];

  constructor(
    readonly name: string,
    readonly page: Page,
  ) {
    // JsSIP logs through the `debug` package: "%c" styling markers and their "color: …" arguments.
    page.on("console", (m) => {
      this.#log.push(
        m
          .text()
          .replace(/%c/g, "")
          .replace(/ ?color: (?:#\w+|inherit)/g, ""),
      );
    });
    page.on("pageerror", (e) => {
      this.#log.push(`page error: ${e.message}`);
    });
  }

  /** What the page logged (JsSIP's debug output, every SIP message it sent and received). */
  log(): string {
    return this.#log.join("\n");
  }

  async events(): Promise<PageEvent[]> {
    return this.page.evaluate("window.sipTest.events") as Promise<PageEvent[]>;
  }

  /** Starts the user agent over `ws` and waits for "registered" (fails at "registrationFailed"). */
  async register(o: { ws: string; uri: string; password: string }, ms: number): Promise<void> {
    await this.page.evaluate(`window.sipTest.start(${JSON.stringify(o)})`);
    const e = await this.waitForEvent((e) => e.type === "registered" || e.type === "registrationFailed", ms);
    if (e.type !== "registered")
      throw new Error(`${this.name}: registration failed: ${e.cause}\n${this.log()}`);
  }

  async call(target: string): Promise<void> {
    await this.page.evaluate(`window.sipTest.call(${JSON.stringify(target)})`);
  }

  async hangup(session: number): Promise<void> {
    await this.page.evaluate(`window.sipTest.hangup(${session})`);
  }

  /** A re-INVITE putting the call on hold (`sendonly`); `unhold` takes it back. */
  async hold(session: number): Promise<void> {
    await this.page.evaluate(`window.sipTest.hold(${session})`);
  }

  async unhold(session: number): Promise<void> {
    await this.page.evaluate(`window.sipTest.unhold(${session})`);
  }

  async message(target: string, body: string): Promise<void> {
    await this.page.evaluate(`window.sipTest.message(${JSON.stringify(target)}, ${JSON.stringify(body)})`);
  }

  /** Opens a WebSocket to `url` offering the `sip` subprotocol; what the server agreed to. */
  async subprotocol(url: string): Promise<{ type: string; protocol?: string }> {
    return this.page.evaluate(`window.sipTest.subprotocol(${JSON.stringify(url)})`) as Promise<{
      type: string;
      protocol?: string;
    }>;
  }

  /**
   * The first recorded event (from index `since` of the event list) matching `match`. A call that
   * fails or ends while a test waits for something else is reported in the timeout message.
   */
  async waitForEvent(match: (e: PageEvent) => boolean, ms: number, since = 0): Promise<PageEvent> {
    let seen: PageEvent[] = [];
    return waitFor(
      `${this.name}: a JsSIP event (${match.toString()})`,
      ms,
      async () => {
        seen = await this.events();
        return seen.slice(since).find(match);
      },
      () => `--- ${this.name} events: ${JSON.stringify(seen)}\n--- ${this.name} log:\n${this.log()}`,
    );
  }

  async stop(): Promise<void> {
    await this.page.evaluate("window.sipTest.stop()").catch(() => {});
  }
}

/** Headless Chromium with a fresh profile and a loopback page server; `close()` ends both. */
export class WebBrowser {
  readonly #phones: WebPhone[] = [];

  private constructor(
    readonly context: BrowserContext,
    readonly origin: string,
    readonly jssip: string,
    readonly server: Server,
    readonly profile: string,
  ) {}

  static async start(): Promise<WebBrowser> {
    const jssip = await jssipBrowserBundle();
    // A page from http://127.0.0.1 is a secure context (getUserMedia, RTCPeerConnection);
    // about:blank is not.
    const server = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end("<!doctype html><meta charset=utf-8><title>sip-platform e2e</title>");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const profile = await mkdtemp(join(tmpdir(), "chromium-e2e-"));
    try {
      const context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        args: CHROMIUM_ARGS,
        timeout: 60_000,
      });
      context.setDefaultTimeout(15_000);
      return new WebBrowser(context, origin, jssip, server, profile);
    } catch (err) {
      server.close();
      await rm(profile, { recursive: true, force: true });
      throw err;
    }
  }

  /** A new page with JsSIP and the page client loaded. */
  async newPhone(name: string): Promise<WebPhone> {
    const page = await this.context.newPage();
    const phone = new WebPhone(name, page);
    this.#phones.push(phone);
    await page.goto(`${this.origin}/`);
    await page.addScriptTag({ content: this.jssip });
    await page.addScriptTag({ content: PAGE_CLIENT });
    return phone;
  }

  /** Stops every user agent (so they unregister), closes the browser and the page server. */
  async close(): Promise<void> {
    for (const phone of this.#phones.splice(0)) await phone.stop();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.context.close(),
      new Promise((resolve) => {
        timer = setTimeout(resolve, 20_000);
      }),
    ]);
    clearTimeout(timer);
    await new Promise((resolve) => this.server.close(resolve));
    await rm(this.profile, { recursive: true, force: true });
  }
}
