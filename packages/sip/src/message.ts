import { SipParseError } from "./errors.js";
import { HeaderId, type HeaderNameKey, headerKey, nameMatches } from "./header-names.js";
import { type CSeq, parseCSeq } from "./headers/cseq.js";
import { fastTag, type NameAddr, parseNameAddr, tagOf } from "./headers/name-addr.js";
import { parseVia, type Via } from "./headers/via.js";
import { firstValueEnd, parseDecimal, splitCommaRanges } from "./syntax.js";

/** One header line as the message holds it after a change. */
interface HeaderLine {
  readonly id: HeaderId;
  readonly name: string;
  readonly value: string;
  /** The line exactly as received (name through CRLF), or null when added or changed by us. */
  readonly raw: string | null;
}

/**
 * The parser's index into `head`: first, for each hot HeaderId, the line it first appears on (-1
 * when absent); then 6 numbers per header line: id (+ FOLDED flag), name start, name end, value
 * start, value end, end of line (before CRLF).
 */
export type HeaderIndex = number[];
export const HOT_SLOTS = 12;
export const HEADER_STRIDE = 6;
export const FOLDED = 0x100;

/** The received form of a message: what the parser hands to the constructors below. */
export interface ReceivedParts {
  /** latin1 text of the message (start line, headers, and whatever follows: only offsets from `index` are read). */
  readonly head: string;
  readonly index: HeaderIndex;
  /** Offset in `head` where the first header line starts. */
  readonly headersStart: number;
  readonly body: Buffer;
  /** The message's exact bytes (head, blank line, body), for zero-copy forwarding when unmodified. */
  readonly bytes: Buffer;
}

/** Parsed values, one fixed shape for every message (undefined: not parsed yet; null: absent). */
interface MessageCache {
  topVia: Via | null | undefined;
  vias: Via[] | undefined;
  cseq: CSeq | undefined;
  from: NameAddr | undefined;
  to: NameAddr | undefined;
  callId: string | null | undefined;
  maxForwards: number | null | undefined;
}

function newCache(): MessageCache {
  return {
    topVia: undefined,
    vias: undefined,
    cseq: undefined,
    from: undefined,
    to: undefined,
    callId: undefined,
    maxForwards: undefined,
  };
}

const EMPTY = Buffer.alloc(0);
/** Offsets set by `#rangeOf`; module state so the hot getters allocate nothing to find a value. */
const RANGE = { start: 0, end: 0 };
/** The index of a message built by us rather than parsed: no line, no hot header. */
const NO_HEADERS: HeaderIndex = Object.freeze(new Array<number>(HOT_SLOTS).fill(-1)) as HeaderIndex;
const VIA = headerKey("Via");
const CSEQ = headerKey("CSeq");
const CALL_ID = headerKey("Call-ID");
const MAX_FORWARDS = headerKey("Max-Forwards");
const FROM = headerKey("From");
const TO = headerKey("To");

/**
 * A SIP message that keeps the bytes it was received as. Header values are latin1 strings (one
 * char per byte), so offsets are byte offsets and unknown bytes survive a round trip unchanged.
 * Typed getters parse on first use and cache; until something is changed, `toBuffer()` is the
 * received bytes themselves.
 */
export abstract class SipMessage {
  #head: string;
  #index: HeaderIndex;
  /** Set once the headers change; from then on the index is no longer used. */
  #lines: HeaderLine[] | null = null;
  #bytes: Buffer | null;
  #body: Buffer;
  #cache: MessageCache = newCache();
  protected startLineChanged = false;

  constructor(parts: ReceivedParts | null) {
    this.#head = parts?.head ?? "";
    this.#index = parts?.index ?? NO_HEADERS;
    this.#bytes = parts?.bytes ?? null;
    this.#body = parts?.body ?? EMPTY;
  }

  abstract get startLine(): string;
  abstract get version(): string;
  abstract isRequest(): this is SipRequest;

  // ---- raw header access -------------------------------------------------------------------

  /** Number of header lines. */
  get headerCount(): number {
    return this.#lines ? this.#lines.length : (this.#index.length - HOT_SLOTS) / HEADER_STRIDE;
  }

  /** Name of header line `i` as written. */
  headerNameAt(i: number): string {
    if (this.#lines) return this.#lines[i]!.name;
    const o = HOT_SLOTS + i * HEADER_STRIDE;
    return this.#head.slice(this.#index[o + 1], this.#index[o + 2]);
  }

  /** Value of header line `i`, trimmed, folding replaced by single spaces. */
  headerValueAt(i: number): string {
    if (this.#lines) return this.#lines[i]!.value;
    const o = HOT_SLOTS + i * HEADER_STRIDE;
    const v = this.#head.slice(this.#index[o + 3], this.#index[o + 4]);
    return (this.#index[o]! & FOLDED) === 0 ? v : v.replace(/[ \t]*\r\n[ \t]+/g, " ");
  }

  #idAt(i: number): HeaderId {
    if (this.#lines) return this.#lines[i]!.id;
    return (this.#index[HOT_SLOTS + i * HEADER_STRIDE]! & 0xff) as HeaderId;
  }

  #matches(i: number, key: HeaderNameKey): boolean {
    if (key.id !== HeaderId.Other) return this.#idAt(i) === key.id;
    if (this.#idAt(i) !== HeaderId.Other) return false;
    if (this.#lines) {
      const n = this.#lines[i]!.name;
      return nameMatches(n, 0, n.length, key);
    }
    const o = HOT_SLOTS + i * HEADER_STRIDE;
    return nameMatches(this.#head, this.#index[o + 1]!, this.#index[o + 2]!, key);
  }

  /**
   * When header line `i` is still the received text and not folded, sets RANGE to its value's
   * offsets in #head and returns true, so a getter parses it in place instead of slicing a copy.
   */
  #rangeOf(i: number): boolean {
    if (this.#lines !== null || i < 0) return false;
    const o = HOT_SLOTS + i * HEADER_STRIDE;
    if ((this.#index[o]! & FOLDED) !== 0) return false;
    RANGE.start = this.#index[o + 3]!;
    RANGE.end = this.#index[o + 4]!;
    return true;
  }

  #firstIndex(key: HeaderNameKey): number {
    if (this.#lines === null && key.id !== HeaderId.Other) return this.#index[key.id] ?? -1;
    const n = this.headerCount;
    for (let i = 0; i < n; i++) if (this.#matches(i, key)) return i;
    return -1;
  }

  /** First header line's value for `name` (any spelling or compact form), or undefined. */
  header(name: string): string | undefined {
    return this.#first(headerKey(name));
  }

  #first(key: HeaderNameKey): string | undefined {
    const i = this.#firstIndex(key);
    return i < 0 ? undefined : this.headerValueAt(i);
  }

  /** Every line's value for `name`, in order (a line may itself hold several comma-separated values). */
  headerLines(name: string): string[] {
    return this.#lines_(headerKey(name));
  }

  #lines_(key: HeaderNameKey): string[] {
    const out: string[] = [];
    const n = this.headerCount;
    for (let i = 0; i < n; i++) if (this.#matches(i, key)) out.push(this.headerValueAt(i));
    return out;
  }

  /** Every value for `name`, lines split at top-level commas (RFC 3261 §7.3.1). Not for headers whose values contain commas (dates, auth). */
  headerValues(name: string): string[] {
    const out: string[] = [];
    for (const line of this.headerLines(name)) {
      const r = splitCommaRanges(line);
      for (let j = 0; j < r.length; j += 2) out.push(line.slice(r[j], r[j + 1]));
    }
    return out;
  }

  hasHeader(name: string): boolean {
    return this.#firstIndex(headerKey(name)) >= 0;
  }

  // ---- typed getters (parsed on first use, cached) -----------------------------------------

  /** Every Via value, top first. Throws SipParseError if one is malformed. */
  vias(): Via[] {
    let v = this.#cache.vias;
    if (!v) {
      v = [];
      for (const line of this.#lines_(VIA)) {
        const r = splitCommaRanges(line);
        for (let j = 0; j < r.length; j += 2) v.push(parseVia(line, r[j], r[j + 1]));
      }
      this.#cache.vias = v;
    }
    return v;
  }

  /** The top Via, the one a transaction is matched on; undefined when the message has none. Parses only that value. */
  topVia(): Via | undefined {
    if (this.#cache.topVia === undefined) {
      const i = this.#firstIndex(VIA);
      if (i < 0) this.#cache.topVia = null;
      else if (this.#rangeOf(i)) {
        const { start, end } = RANGE;
        this.#cache.topVia = parseVia(this.#head, start, firstValueEnd(this.#head, start, end));
      } else {
        const line = this.headerValueAt(i);
        this.#cache.topVia = parseVia(line, 0, firstValueEnd(line));
      }
    }
    return this.#cache.topVia ?? undefined;
  }

  cseq(): CSeq {
    let c = this.#cache.cseq;
    if (!c) {
      const i = this.#firstIndex(CSEQ);
      if (i < 0) throw new SipParseError("MISSING_HEADER", "no CSeq header", -1, "CSeq");
      c = this.#rangeOf(i) ? parseCSeq(this.#head, RANGE.start, RANGE.end) : parseCSeq(this.headerValueAt(i));
      this.#cache.cseq = c;
    }
    return c;
  }

  callId(): string | undefined {
    if (this.#cache.callId === undefined) this.#cache.callId = this.#first(CALL_ID) ?? null;
    return this.#cache.callId ?? undefined;
  }

  from(): NameAddr {
    let f = this.#cache.from;
    if (!f) {
      f = this.#nameAddr("From");
      this.#cache.from = f;
    }
    return f;
  }

  to(): NameAddr {
    let t = this.#cache.to;
    if (!t) {
      t = this.#nameAddr("To");
      this.#cache.to = t;
    }
    return t;
  }

  /** From tag, found without parsing the whole From value (the full parse is `from()`). */
  fromTag(): string | undefined {
    if (this.#cache.from) return tagOf(this.#cache.from);
    return this.#fastTag(this.#firstIndex(FROM));
  }

  /** To tag, found without parsing the whole To value (the full parse is `to()`). */
  toTag(): string | undefined {
    if (this.#cache.to) return tagOf(this.#cache.to);
    return this.#fastTag(this.#firstIndex(TO));
  }

  #fastTag(i: number): string | undefined {
    if (i < 0) return undefined;
    return this.#rangeOf(i) ? fastTag(this.#head, RANGE.start, RANGE.end) : fastTag(this.headerValueAt(i));
  }

  /** Max-Forwards, or undefined when absent. Throws SipParseError when not a number 0..255. */
  maxForwards(): number | undefined {
    if (this.#cache.maxForwards === undefined) {
      const i = this.#firstIndex(MAX_FORWARDS);
      if (i < 0) this.#cache.maxForwards = null;
      else {
        // Leading zeros are legal (RFC 4475 §3.1.1.1 sends "0068").
        let n: number;
        if (this.#rangeOf(i)) n = parseDecimal(this.#head, RANGE.start, RANGE.end, 10);
        else {
          const v = this.headerValueAt(i);
          n = parseDecimal(v, 0, v.length, 10);
        }
        if (n < 0 || n > 255)
          throw new SipParseError("BAD_NUMBER", "Max-Forwards is not 0..255", 0, "Max-Forwards");
        this.#cache.maxForwards = n;
      }
    }
    return this.#cache.maxForwards ?? undefined;
  }

  /** Route values, top first. */
  routes(): NameAddr[] {
    return this.#nameAddrs("Route");
  }

  recordRoutes(): NameAddr[] {
    return this.#nameAddrs("Record-Route");
  }

  paths(): NameAddr[] {
    return this.#nameAddrs("Path");
  }

  /** Contact values, or "*" for the wildcard of a REGISTER (RFC 3261 §10.2.2). */
  contacts(): NameAddr[] | "*" {
    const lines = this.headerLines("Contact");
    if (lines.length === 1 && lines[0] === "*") return "*";
    return this.#nameAddrs("Contact");
  }

  /** Expires header as a number of seconds, or undefined. */
  expires(): number | undefined {
    const v = this.header("Expires");
    if (v === undefined) return undefined;
    const n = parseDecimal(v, 0, v.length, 10);
    if (n < 0) throw new SipParseError("BAD_NUMBER", "Expires is not a number", 0, "Expires");
    return n;
  }

  contentType(): string | undefined {
    return this.header("Content-Type");
  }

  get body(): Buffer {
    return this.#body;
  }

  #nameAddr(name: string): NameAddr {
    const v = this.header(name);
    if (v === undefined) throw new SipParseError("MISSING_HEADER", `no ${name} header`, -1, name);
    return parseNameAddr(v, 0, v.length, name);
  }

  #nameAddrs(name: string): NameAddr[] {
    const out: NameAddr[] = [];
    for (const line of this.headerLines(name)) {
      const r = splitCommaRanges(line);
      for (let j = 0; j < r.length; j += 2) out.push(parseNameAddr(line, r[j], r[j + 1], name));
    }
    return out;
  }

  // ---- changes -----------------------------------------------------------------------------

  #materialize(): HeaderLine[] {
    if (this.#lines) return this.#lines;
    const lines: HeaderLine[] = [];
    const n = this.headerCount;
    for (let i = 0; i < n; i++) {
      const o = HOT_SLOTS + i * HEADER_STRIDE;
      lines.push({
        id: (this.#index[o]! & 0xff) as HeaderId,
        name: this.headerNameAt(i),
        value: this.headerValueAt(i),
        raw: this.#head.slice(this.#index[o + 1], this.#index[o + 5]! + 2),
      });
    }
    this.#lines = lines;
    return lines;
  }

  #changed(): void {
    this.#bytes = null;
    this.#cache = newCache();
  }

  protected markStartLineChanged(): void {
    this.startLineChanged = true;
    this.#bytes = null;
  }

  static #line(name: string, value: string): HeaderLine {
    const key = headerKey(name);
    return { id: key.id, name, value, raw: null };
  }

  /** Inserts a header line above the first line of the same name, or at the top when there is none (Via, Route, Record-Route). */
  prependHeader(name: string, value: string): this {
    const key = headerKey(name);
    const i = this.#firstIndex(key);
    this.#materialize().splice(Math.max(i, 0), 0, SipMessage.#line(name, value));
    this.#changed();
    return this;
  }

  /** Adds a header line after the last line of the same name, or at the end. */
  appendHeader(name: string, value: string): this {
    const key = headerKey(name);
    let last = -1;
    const n = this.headerCount;
    for (let i = 0; i < n; i++) if (this.#matches(i, key)) last = i;
    const lines = this.#materialize();
    lines.splice(last < 0 ? lines.length : last + 1, 0, SipMessage.#line(name, value));
    this.#changed();
    return this;
  }

  /** Replaces every line of `name` by one line with `value` (kept where the first one stood). */
  setHeader(name: string, value: string): this {
    const key = headerKey(name);
    const i = this.#firstIndex(key);
    if (i < 0) return this.appendHeader(name, value);
    const lines = this.#materialize();
    lines[i] = SipMessage.#line(lines[i]!.name, value);
    for (let j = lines.length - 1; j > i; j--) if (this.#matches(j, key)) lines.splice(j, 1);
    this.#changed();
    return this;
  }

  removeHeader(name: string): this {
    const key = headerKey(name);
    if (this.#firstIndex(key) < 0) return this;
    const lines = this.#materialize();
    for (let j = lines.length - 1; j >= 0; j--) if (this.#matches(j, key)) lines.splice(j, 1);
    this.#changed();
    return this;
  }

  /** Removes the topmost value of a multi-valued header (top Via, top Route); returns it, or undefined. */
  removeFirstValue(name: string): string | undefined {
    const key = headerKey(name);
    const i = this.#firstIndex(key);
    if (i < 0) return undefined;
    const lines = this.#materialize();
    const line = lines[i]!;
    const r = splitCommaRanges(line.value);
    const removed = line.value.slice(r[0], r[1]);
    if (r.length <= 2) lines.splice(i, 1);
    else lines[i] = SipMessage.#line(line.name, line.value.slice(r[2]));
    this.#changed();
    return removed;
  }

  /** Replaces the body and sets Content-Length (and Content-Type when given). */
  setBody(body: Buffer | string, contentType?: string): this {
    this.#body = typeof body === "string" ? Buffer.from(body, "utf8") : body;
    if (contentType !== undefined) this.setHeader("Content-Type", contentType);
    this.setHeader("Content-Length", String(this.#body.length));
    return this;
  }

  /** True until a header, the start line or the body is changed. */
  get isUnmodified(): boolean {
    return this.#bytes !== null;
  }

  // ---- serialization -------------------------------------------------------------------------

  /**
   * The message on the wire. Unmodified: the received bytes themselves (no copy). Modified: start
   * line, every untouched header line byte for byte, changed and new lines in canonical form.
   */
  toBuffer(): Buffer {
    if (this.#bytes) return this.#bytes;
    let head = `${this.startLine}\r\n`;
    const n = this.headerCount;
    if (this.#lines) {
      for (const line of this.#lines) head += line.raw ?? `${line.name}: ${line.value}\r\n`;
    } else if (n > 0) {
      const first = this.#index[HOT_SLOTS + 1]!;
      const last = this.#index[HOT_SLOTS + (n - 1) * HEADER_STRIDE + 5]! + 2;
      head += this.#head.slice(first, last);
    }
    head += "\r\n";
    const headLen = Buffer.byteLength(head, "latin1");
    const out = Buffer.allocUnsafe(headLen + this.#body.length);
    out.write(head, 0, headLen, "latin1");
    this.#body.copy(out, headLen);
    return out;
  }

  toString(): string {
    return this.toBuffer().toString("latin1");
  }
}

export class SipRequest extends SipMessage {
  #method: string;
  #uri: string;
  readonly version: string;

  constructor(method: string, uri: string, version: string, parts: ReceivedParts | null) {
    super(parts);
    this.#method = method;
    this.#uri = uri;
    this.version = version;
  }

  get method(): string {
    return this.#method;
  }

  /** Request-URI as text; parse it with `parseUri` when needed. */
  get uri(): string {
    return this.#uri;
  }

  set uri(uri: string) {
    this.#uri = uri;
    this.markStartLineChanged();
  }

  get startLine(): string {
    return `${this.#method} ${this.#uri} ${this.version}`;
  }

  isRequest(): this is SipRequest {
    return true;
  }
}

export class SipResponse extends SipMessage {
  #status: number;
  #reason: string;
  readonly version: string;

  constructor(status: number, reason: string, version: string, parts: ReceivedParts | null) {
    super(parts);
    this.#status = status;
    this.#reason = reason;
    this.version = version;
  }

  get status(): number {
    return this.#status;
  }

  get reason(): string {
    return this.#reason;
  }

  setStatus(status: number, reason: string): this {
    this.#status = status;
    this.#reason = reason;
    this.markStartLineChanged();
    return this;
  }

  get startLine(): string {
    return `${this.version} ${this.#status} ${this.#reason}`;
  }

  isRequest(): this is SipRequest {
    return false;
  }
}

/** Any SIP message. */
export type AnySipMessage = SipRequest | SipResponse;
