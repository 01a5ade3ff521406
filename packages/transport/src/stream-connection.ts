import type { Duplex } from "node:stream";
import { type ParseLimits, StreamFramer } from "@sip-platform/sip";
import type { Connection, ConnectionEvents } from "./connection.js";
import type { CounterName } from "./diagnostics.js";
import { framingErrorReply } from "./framing-reply.js";
import { type Flow, TransportError } from "./types.js";

export interface StreamSettings {
  readonly limits: ParseLimits;
  readonly idleTimeoutMs: number;
  readonly readTimeoutMs: number;
  readonly maxWriteBufferBytes: number;
}

export interface StreamConnectionEvents extends ConnectionEvents {
  count(name: CounterName, flow: Flow, error?: unknown): void;
}

const EMPTY = Buffer.alloc(0);
const CRLF = Buffer.from("\r\n", "latin1");
/** How long a connection closed after a framing error may take to flush the error response. */
const LINGER_MS = 2000;

/**
 * A SIP connection over a byte stream (TCP, TLS, an in-memory pipe): a StreamFramer cuts messages
 * (RFC 3261 §18.3), CRLFCRLF pings get a CRLF pong (RFC 5626 §3.5.1), a started message must
 * complete within `readTimeoutMs` (slow senders), no traffic for `idleTimeoutMs` closes it, and a
 * peer that does not read cannot make us queue more than `maxWriteBufferBytes`.
 */
export class StreamConnection implements Connection {
  readonly #socket: Duplex;
  readonly #framer: StreamFramer;
  readonly #settings: StreamSettings;
  readonly #events: StreamConnectionEvents;
  readonly #idle: NodeJS.Timeout;
  #read: NodeJS.Timeout | undefined;
  #closed = false;
  /** The bytes the framer holds (always a suffix of the stream), kept to answer a framing error. */
  #held: Buffer = EMPTY;
  /** Lengths of the messages cut during the current push. */
  readonly #cut: number[] = [];

  constructor(
    socket: Duplex,
    readonly flow: Flow,
    settings: StreamSettings,
    events: StreamConnectionEvents,
  ) {
    this.#socket = socket;
    this.#settings = settings;
    this.#events = events;
    this.#framer = new StreamFramer(
      {
        message: (bytes) => {
          this.#cut.push(bytes.length);
          if (!this.#closed) this.#events.message(this, bytes, "stream");
        },
        ping: () => this.#pong(),
      },
      settings.limits,
    );
    this.#idle = setTimeout(() => this.#expire("idleTimeouts"), settings.idleTimeoutMs).unref();
    socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    // No half-open SIP connections: the peer's FIN ends it.
    socket.on("end", () => this.close());
    socket.on("error", (err) => {
      if (!this.#closed) this.#events.count("socketErrors", flow, err);
    });
    socket.on("close", () => this.#markClosed());
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Bytes of a partial message held for this connection. */
  get buffered(): number {
    return this.#framer.buffered;
  }

  send(bytes: Buffer): Promise<void> {
    if (this.#closed)
      return Promise.reject(
        new TransportError("FLOW_CLOSED", `connection ${this.flow.connectionId} is closed`),
      );
    if (this.#socket.writableLength + bytes.length > this.#settings.maxWriteBufferBytes) {
      this.#events.count("writeOverflows", this.flow);
      this.close();
      return Promise.reject(
        new TransportError(
          "SEND_FAILED",
          `connection ${this.flow.connectionId}: peer is not reading, closed`,
        ),
      );
    }
    this.#idle.refresh();
    return new Promise((resolve, reject) => {
      this.#socket.write(bytes, (err) => {
        if (err)
          reject(new TransportError("SEND_FAILED", `connection ${this.flow.connectionId}: ${err.message}`));
        else resolve();
      });
    });
  }

  close(): void {
    this.#socket.destroy();
    this.#markClosed();
  }

  #onData(chunk: Buffer): void {
    if (this.#closed) return;
    this.#idle.refresh();
    const held = this.#held;
    this.#cut.length = 0;
    try {
      this.#framer.push(chunk);
    } catch (err) {
      this.#framingError(held.length === 0 ? chunk : Buffer.concat([held, chunk]), err);
      return;
    }
    // The handler may have closed the connection while messages were being cut.
    if (this.#closed) return;
    const n = this.#framer.buffered;
    if (n === 0) {
      this.#held = EMPTY;
      this.#stopReadTimer();
      return;
    }
    this.#held =
      n <= chunk.length
        ? chunk.subarray(chunk.length - n)
        : Buffer.concat([held, chunk]).subarray(held.length + chunk.length - n);
    // The deadline runs from the first byte of the message being read, not from the last chunk.
    if (this.#read === undefined)
      this.#read = setTimeout(() => this.#expire("readTimeouts"), this.#settings.readTimeoutMs).unref();
    else if (this.#cut.length > 0) this.#read.refresh();
  }

  /** The stream cannot be resynchronised: answer the broken request if possible, then close. */
  #framingError(data: Buffer, err: unknown): void {
    this.#events.count("framingErrors", this.flow, err);
    let pos = 0;
    for (const len of this.#cut) pos = skipCrlf(data, pos) + len;
    const reply = framingErrorReply(data.subarray(skipCrlf(data, pos)), err, this.#settings.limits);
    const socket = this.#socket;
    this.#markClosed();
    socket.pause();
    if (reply) socket.end(reply);
    else socket.end();
    setTimeout(() => socket.destroy(), LINGER_MS).unref();
  }

  #pong(): void {
    if (this.#closed) return;
    this.#events.count("keepAlives", this.flow);
    this.#socket.write(CRLF);
  }

  #expire(name: "idleTimeouts" | "readTimeouts"): void {
    if (this.#closed) return;
    this.#events.count(name, this.flow);
    this.close();
  }

  #stopReadTimer(): void {
    if (this.#read !== undefined) {
      clearTimeout(this.#read);
      this.#read = undefined;
    }
  }

  #markClosed(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#idle);
    this.#stopReadTimer();
    this.#held = EMPTY;
    this.#events.closed(this);
  }
}

function skipCrlf(data: Buffer, pos: number): number {
  while (pos + 1 < data.length && data[pos] === 0x0d && data[pos + 1] === 0x0a) pos += 2;
  return pos;
}
