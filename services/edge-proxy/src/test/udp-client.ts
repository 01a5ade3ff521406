import { createSocket, type Socket } from "node:dgram";
import { parseMessage, type SipResponse } from "@sip-platform/sip";

/** A UDP phone for the tests: sends raw text, collects what comes back. */
export class UdpClient {
  readonly #socket: Socket;
  readonly #inbox: Buffer[] = [];
  #waiters: Array<() => void> = [];

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on("message", (msg) => {
      this.#inbox.push(msg);
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  static async open(): Promise<UdpClient> {
    const socket = createSocket("udp4");
    await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
    return new UdpClient(socket);
  }

  get port(): number {
    return this.#socket.address().port;
  }

  send(text: string | Buffer, port: number): void {
    this.#socket.send(typeof text === "string" ? Buffer.from(text, "latin1") : text, port, "127.0.0.1");
  }

  /** The next datagram as a response; rejects after `timeoutMs`. */
  async next(timeoutMs = 2_000): Promise<SipResponse> {
    const deadline = Date.now() + timeoutMs;
    while (this.#inbox.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no datagram within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    const msg = parseMessage(this.#inbox.shift()!);
    if (msg.isRequest()) throw new Error(`expected a response, got ${msg.method}`);
    return msg as SipResponse;
  }

  /** Resolves true when nothing arrives for `ms`. */
  async silentFor(ms: number): Promise<boolean> {
    await new Promise((r) => setTimeout(r, ms));
    return this.#inbox.length === 0;
  }

  close(): void {
    this.#socket.close();
  }
}
