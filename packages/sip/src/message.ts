// Imported rather than the global, which Node defines as an accessor (a getter call per use).
import { Buffer } from "node:buffer";
import { SipParseError } from "./errors.js";
import { HeaderId, type HeaderNameKey, headerKey, nameMatches } from "./header-names.js";
import { type CSeq, parseCSeq, parseCSeqFast } from "./headers/cseq.js";
import { fastTag, fastTagBytes, type NameAddr, parseNameAddr, tagOf } from "./headers/name-addr.js";
import { parseVia, parseViaFast, type Via } from "./headers/via.js";
import { firstValueEnd, parseDecimal, skipWs, splitCommaRanges, trimEndWs } from "./syntax.js";

/** A header line added or rewritten by us. */
interface AddedLine {
  readonly id: HeaderId;
  readonly name: string;
  readonly value: string;
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
  /** latin1 text of the message (start line, headers, and whatever follows: only offsets up to `bytes.length` are read). */
  readonly head: string;
  readonly index: HeaderIndex;
  /** Offset in `head` and `bytes` where the body starts (after the blank line). */
  readonly bodyStart: number;
  /** The message's exact bytes (head, blank line, body), for zero-copy forwarding when unmodified. */
  readonly bytes: Buffer;
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
const ROUTE = headerKey("Route");
const RECORD_ROUTE = headerKey("Record-Route");
const PATH = headerKey("Path");
const CONTACT = headerKey("Contact");

/**
 * Parses one value s[start, end) of the header `header`; `bytes` are the bytes `s` was decoded
 * from (same offsets) when it is the received text, for a parser's fast path.
 */
type ValueParser<T> = (s: string, start: number, end: number, header: string, bytes: Uint8Array | null) => T;

function parseViaValue(
  s: string,
  start: number,
  end: number,
  _header: string,
  bytes: Uint8Array | null,
): Via {
  return (bytes !== null ? parseViaFast(bytes, s, start, end) : undefined) ?? parseVia(s, start, end);
}

/**
 * A SIP message that keeps the bytes it was received as. Header values are latin1 strings (one
 * char per byte), so offsets are byte offsets and unknown bytes survive a round trip unchanged.
 * Typed getters parse on first use, in place on the received text, and cache; until something is
 * changed, `toBuffer()` is the received bytes themselves.
 *
 * A change does not copy the received lines: the message then keeps a list of line numbers, each
 * a received line (read through the index, as before the change) or a line added by us, and
 * `toBuffer()` writes runs of consecutive received lines as they came.
 */
export abstract class SipMessage {
  #head: string;
  #index: HeaderIndex;
  /** The received bytes (null when built by us); `#head` is their latin1 text. */
  #received: Buffer | null;
  /** The received bytes while nothing has changed: what `toBuffer()` returns. */
  #bytes: Buffer | null;
  #bodyStart: number;
  /** The body; null while it is the received one and nobody has asked for it (cut out on first read). */
  #body: Buffer | null;
  #bodyChanged = false;
  /**
   * Null while the header lines are as received. After a change: the lines in order, each a
   * received line's number (≥ 0) or `~k` for `#added[k]`.
   */
  #lines: number[] | null = null;
  #added: AddedLine[] | null = null;
  // Parsed values, cleared by every header change (undefined: not parsed yet; null: absent).
  #topVia: Via | null | undefined = undefined;
  #vias: Via[] | undefined = undefined;
  #cseq: CSeq | undefined = undefined;
  #from: NameAddr | undefined = undefined;
  #to: NameAddr | undefined = undefined;
  #callId: string | null | undefined = undefined;
  #maxForwards: number | null | undefined = undefined;
  protected startLineChanged = false;

  constructor(parts: ReceivedParts | null) {
    if (parts === null) {
      this.#head = "";
      this.#index = NO_HEADERS;
      this.#received = null;
      this.#bytes = null;
      this.#bodyStart = 0;
      this.#body = EMPTY;
    } else {
      this.#head = parts.head;
      this.#index = parts.index;
      this.#received = parts.bytes;
      this.#bytes = parts.bytes;
      this.#bodyStart = parts.bodyStart;
      this.#body = null;
    }
  }

  abstract get startLine(): string;
  abstract get version(): string;
  abstract isRequest(): this is SipRequest;

  // ---- raw header access -------------------------------------------------------------------

  /** Number of header lines. */
  get headerCount(): number {
    return this.#lines ? this.#lines.length : (this.#index.length - HOT_SLOTS) / HEADER_STRIDE;
  }

  /** Header line `i` as a received line's number (≥ 0), or `~k` for `#added[k]`. */
  #lineAt(i: number): number {
    return this.#lines === null ? i : this.#lines[i]!;
  }

  /** Name of header line `i` as written. */
  headerNameAt(i: number): string {
    const k = this.#lineAt(i);
    if (k < 0) return this.#added![~k]!.name;
    const o = HOT_SLOTS + k * HEADER_STRIDE;
    return this.#head.slice(this.#index[o + 1], this.#index[o + 2]);
  }

  /** Value of header line `i`, trimmed, folding replaced by single spaces. */
  headerValueAt(i: number): string {
    const k = this.#lineAt(i);
    if (k < 0) return this.#added![~k]!.value;
    const o = HOT_SLOTS + k * HEADER_STRIDE;
    const v = this.#head.slice(this.#index[o + 3], this.#index[o + 4]);
    return (this.#index[o]! & FOLDED) === 0 ? v : v.replace(/[ \t]*\r\n[ \t]+/g, " ");
  }

  #idAt(i: number): HeaderId {
    const k = this.#lineAt(i);
    if (k < 0) return this.#added![~k]!.id;
    return (this.#index[HOT_SLOTS + k * HEADER_STRIDE]! & 0xff) as HeaderId;
  }

  #matches(i: number, key: HeaderNameKey): boolean {
    if (key.id !== HeaderId.Other) return this.#idAt(i) === key.id;
    if (this.#idAt(i) !== HeaderId.Other) return false;
    const k = this.#lineAt(i);
    if (k < 0) {
      const n = this.#added![~k]!.name;
      return nameMatches(n, 0, n.length, key);
    }
    const o = HOT_SLOTS + k * HEADER_STRIDE;
    return nameMatches(this.#head, this.#index[o + 1]!, this.#index[o + 2]!, key);
  }

  /**
   * When header line `i` is a received line and not folded, sets RANGE to its value's offsets in
   * #head and returns true, so a getter parses it in place instead of slicing a copy.
   */
  #rangeOf(i: number): boolean {
    if (i < 0) return false;
    const k = this.#lineAt(i);
    if (k < 0) return false;
    const o = HOT_SLOTS + k * HEADER_STRIDE;
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
    const key = headerKey(name);
    const out: string[] = [];
    const n = this.headerCount;
    for (let i = this.#firstIndex(key); i >= 0 && i < n; i++)
      if (this.#matches(i, key)) out.push(this.headerValueAt(i));
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
    let v = this.#vias;
    if (!v) {
      v = this.#parseValues(VIA, parseViaValue, "Via");
      this.#vias = v;
    }
    return v;
  }

  /** The top Via, the one a transaction is matched on; undefined when the message has none. Parses only that value. */
  topVia(): Via | undefined {
    if (this.#topVia === undefined) {
      const i = this.#firstIndex(VIA);
      if (i < 0) this.#topVia = null;
      else if (this.#rangeOf(i)) {
        const head = this.#head;
        const { start } = RANGE;
        const end = firstValueEnd(head, start, RANGE.end);
        this.#topVia = parseViaFast(this.#received!, head, start, end) ?? parseVia(head, start, end);
      } else {
        const line = this.headerValueAt(i);
        this.#topVia = parseVia(line, 0, firstValueEnd(line));
      }
    }
    return this.#topVia ?? undefined;
  }

  cseq(): CSeq {
    let c = this.#cseq;
    if (!c) {
      const i = this.#firstIndex(CSEQ);
      if (i < 0) throw new SipParseError("MISSING_HEADER", "no CSeq header", -1, "CSeq");
      if (this.#rangeOf(i)) {
        const { start, end } = RANGE;
        c = parseCSeqFast(this.#received!, this.#head, start, end) ?? parseCSeq(this.#head, start, end);
      } else c = parseCSeq(this.headerValueAt(i));
      this.#cseq = c;
    }
    return c;
  }

  callId(): string | undefined {
    if (this.#callId === undefined) this.#callId = this.#first(CALL_ID) ?? null;
    return this.#callId ?? undefined;
  }

  from(): NameAddr {
    let f = this.#from;
    if (!f) {
      f = this.#nameAddr(FROM);
      this.#from = f;
    }
    return f;
  }

  to(): NameAddr {
    let t = this.#to;
    if (!t) {
      t = this.#nameAddr(TO);
      this.#to = t;
    }
    return t;
  }

  /** From tag, found without parsing the whole From value (the full parse is `from()`). */
  fromTag(): string | undefined {
    if (this.#from) return tagOf(this.#from);
    return this.#fastTag(this.#firstIndex(FROM));
  }

  /** To tag, found without parsing the whole To value (the full parse is `to()`). */
  toTag(): string | undefined {
    if (this.#to) return tagOf(this.#to);
    return this.#fastTag(this.#firstIndex(TO));
  }

  #fastTag(i: number): string | undefined {
    if (i < 0) return undefined;
    return this.#rangeOf(i)
      ? fastTagBytes(this.#received!, this.#head, RANGE.start, RANGE.end)
      : fastTag(this.headerValueAt(i));
  }

  /** Max-Forwards, or undefined when absent. Throws SipParseError when not a number 0..255. */
  maxForwards(): number | undefined {
    if (this.#maxForwards === undefined) {
      const i = this.#firstIndex(MAX_FORWARDS);
      if (i < 0) this.#maxForwards = null;
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
        this.#maxForwards = n;
      }
    }
    return this.#maxForwards ?? undefined;
  }

  /** Route values, top first. */
  routes(): NameAddr[] {
    return this.#parseValues(ROUTE, parseNameAddr, "Route");
  }

  recordRoutes(): NameAddr[] {
    return this.#parseValues(RECORD_ROUTE, parseNameAddr, "Record-Route");
  }

  paths(): NameAddr[] {
    return this.#parseValues(PATH, parseNameAddr, "Path");
  }

  /** Contact values, or "*" for the wildcard of a REGISTER (RFC 3261 §10.2.2). */
  contacts(): NameAddr[] | "*" {
    // "*" only as the one Contact line.
    const i = this.#firstIndex(CONTACT);
    if (i >= 0 && this.headerValueAt(i) === "*") {
      let more = false;
      for (let j = i + 1; j < this.headerCount && !more; j++) more = this.#matches(j, CONTACT);
      if (!more) return "*";
    }
    return this.#parseValues(CONTACT, parseNameAddr, "Contact");
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
    let b = this.#body;
    if (b === null) {
      const received = this.#received!;
      b = this.#bodyStart === received.length ? EMPTY : received.subarray(this.#bodyStart);
      this.#body = b;
    }
    return b;
  }

  #nameAddr(key: HeaderNameKey): NameAddr {
    const i = this.#firstIndex(key);
    if (i < 0) throw new SipParseError("MISSING_HEADER", `no ${key.canonical} header`, -1, key.canonical);
    if (this.#rangeOf(i)) return parseNameAddr(this.#head, RANGE.start, RANGE.end, key.canonical);
    const v = this.headerValueAt(i);
    return parseNameAddr(v, 0, v.length, key.canonical);
  }

  /**
   * Every value of every `key` line, parsed by `parse`: lines split at top-level commas (RFC 3261
   * §7.3.1), received lines parsed in place. A line without a comma (the usual case) needs no split.
   */
  #parseValues<T>(key: HeaderNameKey, parse: ValueParser<T>, header: string): T[] {
    const out: T[] = [];
    const n = this.headerCount;
    for (let i = this.#firstIndex(key); i >= 0 && i < n; i++) {
      if (!this.#matches(i, key)) continue;
      let s: string;
      let bytes: Uint8Array | null = null;
      let start = 0;
      let end: number;
      if (this.#rangeOf(i)) {
        s = this.#head;
        bytes = this.#received;
        start = RANGE.start;
        end = RANGE.end;
      } else {
        s = this.headerValueAt(i);
        end = s.length;
      }
      const comma = s.indexOf(",", start);
      if (comma < 0 || comma >= end) {
        // As splitCommaRanges would give it: trimmed, and nothing when empty.
        start = skipWs(s, start, end);
        end = trimEndWs(s, start, end);
        if (end > start) out.push(parse(s, start, end, header, bytes));
      } else {
        const r = splitCommaRanges(s, start, end);
        for (let j = 0; j < r.length; j += 2) out.push(parse(s, r[j]!, r[j + 1]!, header, bytes));
      }
    }
    return out;
  }

  // ---- changes -----------------------------------------------------------------------------

  /** The line list (see `#lines`), created on the first change: the received lines, in order. */
  #materialize(): number[] {
    let lines = this.#lines;
    if (lines === null) {
      lines = [];
      const n = (this.#index.length - HOT_SLOTS) / HEADER_STRIDE;
      for (let k = 0; k < n; k++) lines.push(k);
      this.#lines = lines;
    }
    return lines;
  }

  /** Stores a new line and returns its entry for `#lines`. */
  #newLine(id: HeaderId, name: string, value: string): number {
    const added = this.#added ?? [];
    this.#added = added;
    added.push({ id, name, value });
    return ~(added.length - 1);
  }

  #changed(): void {
    this.#bytes = null;
    this.#topVia = undefined;
    this.#vias = undefined;
    this.#cseq = undefined;
    this.#from = undefined;
    this.#to = undefined;
    this.#callId = undefined;
    this.#maxForwards = undefined;
  }

  protected markStartLineChanged(): void {
    this.startLineChanged = true;
    this.#bytes = null;
  }

  /** Inserts a header line above the first line of the same name, or at the top when there is none (Via, Route, Record-Route). */
  prependHeader(name: string, value: string): this {
    const key = headerKey(name);
    const i = this.#firstIndex(key);
    this.#materialize().splice(Math.max(i, 0), 0, this.#newLine(key.id, name, value));
    this.#changed();
    return this;
  }

  /** Adds a header line after the last line of the same name, or at the end. */
  appendHeader(name: string, value: string): this {
    const key = headerKey(name);
    let last = -1;
    const n = this.headerCount;
    for (let i = Math.max(this.#firstIndex(key), 0); i < n; i++) if (this.#matches(i, key)) last = i;
    const lines = this.#materialize();
    lines.splice(last < 0 ? lines.length : last + 1, 0, this.#newLine(key.id, name, value));
    this.#changed();
    return this;
  }

  /** Replaces every line of `name` by one line with `value` (kept where the first one stood). */
  setHeader(name: string, value: string): this {
    const key = headerKey(name);
    const i = this.#firstIndex(key);
    if (i < 0) return this.appendHeader(name, value);
    const written = this.headerNameAt(i);
    const lines = this.#materialize();
    lines[i] = this.#newLine(key.id, written, value);
    for (let j = lines.length - 1; j > i; j--) if (this.#matches(j, key)) lines.splice(j, 1);
    this.#changed();
    return this;
  }

  removeHeader(name: string): this {
    const key = headerKey(name);
    const first = this.#firstIndex(key);
    if (first < 0) return this;
    const lines = this.#materialize();
    for (let j = lines.length - 1; j >= first; j--) if (this.#matches(j, key)) lines.splice(j, 1);
    this.#changed();
    return this;
  }

  /** Removes the topmost value of a multi-valued header (top Via, top Route); returns it, or undefined. */
  removeFirstValue(name: string): string | undefined {
    const key = headerKey(name);
    const i = this.#firstIndex(key);
    if (i < 0) return undefined;
    let s: string;
    let start = 0;
    let end: number;
    if (this.#rangeOf(i)) {
      s = this.#head;
      start = RANGE.start;
      end = RANGE.end;
    } else {
      s = this.headerValueAt(i);
      end = s.length;
    }
    let removed: string;
    let rest: string | null = null;
    const comma = s.indexOf(",", start);
    if (comma < 0 || comma >= end) {
      // One value on the line (the usual case): the whole line goes, nothing to split.
      const from = skipWs(s, start, end);
      const to = trimEndWs(s, from, end);
      removed = s.slice(to > from ? from : start, to > from ? to : end);
    } else {
      const r = splitCommaRanges(s, start, end);
      // Only commas and whitespace: the whole value goes, as it is.
      removed = r.length === 0 ? s.slice(start, end) : s.slice(r[0], r[1]);
      if (r.length > 2) rest = s.slice(r[2], end);
    }
    const lines = this.#materialize();
    if (rest === null) lines.splice(i, 1);
    else lines[i] = this.#newLine(key.id, this.headerNameAt(i), rest);
    this.#changed();
    return removed;
  }

  /** Replaces the body and sets Content-Length (and Content-Type when given). */
  setBody(body: Buffer | string, contentType?: string): this {
    this.#body = typeof body === "string" ? Buffer.from(body, "utf8") : body;
    this.#bodyChanged = true;
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
   * Runs of consecutive received lines (and an unchanged body after the last of them) are taken
   * as one slice of the received text, so the cost is in the number of changes, not of lines.
   * The pieces are joined as a string and encoded once: measured faster than copying runs from
   * the received Buffer (Buffer#copy allocates a view per call) or writing each piece natively.
   */
  toBuffer(): Buffer {
    if (this.#bytes) return this.#bytes;
    const head = this.#head;
    const index = this.#index;
    let text = `${this.startLine}\r\n`;
    // Received text [runStart, runEnd) not yet appended; runEnd 0 when there is none (a header
    // line never starts at 0: the start line is there).
    let runStart = 0;
    let runEnd = 0;
    const n = this.headerCount;
    for (let i = 0; i < n; i++) {
      const k = this.#lineAt(i);
      if (k >= 0) {
        const o = HOT_SLOTS + k * HEADER_STRIDE;
        const lineStart = index[o + 1]!;
        if (lineStart !== runEnd) {
          if (runEnd !== 0) text += head.slice(runStart, runEnd);
          runStart = lineStart;
        }
        runEnd = index[o + 5]! + 2;
      } else {
        if (runEnd !== 0) text += head.slice(runStart, runEnd);
        runEnd = 0;
        const line = this.#added![~k]!;
        text += `${line.name}: ${line.value}\r\n`;
      }
    }
    const received = this.#received;
    if (received !== null && !this.#bodyChanged) {
      // The blank line and the body as received, in the same slice as the last run when it ends there.
      if (runEnd !== this.#bodyStart - 2) {
        if (runEnd !== 0) text += head.slice(runStart, runEnd);
        text += "\r\n";
        runStart = this.#bodyStart;
      }
      text += head.slice(runStart, received.length);
      return Buffer.from(text, "latin1");
    }
    if (runEnd !== 0) text += head.slice(runStart, runEnd);
    text += "\r\n";
    const body = this.body;
    const out = Buffer.allocUnsafe(text.length + body.length);
    const written = out.write(text, 0, text.length, "latin1");
    body.copy(out, written);
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
