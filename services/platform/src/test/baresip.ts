import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConsoleProcess, escapeRegExp, findBinary, type PhoneAccount } from "./processes.js";

export const BARESIP = process.env.BARESIP ?? "baresip";

/** Why the baresip tests cannot run here, or undefined when they can. */
export function baresipMissing(): string | undefined {
  return findBinary(BARESIP)
    ? undefined
    : `${BARESIP} not found (apt-get install baresip-core, or set BARESIP)`;
}

/** One message of baresip's SIP trace. */
export interface TracedMessage {
  readonly transport: string;
  /** "127.0.0.1:5060" */
  readonly from: string;
  readonly to: string;
  readonly startLine: string;
  /** Start line and headers, CRLF-separated, without the final empty line. */
  readonly head: string;
}

/**
 * baresip (Debian 12: 1.0.0) headless: SIP on loopback at a free port, G.711 and no audio device
 * module at all (baresip then skips the audio source and player, so a call needs no sound card),
 * the `menu` commands read from stdin through the `stdio` module (it warns that stdin is not a
 * terminal and reads it anyway), SIP trace on (`-s`) so a test can read the messages it exchanged.
 */
export class Baresip {
  readonly aor: string;
  readonly #dir: string;

  private constructor(
    readonly account: PhoneAccount,
    readonly cli: ConsoleProcess,
    dir: string,
  ) {
    this.aor = `${account.user}@${account.domain}`;
    this.#dir = dir;
  }

  static async start(account: PhoneAccount): Promise<Baresip> {
    const dir = await mkdtemp(join(tmpdir(), "baresip-"));
    await writeFile(
      join(dir, "config"),
      [
        "sip_listen\t\t127.0.0.1:0",
        // Media on loopback too: without it the SDP offers the first external address.
        "net_interface\t\t127.0.0.1",
        "module_path\t\t/usr/lib/baresip/modules",
        "module\t\t\tg711.so",
        "module\t\t\tstdio.so",
        "module_app\t\tmenu.so",
        "module_tmp\t\taccount.so",
        "",
      ].join("\n"),
    );
    const { host, port, transport } = account.proxy;
    const outbound = `sip:${host}:${port}${transport === "udp" ? "" : `;transport=${transport}`}`;
    await writeFile(
      join(dir, "accounts"),
      `<sip:${account.user}@${account.domain}>;auth_pass=${account.password};outbound="${outbound}";regint=60\n`,
    );
    const cli = new ConsoleProcess(`baresip ${account.user}`, BARESIP, ["-f", dir, "-s"]);
    return new Baresip(account, cli, dir);
  }

  /** baresip's own word: "alice@example.test: {0/UDP/v4} 200 OK (…) [1 binding]". */
  async registered(ms: number): Promise<void> {
    const t = this.account.proxy.transport.toUpperCase();
    await this.cli.waitForOutput(
      new RegExp(`^${escapeRegExp(this.aor)}: \\{0/${t}/v4\\} 200 OK .*\\[1 binding\\]$`, "m"),
      "registration",
      ms,
    );
  }

  dial(uri: string): void {
    this.cli.send(`/dial ${uri}`);
  }

  /** Answers the ringing call. */
  accept(): void {
    this.cli.send("/accept");
  }

  hangup(): void {
    this.cli.send("/hangup");
  }

  /** Puts the call on hold ("call: hold sip:bob@example.test"): a re-INVITE, RFC 3264 §8.4. */
  hold(): void {
    this.cli.send("/hold");
  }

  resume(): void {
    this.cli.send("/resume");
  }

  /** "call: got re-INVITE (SDP Offer)": the peer changed the session inside the dialog. */
  async reInvited(ms: number, since: number): Promise<void> {
    await this.cli.waitForOutput(/^call: got re-INVITE \(SDP Offer\)\r?$/m, "a re-INVITE", ms, since);
  }

  /** "sip:alice@example.test: Incoming call from: Bob sip:bob@example.test - (press 'a' to accept)" */
  async incoming(from: string, ms: number, since: number): Promise<void> {
    await this.cli.waitForOutput(
      new RegExp(`: Incoming call from: .*${escapeRegExp(from)}`),
      `an incoming call from ${from}`,
      ms,
      since,
    );
  }

  /** "alice@example.test: Call established: sip:bob@example.test" */
  async established(peer: string, ms: number, since: number): Promise<void> {
    await this.cli.waitForOutput(
      new RegExp(`: Call established: .*${escapeRegExp(peer)}`),
      `the call with ${peer} established`,
      ms,
      since,
    );
  }

  /**
   * The call with `peer` ended here ("call: terminate call '…' with sip:bob@example.test"; baresip
   * prints "Call with … terminated (duration …)" only for calls of a second or more).
   */
  async hungUp(peer: string, ms: number, since: number): Promise<void> {
    await this.cli.waitForOutput(
      new RegExp(`^call: terminate call '[^']*' with ${escapeRegExp(peer)}\r?$`, "m"),
      `the call with ${peer} to be hung up`,
      ms,
      since,
    );
  }

  /** The peer ended the call: "sip:bob@example.test: session closed" (with a reason on an error). */
  async closedByPeer(peer: string, ms: number, since: number): Promise<string> {
    const m = await this.cli.waitForOutput(
      new RegExp(`^${escapeRegExp(peer)}: session closed.*$`, "m"),
      `the call with ${peer} to be closed by the peer`,
      ms,
      since,
    );
    return m[0];
  }

  /**
   * The SIP messages baresip's trace (`-s`) shows after output offset `since`: each is printed as
   * "#", a line "UDP 127.0.0.1:a -> 127.0.0.1:b", then the message. Only the start line and
   * headers are kept (up to the empty line).
   */
  sipTrace(since = 0): TracedMessage[] {
    const text = this.cli.output().slice(since);
    const messages: TracedMessage[] = [];
    for (const m of text.matchAll(/^#\r?\n(UDP|TCP|TLS) (\S+) -> (\S+)\r?\n/gm)) {
      const start = m.index + m[0].length;
      const end = text.indexOf("\r\n\r\n", start);
      const head = text.slice(start, end === -1 ? undefined : end);
      messages.push({ transport: m[1]!, from: m[2]!, to: m[3]!, head, startLine: head.split("\r\n")[0]! });
    }
    return messages;
  }

  async stop(): Promise<number | null> {
    try {
      return await this.cli.stop();
    } finally {
      await rm(this.#dir, { recursive: true, force: true });
    }
  }
}
