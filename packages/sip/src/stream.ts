import { SipParseError } from "./errors.js";
import { parseContentLength } from "./headers/content-length.js";
import { DEFAULT_LIMITS, type ParseLimits } from "./limits.js";
import { skipWs, trimEndWs } from "./syntax.js";

export interface StreamFramerEvents {
  /** One complete message's bytes (head and Content-Length body), ready for `parseMessage(bytes, limits, "stream")`. */
  message(bytes: Buffer): void;
  /** A CRLFCRLF keep-alive ping (RFC 5626 §3.5.1); the owner answers with a single CRLF pong. */
  ping(): void;
}

/**
 * Cuts a byte stream (TCP, TLS) into SIP messages by Content-Length (RFC 3261 §18.3). Limits are
 * enforced before buffering, so a peer cannot make us hold more than one message's worth of bytes.
 * A framing error throws SipParseError from `push`: the stream cannot be resynchronised, so the
 * owner answers 400 where it can and closes the connection.
 */
export class StreamFramer {
  #pending: Buffer = Buffer.alloc(0);
  /** Bytes needed for the message being read, once its head is complete; -1 while reading the head. */
  #need = -1;

  constructor(
    private readonly events: StreamFramerEvents,
    private readonly limits: ParseLimits = DEFAULT_LIMITS,
  ) {}

  /** Bytes held while waiting for the rest of a message. */
  get buffered(): number {
    return this.#pending.length;
  }

  push(chunk: Buffer): void {
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    for (;;) {
      if (this.#need < 0) {
        this.#skipKeepAlives();
        if (this.#pending.length === 0) return;
        const blank = this.#pending.indexOf("\r\n\r\n", 0, "latin1");
        if (blank < 0) {
          if (this.#pending.length > this.limits.maxMessageBytes)
            throw new SipParseError("TOO_LARGE", "headers exceed the message size limit", 0);
          return;
        }
        const length = contentLength(this.#pending, blank);
        this.#need = blank + 4 + length;
        if (this.#need > this.limits.maxMessageBytes)
          throw new SipParseError(
            "TOO_LARGE",
            `message of ${this.#need} bytes exceeds ${this.limits.maxMessageBytes}`,
            0,
          );
      }
      if (this.#pending.length < this.#need) return;
      const message = this.#pending.subarray(0, this.#need);
      this.#pending = this.#pending.subarray(this.#need);
      this.#need = -1;
      this.events.message(message);
    }
  }

  /** Drops CRLFs between messages; two or more in a row are a keep-alive ping. */
  #skipKeepAlives(): void {
    const p = this.#pending;
    let i = 0;
    while (i + 1 < p.length && p[i] === 0x0d && p[i + 1] === 0x0a) i += 2;
    if (i === 0) return;
    // A lone CR at the end may be the start of another CRLF: keep it for the next chunk.
    this.#pending = p.subarray(i);
    if (i >= 4) this.events.ping();
  }
}

/** Finds Content-Length (or `l`) in the head that ends at `blank`; 0 when absent (RFC 3261 §18.3). */
function contentLength(buf: Buffer, blank: number): number {
  const head = buf.toString("latin1", 0, blank + 2);
  let found = -1;
  let pos = head.indexOf("\r\n") + 2;
  while (pos > 1 && pos < head.length) {
    const eol = head.indexOf("\r\n", pos);
    const colon = head.indexOf(":", pos);
    if (colon > pos && colon < eol) {
      let nameEnd = colon;
      while (
        nameEnd > pos &&
        (head.charCodeAt(nameEnd - 1) === 0x20 || head.charCodeAt(nameEnd - 1) === 0x09)
      )
        nameEnd--;
      const len = nameEnd - pos;
      const isCl =
        (len === 1 && (head.charCodeAt(pos) | 0x20) === 0x6c) ||
        (len === 14 && head.slice(pos, nameEnd).toLowerCase() === "content-length");
      if (isCl) {
        const i = skipWs(head, colon + 1, eol);
        const n = parseContentLength(head, i, trimEndWs(head, i, eol), pos);
        if (found >= 0 && found !== n)
          throw new SipParseError(
            "BAD_CONTENT_LENGTH",
            "conflicting Content-Length headers",
            pos,
            "Content-Length",
          );
        found = n;
      }
    }
    pos = eol + 2;
  }
  return Math.max(found, 0);
}
