import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConsoleProcess, escapeRegExp, findBinary, type PhoneAccount, waitFor } from "./processes.js";

export const LINPHONEC = process.env.LINPHONEC ?? "linphonec";

/** Why the linphonec tests cannot run here, or undefined when they can. */
export function linphoneMissing(): string | undefined {
  return findBinary(LINPHONEC)
    ? undefined
    : `${LINPHONEC} not found (apt-get install linphone-cli, or set LINPHONEC)`;
}

/**
 * linphonec (Debian 12: liblinphone 5.1) headless, driven through its command prompt on stdin.
 * Its own HOME (linphone keeps a database and rewrites its rc file there), one proxy account
 * registering over the given transport with every out-of-dialog request routed through the proxy
 * (`reg_route`: without it linphonec resolves the callee's domain itself), SIP on a random port
 * of that transport only, random RTP ports. No sound card is needed: when ALSA has no device the
 * call still connects ("Media streams established"), it just plays nothing.
 */
export class Linphone {
  readonly aor: string;
  readonly #home: string;

  private constructor(
    readonly account: PhoneAccount,
    readonly cli: ConsoleProcess,
    home: string,
  ) {
    this.aor = `${account.user}@${account.domain}`;
    this.#home = home;
  }

  static async start(account: PhoneAccount): Promise<Linphone> {
    const home = await mkdtemp(join(tmpdir(), "linphonec-"));
    await mkdir(join(home, ".local", "share", "linphone"), { recursive: true });
    const { host, port, transport } = account.proxy;
    const uri = `sip:${host}:${port};transport=${transport}`;
    // -1: a random port for this transport; 0: transport off (liblinphone's LC_SIP_TRANSPORT_*).
    const portOf = (t: string) => (t === transport ? -1 : 0);
    const rc = join(home, "linphonerc");
    await writeFile(
      rc,
      [
        "[sip]",
        `sip_port=${portOf("udp")}`,
        `sip_tcp_port=${portOf("tcp")}`,
        `sip_tls_port=${portOf("tls")}`,
        "default_proxy=0",
        "register_only_when_network_is_up=0",
        "ipv6=0",
        // The test's certificate is self-signed; a real phone checks the server's (RFC 5922 §7.3).
        "verify_server_certs=0",
        "verify_server_cn=0",
        "[rtp]",
        "audio_rtp_port=-1",
        "[proxy_0]",
        `reg_proxy=<${uri}>`,
        `reg_route=<${uri};lr>`,
        `reg_identity=sip:${account.user}@${account.domain}`,
        "reg_expires=60",
        "reg_sendregister=1",
        "[auth_info_0]",
        `username=${account.user}`,
        `passwd=${account.password}`,
        `realm=${account.domain}`,
        `domain=${account.domain}`,
        "",
      ].join("\n"),
    );
    const cli = new ConsoleProcess(`linphonec ${account.user}`, LINPHONEC, ["-c", rc], {
      cwd: home,
      env: { ...process.env, HOME: home },
    });
    return new Linphone(account, cli, home);
  }

  /** Polls `status register` until linphonec answers "registered, identity=sip:bob@example.test …". */
  async registered(ms: number): Promise<void> {
    const pattern = new RegExp(`^registered, identity=sip:${escapeRegExp(this.aor)} `, "m");
    let asked = 0;
    await waitFor(
      `linphonec ${this.account.user} to report the registration`,
      ms,
      () => {
        if (pattern.test(this.cli.output())) return true;
        if (Date.now() - asked > 1_000) {
          asked = Date.now();
          this.cli.send("status register");
        }
        return undefined;
      },
      () => this.cli.output(),
    );
  }

  call(uri: string): void {
    this.cli.send(`call ${uri}`);
  }

  answer(id: number): void {
    this.cli.send(`answer ${id}`);
  }

  terminate(id: number): void {
    this.cli.send(`terminate ${id}`);
  }

  /** Puts the call on hold: a re-INVITE with the stream `sendonly` (RFC 3264 §8.4). */
  pause(id: number): void {
    this.cli.send(`pause ${id}`);
  }

  resume(id: number): void {
    this.cli.send(`resume ${id}`);
  }

  /** "Call 2 with sip:alice@example.test is now paused." (our hold was answered) */
  async paused(id: number, peer: string, ms: number, since: number): Promise<void> {
    await this.cli.waitForOutput(
      new RegExp(`^Call ${id} with .*${escapeRegExp(peer)}.* is now paused\\.$`, "m"),
      `call ${id} paused`,
      ms,
      since,
    );
  }

  /** "Call 2 has been paused by sip:alice@example.test." (the peer's hold re-INVITE arrived) */
  async pausedByPeer(id: number, peer: string, ms: number, since: number): Promise<void> {
    await this.cli.waitForOutput(
      new RegExp(`^Call ${id} has been paused by .*${escapeRegExp(peer)}.*\\.$`, "m"),
      `call ${id} paused by ${peer}`,
      ms,
      since,
    );
  }

  /** "Media streams established with sip:alice@example.test for call 2 (audio)." (after answer or resume) */
  async streamsRunning(id: number, peer: string, ms: number, since: number): Promise<void> {
    await this.cli.waitForOutput(
      new RegExp(
        `^Media streams established with .*${escapeRegExp(peer)}.* for call ${id} \\(audio\\)\\.$`,
        "m",
      ),
      `media of call ${id} running`,
      ms,
      since,
    );
  }

  /** "Receiving new incoming call from sip:alice@example.test, assigned id 1": the call id. */
  async incoming(from: string, ms: number, since: number): Promise<number> {
    const m = await this.cli.waitForOutput(
      new RegExp(`Receiving new incoming call from .*${escapeRegExp(from)}.*, assigned id (\\d+)`),
      `an incoming call from ${from}`,
      ms,
      since,
    );
    return Number(m[1]);
  }

  /** "Establishing call id to sip:alice@example.test, assigned id 2": the call id. */
  async calling(to: string, ms: number, since: number): Promise<number> {
    const m = await this.cli.waitForOutput(
      new RegExp(`Establishing call id to .*${escapeRegExp(to)}.*, assigned id (\\d+)`),
      `the outgoing call to ${to}`,
      ms,
      since,
    );
    return Number(m[1]);
  }

  /** "Call 1 with sip:alice@example.test connected." */
  async connected(id: number, peer: string, ms: number, since: number): Promise<void> {
    await this.cli.waitForOutput(
      new RegExp(`^Call ${id} with .*${escapeRegExp(peer)}.* connected\\.$`, "m"),
      `call ${id} with ${peer} connected`,
      ms,
      since,
    );
  }

  /** "Call 1 with sip:alice@example.test ended (No error)." */
  async ended(id: number, peer: string, ms: number, since: number): Promise<string> {
    const m = await this.cli.waitForOutput(
      new RegExp(`^Call ${id} with .*${escapeRegExp(peer)}.* ended \\(.*\\)\\.$`, "m"),
      `call ${id} with ${peer} to end`,
      ms,
      since,
    );
    return m[0];
  }

  /** `quit` (linphonec unregisters and exits), SIGTERM/SIGKILL if it does not within `ms`. */
  async stop(ms = 10_000): Promise<number | null> {
    try {
      if (this.cli.running) {
        this.cli.send("quit");
        const code = await this.cli.exited(ms);
        if (code !== null) return code;
      }
      return await this.cli.stop();
    } finally {
      await rm(this.#home, { recursive: true, force: true });
    }
  }
}
