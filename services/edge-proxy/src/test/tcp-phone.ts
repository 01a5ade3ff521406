/**
 * A minimal SIP phone over one TCP connection, for tests where the phone must be reachable only on
 * the connection it registered over (RFC 5626): it registers with digest authentication, then
 * answers calls and can hang up, all on that connection. Built on packages/sip, nothing else.
 */
import { connect, type Socket } from "node:net";
import { sipMessage } from "@sip-platform/fixtures/messages";
import {
  answerChallenge,
  createResponse,
  newBranch,
  newCallId,
  newTag,
  parseChallenges,
  parseMessage,
  type SipMessage,
  type SipRequest,
  type SipResponse,
  StreamFramer,
} from "@sip-platform/sip";

export interface TcpPhoneOptions {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly domain: string;
}

/** An answered call as the phone (the callee) sees it. */
export interface AnsweredCall {
  readonly invite: SipRequest;
  readonly toTag: string;
}

export class TcpPhone {
  readonly #o: TcpPhoneOptions;
  readonly #socket: Socket;
  readonly #queue: SipMessage[] = [];
  #waiters: Array<(m: SipMessage) => void> = [];
  #cseq = 0;
  readonly received: SipMessage[] = [];

  private constructor(o: TcpPhoneOptions, socket: Socket) {
    this.#o = o;
    this.#socket = socket;
    const framer = new StreamFramer({
      message: (bytes) => this.#deliver(parseMessage(bytes)),
      ping: () => socket.write("\r\n"),
    });
    socket.on("data", (chunk) => framer.push(chunk));
  }

  static async connect(o: TcpPhoneOptions): Promise<TcpPhone> {
    const socket = connect(o.port, o.host);
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    return new TcpPhone(o, socket);
  }

  get localPort(): number {
    return this.#socket.localPort ?? 0;
  }

  /** REGISTER, answer the 401, expect 200. */
  async register(expires = 300): Promise<SipResponse> {
    const callId = newCallId();
    const send = (auth?: string) =>
      this.#write(
        this.#request("REGISTER", `sip:${this.#o.domain}`, {
          callId,
          to: `<sip:${this.#o.user}@${this.#o.domain}>`,
          extra: [`Expires: ${expires}`, ...(auth ? [`Authorization: ${auth}`] : [])],
        }),
      );
    send();
    const challenge = (await this.next((m) => !m.isRequest())) as SipResponse;
    if (challenge.status !== 401) return challenge;
    const [first] = parseChallenges(challenge.header("WWW-Authenticate") ?? "");
    const answer = answerChallenge(first!, {
      username: this.#o.user,
      password: this.#o.password,
      method: "REGISTER",
      uri: `sip:${this.#o.domain}`,
    });
    if (!answer.ok) throw new Error(`cannot answer the challenge: ${answer.reason}`);
    send(answer.value);
    return (await this.next((m) => !m.isRequest())) as SipResponse;
  }

  /** Waits for an INVITE and answers 180 then 200; resolves with it once the ACK came. */
  async answer(timeoutMs = 10_000): Promise<AnsweredCall> {
    const invite = (await this.next((m) => m.isRequest() && m.method === "INVITE", timeoutMs)) as SipRequest;
    const toTag = newTag();
    // §12.1.1: the UAS copies Record-Route into its responses; its Contact is the remote target.
    const headers: Array<[string, string]> = [
      ...invite.headerLines("Record-Route").map((rr): [string, string] => ["Record-Route", rr]),
      ["Contact", `<sip:${this.#o.user}@127.0.0.1:${this.localPort};transport=tcp>`],
    ];
    this.#write(createResponse(invite, 180, { toTag, headers }).toString());
    this.#write(createResponse(invite, 200, { toTag, headers }).toString());
    await this.next((m) => m.isRequest() && m.method === "ACK", timeoutMs);
    return { invite, toTag };
  }

  /** Sends BYE in the dialog of an answered call (route set = the INVITE's Record-Route, §12.1.1). */
  async hangUp(call: AnsweredCall): Promise<SipResponse> {
    const { invite, toTag } = call;
    const routes = invite.headerValues("Record-Route");
    const target = invite.contacts();
    const uri = target === "*" || target.length === 0 ? invite.from().uri : target[0]!.uri;
    const text = this.#request("BYE", uri, {
      callId: invite.callId() ?? "",
      from: `${invite.header("To")};tag=${toTag}`,
      to: invite.header("From") ?? "",
      extra: routes.map((r) => `Route: ${r}`),
    });
    this.#write(text);
    return (await this.next(
      (m) => !m.isRequest() && (m as SipResponse).cseq().method === "BYE",
    )) as SipResponse;
  }

  /** Answers every BYE that arrives with 200. */
  acceptByes(): void {
    void this.next((m) => m.isRequest() && m.method === "BYE", 60_000)
      .then((bye) => {
        this.#write(createResponse(bye as SipRequest, 200).toString());
      })
      .catch(() => {});
  }

  next(match: (m: SipMessage) => boolean, timeoutMs = 10_000): Promise<SipMessage> {
    const i = this.#queue.findIndex(match);
    if (i >= 0) return Promise.resolve(this.#queue.splice(i, 1)[0]!);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(new Error(`${this.#o.user}: timed out waiting for a message`));
      }, timeoutMs);
      const waiter = (m: SipMessage) => {
        if (!match(m)) return;
        clearTimeout(timer);
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        const j = this.#queue.indexOf(m);
        if (j >= 0) this.#queue.splice(j, 1);
        resolve(m);
      };
      this.#waiters.push(waiter);
    });
  }

  close(): void {
    this.#socket.destroy();
  }

  #deliver(m: SipMessage): void {
    this.received.push(m);
    this.#queue.push(m);
    for (const w of [...this.#waiters]) w(m);
  }

  #write(text: string): void {
    this.#socket.write(text);
  }

  #request(
    method: string,
    uri: string,
    o: { callId: string; to?: string; from?: string; extra?: readonly string[] },
  ): string {
    this.#cseq += 1;
    return sipMessage([
      `${method} ${uri} SIP/2.0`,
      `Via: SIP/2.0/TCP 127.0.0.1:${this.localPort};branch=${newBranch()};rport`,
      "Max-Forwards: 70",
      `From: ${o.from ?? `<sip:${this.#o.user}@${this.#o.domain}>;tag=${newTag()}`}`,
      `To: ${o.to ?? `<${uri}>`}`,
      `Call-ID: ${o.callId}`,
      `CSeq: ${this.#cseq} ${method}`,
      `Contact: <sip:${this.#o.user}@127.0.0.1:${this.localPort};transport=tcp>`,
      ...(o.extra ?? []),
      "Content-Length: 0",
    ]);
  }
}
