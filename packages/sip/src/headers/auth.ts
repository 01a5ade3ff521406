/**
 * WWW-Authenticate / Proxy-Authenticate (challenges) and Authorization / Proxy-Authorization
 * (credentials), RFC 3261 §20.7, §20.27, §20.28, §20.44, grammar in §25.1, with the Digest
 * parameters of RFC 7616 §3.3/§3.4 and RFC 8760.
 *
 * The scanner is hand-written (charCodeAt + a lookup table) and tolerant where real phones
 * are sloppy (unquoted values holding `/`, `:` or `=`, whitespace around `=`, empty list
 * elements), but strict where ambiguity would be dangerous: duplicate parameters, unterminated
 * quotes and control characters in values are all rejected. Every failure is a SipParseError
 * with code BAD_AUTH.
 */
import { SipParseError } from "../errors.js";

/**
 * One challenge from WWW-Authenticate / Proxy-Authenticate. Non-Digest schemes are returned too
 * (a header value may mix schemes); their parameters land in `params`, or `token68` for the
 * RFC 7235 §2.1 form (`Basic dXNlcg==`).
 */
export interface DigestChallenge {
  /** "Digest" (normalised spelling when it matches case-insensitively), else as received. */
  scheme: string;
  realm?: string;
  /** Space-separated URI list, kept as received (RFC 7616 §3.3). */
  domain?: string;
  nonce?: string;
  opaque?: string;
  /** RFC 7616 §3.3: only a case-insensitive "true" means true. */
  stale?: boolean;
  /** As received; resolve with `parseDigestAlgorithm` (case-insensitive). Absent means MD5. */
  algorithm?: string;
  /** qop-options, split and lowercased (`qop="auth,auth-int"` → ["auth", "auth-int"]). */
  qop?: string[];
  /** RFC 7616 §3.3 (only "UTF-8" is defined). */
  charset?: string;
  /** RFC 7616 §3.3: the server asks for the username to be hashed. */
  userhash?: boolean;
  /** RFC 7235 §2.1 token68 form, for non-Digest schemes only. */
  token68?: string;
  /** Every other parameter, lowercased name → unquoted value (null-prototype object). */
  params: Record<string, string>;
}

/** One credentials value from Authorization / Proxy-Authorization (RFC 3261 §25.1 digest-response). */
export interface DigestCredentials {
  scheme: string;
  username: string;
  realm: string;
  nonce: string;
  /** digest-uri: the Request-URI as the client saw it (RFC 3261 §22.4). */
  uri: string;
  /** request-digest, hex. */
  response: string;
  algorithm?: string;
  cnonce?: string;
  opaque?: string;
  /** message-qop: the single qop the client chose ("auth" / "auth-int"), lowercased. */
  qop?: string;
  /** nonce-count, kept exactly as sent because it is hashed as sent (8 hex digits). */
  nc?: string;
  /** RFC 7616 §3.4.4: `username` is H(username ":" realm), not the plain name. */
  userhash?: boolean;
  /** Every other parameter, lowercased name → unquoted value (null-prototype object). */
  params: Record<string, string>;
}

/** What `formatChallenge` accepts: scheme defaults to "Digest", params may be left out. */
export type DigestChallengeInit = Omit<DigestChallenge, "scheme" | "params"> & {
  scheme?: string;
  params?: Readonly<Record<string, string>>;
};

/** What `formatCredentials` accepts: scheme defaults to "Digest", params may be left out. */
export type DigestCredentialsInit = Omit<DigestCredentials, "scheme" | "params"> & {
  scheme?: string;
  params?: Readonly<Record<string, string>>;
};

// ---------------------------------------------------------------------------------------------
// Character classes (RFC 3261 §25.1)
// ---------------------------------------------------------------------------------------------

const SP = 0x20;
const HTAB = 0x09;
const CR = 0x0d;
const LF = 0x0a;
const DQUOTE = 0x22;
const COMMA = 0x2c;
const EQUALS = 0x3d;
const BACKSLASH = 0x5c;
const DEL = 0x7f;

/** token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~") */
const TOKEN_CHAR = new Uint8Array(128);
/** token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" (RFC 7235 §2.1) */
const TOKEN68_CHAR = new Uint8Array(128);
{
  const alphanum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  for (const ch of `${alphanum}-.!%*_+\`'~`) TOKEN_CHAR[ch.charCodeAt(0)] = 1;
  for (const ch of `${alphanum}-._~+/`) TOKEN68_CHAR[ch.charCodeAt(0)] = 1;
}

function isTokenChar(c: number): boolean {
  return c < 128 && TOKEN_CHAR[c] === 1;
}

function isToken68Char(c: number): boolean {
  return c < 128 && TOKEN68_CHAR[c] === 1;
}

/** LWS/SWS: SP, HTAB, and CRLF when the caller has not unfolded the header (RFC 3261 §25.1). */
function isWhitespace(c: number): boolean {
  return c === SP || c === HTAB || c === CR || c === LF;
}

/** C0 controls other than HTAB, and DEL: never legal inside a value. */
function isForbiddenControl(c: number): boolean {
  return (c < 0x20 && c !== HTAB) || c === DEL;
}

/** True if `value` can be written bare (RFC 3261 token); otherwise it needs a quoted-string. */
function isToken(value: string): boolean {
  if (value.length === 0) return false;
  for (let i = 0; i < value.length; i++) if (!isTokenChar(value.charCodeAt(i))) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Scanner: header value → list of (scheme, token68 | params)
// ---------------------------------------------------------------------------------------------

/** One comma-list element group as scanned, before Digest fields are picked out. */
interface ScannedAuth {
  scheme: string;
  token68?: string;
  /** Insertion-ordered, names lowercased. */
  params: Map<string, string>;
  start: number;
}

class AuthScanner {
  pos = 0;
  constructor(
    private readonly text: string,
    private readonly header: string | undefined,
  ) {}

  fail(message: string, at = this.pos): never {
    throw new SipParseError("BAD_AUTH", message, at, this.header);
  }

  atEnd(): boolean {
    return this.pos >= this.text.length;
  }

  peek(): number {
    return this.pos < this.text.length ? this.text.charCodeAt(this.pos) : -1;
  }

  /** Skips whitespace; returns how many characters were skipped. */
  skipWhitespace(): number {
    const from = this.pos;
    while (this.pos < this.text.length && isWhitespace(this.text.charCodeAt(this.pos))) this.pos++;
    return this.pos - from;
  }

  /** Index just past the token starting at `from` (== from when there is none). */
  tokenEnd(from: number): number {
    let i = from;
    while (i < this.text.length && isTokenChar(this.text.charCodeAt(i))) i++;
    return i;
  }

  readToken(what: string): string {
    const end = this.tokenEnd(this.pos);
    if (end === this.pos) this.fail(`expected ${what}`);
    const token = this.text.slice(this.pos, end);
    this.pos = end;
    return token;
  }

  /**
   * RFC 7235 §2.1: a token68 is the whole credential/challenge body, so it must be followed by
   * the end of the element. `realm=x` is not one: after `realm=` comes more text.
   */
  token68EndAt(from: number): number {
    let i = from;
    while (i < this.text.length && isToken68Char(this.text.charCodeAt(i))) i++;
    if (i === from) return -1;
    while (i < this.text.length && this.text.charCodeAt(i) === EQUALS) i++;
    let j = i;
    while (j < this.text.length && isWhitespace(this.text.charCodeAt(j))) j++;
    return j === this.text.length || this.text.charCodeAt(j) === COMMA ? i : -1;
  }

  /**
   * quoted-string with quoted-pair (RFC 3261 §25.1). Fast path: no backslash, one slice.
   * Control characters are refused so a parsed value can always be written back safely.
   */
  readQuotedString(): string {
    const open = this.pos;
    this.pos++; // opening DQUOTE
    let out = "";
    let runStart = this.pos;
    while (this.pos < this.text.length) {
      const c = this.text.charCodeAt(this.pos);
      if (c === DQUOTE) {
        out += this.text.slice(runStart, this.pos);
        this.pos++;
        return out;
      }
      if (c === BACKSLASH) {
        out += this.text.slice(runStart, this.pos);
        if (this.pos + 1 >= this.text.length) break;
        const escaped = this.text.charCodeAt(this.pos + 1);
        if (isForbiddenControl(escaped)) this.fail("control character in quoted-pair", this.pos + 1);
        out += this.text[this.pos + 1];
        this.pos += 2;
        runStart = this.pos;
        continue;
      }
      if (isForbiddenControl(c)) this.fail("control character in quoted-string");
      this.pos++;
    }
    return this.fail("unterminated quoted-string", open);
  }

  /**
   * An unquoted value. The grammar says token, but phones send `uri=sip:a@b`, `nonce=ab/c+=`;
   * accepting anything up to whitespace, comma or quote loses nothing, since those characters
   * are the ones that delimit.
   */
  readBareValue(): string {
    const from = this.pos;
    while (this.pos < this.text.length) {
      const c = this.text.charCodeAt(this.pos);
      if (isWhitespace(c) || c === COMMA || c === DQUOTE) break;
      if (isForbiddenControl(c)) this.fail("control character in value");
      this.pos++;
    }
    if (this.pos === from) this.fail("expected parameter value");
    return this.text.slice(from, this.pos);
  }

  /** auth-param = name EQUAL (token / quoted-string); EQUAL = SWS "=" SWS. */
  readParam(into: ScannedAuth): void {
    const nameAt = this.pos;
    const name = this.readToken("parameter name").toLowerCase();
    this.skipWhitespace();
    if (this.peek() !== EQUALS) this.fail(`expected "=" after ${name}`);
    this.pos++;
    this.skipWhitespace();
    const value = this.peek() === DQUOTE ? this.readQuotedString() : this.readBareValue();
    // RFC 7616 §3.3/§3.4: each parameter at most once. Two readers picking different copies is
    // exactly the kind of ambiguity an attacker would use, so refuse it.
    if (into.params.has(name)) this.fail(`duplicate parameter ${name}`, nameAt);
    into.params.set(name, value);
  }

  /**
   * Skips whitespace and empty list elements (`a, , b`: RFC 7230 §7 #rule). Returns false at
   * end of input. Whether what follows continues the current item is `startsParam`'s call.
   */
  skipToNextElement(): boolean {
    while (true) {
      this.skipWhitespace();
      if (this.peek() !== COMMA) return !this.atEnd();
      this.pos++;
    }
  }

  /** Is the text at `pos` a parameter (`token SWS "="`) rather than a new scheme? */
  startsParam(): boolean {
    let i = this.tokenEnd(this.pos);
    if (i === this.pos) return false;
    while (i < this.text.length && isWhitespace(this.text.charCodeAt(i))) i++;
    return i < this.text.length && this.text.charCodeAt(i) === EQUALS;
  }

  /** Whole header value: 1#(scheme [ 1*SP ( token68 / #auth-param ) ]) (RFC 7235 §4.1). */
  scanAll(): ScannedAuth[] {
    const items: ScannedAuth[] = [];
    if (!this.skipToNextElement()) this.fail("empty header value", 0);
    let current: ScannedAuth | undefined;
    while (true) {
      // A token68 is the whole body of its challenge, so whatever follows it starts a new one.
      if (current !== undefined && current.token68 === undefined && this.startsParam()) {
        this.readParam(current);
      } else {
        current = this.readSchemeStart();
        items.push(current);
        if (current.token68 !== undefined || this.atEnd() || this.peek() === COMMA) {
          if (!this.afterElement()) return items;
          continue;
        }
        this.readParam(current);
      }
      if (!this.afterElement()) return items;
    }
  }

  /** Reads the scheme and, if present, the token68 right after it. */
  readSchemeStart(): ScannedAuth {
    const start = this.pos;
    const raw = this.readToken("auth scheme");
    const scheme = raw.toLowerCase() === "digest" ? "Digest" : raw;
    const item: ScannedAuth = { scheme, params: new Map(), start };
    const gap = this.skipWhitespace();
    if (this.atEnd() || this.peek() === COMMA) return item;
    if (gap === 0) this.fail("expected whitespace after auth scheme");
    // Digest has no token68 form (RFC 7616 §3.3). For other schemes try token68 first:
    // `Basic abc=` would otherwise read as a parameter `abc` with no value.
    const end = scheme === "Digest" ? -1 : this.token68EndAt(this.pos);
    if (end >= 0) {
      item.token68 = this.text.slice(this.pos, end);
      this.pos = end;
    }
    return item;
  }

  /** After a value: SWS, then end of input or a comma. Returns false at end of input. */
  afterElement(): boolean {
    this.skipWhitespace();
    if (this.atEnd()) return false;
    if (this.peek() !== COMMA) this.fail('expected "," or end of value');
    return this.skipToNextElement();
  }
}

/** Null-prototype, so a parameter called `__proto__` or `constructor` is just a parameter. */
function emptyParams(): Record<string, string> {
  return Object.create(null) as Record<string, string>;
}

function isTrue(value: string): boolean {
  return value.toLowerCase() === "true";
}

function toChallenge(item: ScannedAuth): DigestChallenge {
  const challenge: DigestChallenge = { scheme: item.scheme, params: emptyParams() };
  if (item.token68 !== undefined) challenge.token68 = item.token68;
  const digest = item.scheme === "Digest";
  for (const [name, value] of item.params) {
    if (!digest) {
      challenge.params[name] = value;
      continue;
    }
    switch (name) {
      case "realm":
        challenge.realm = value;
        break;
      case "domain":
        challenge.domain = value;
        break;
      case "nonce":
        challenge.nonce = value;
        break;
      case "opaque":
        challenge.opaque = value;
        break;
      case "stale":
        challenge.stale = isTrue(value);
        break;
      case "algorithm":
        challenge.algorithm = value;
        break;
      case "qop":
        challenge.qop = splitQopOptions(value);
        break;
      case "charset":
        challenge.charset = value;
        break;
      case "userhash":
        challenge.userhash = isTrue(value);
        break;
      default:
        challenge.params[name] = value;
    }
  }
  return challenge;
}

/** qop-options = "qop" EQUAL LDQUOT qop-value *("," qop-value) RDQUOT (RFC 3261 §25.1). */
function splitQopOptions(value: string): string[] {
  const options: string[] = [];
  let from = 0;
  while (from <= value.length) {
    let comma = value.indexOf(",", from);
    if (comma < 0) comma = value.length;
    const option = value.slice(from, comma).trim().toLowerCase();
    if (option.length > 0) options.push(option);
    from = comma + 1;
  }
  return options;
}

/**
 * Parses a WWW-Authenticate / Proxy-Authenticate value into its challenges, in order. Several
 * challenges may share one value (RFC 7235 §4.1); a new one starts where, after a comma, a
 * token is not followed by "=". Throws SipParseError BAD_AUTH on any syntax error.
 */
export function parseChallenges(value: string, headerName?: string): DigestChallenge[] {
  return new AuthScanner(value, headerName).scanAll().map(toChallenge);
}

const REQUIRED_CREDENTIAL_FIELDS = ["username", "realm", "nonce", "uri", "response"] as const;

/**
 * Parses one Authorization / Proxy-Authorization value (RFC 3261 §25.1: exactly one
 * credentials per value; several credentials arrive as several header fields).
 * Throws SipParseError BAD_AUTH on syntax errors, a non-Digest scheme, more than one
 * credentials, or a missing username / realm / nonce / uri / response.
 */
export function parseCredentials(value: string, headerName?: string): DigestCredentials {
  const scanner = new AuthScanner(value, headerName);
  const items = scanner.scanAll();
  const item = items[0];
  if (item === undefined) return scanner.fail("empty header value", 0);
  if (items.length > 1) return scanner.fail("more than one credentials in one value", items[1]?.start);
  if (item.scheme !== "Digest") return scanner.fail(`unsupported auth scheme ${item.scheme}`, item.start);
  for (const field of REQUIRED_CREDENTIAL_FIELDS) {
    if (!item.params.has(field)) return scanner.fail(`missing ${field}`, item.start);
  }
  const credentials: DigestCredentials = {
    scheme: item.scheme,
    username: "",
    realm: "",
    nonce: "",
    uri: "",
    response: "",
    params: emptyParams(),
  };
  for (const [name, paramValue] of item.params) {
    switch (name) {
      case "username":
      case "realm":
      case "nonce":
      case "uri":
      case "response":
      case "algorithm":
      case "cnonce":
      case "opaque":
      case "nc":
        credentials[name] = paramValue;
        break;
      case "qop":
        credentials.qop = paramValue.toLowerCase();
        break;
      case "userhash":
        credentials.userhash = isTrue(paramValue);
        break;
      default:
        credentials.params[name] = paramValue;
    }
  }
  return credentials;
}

// ---------------------------------------------------------------------------------------------
// Formatting
// ---------------------------------------------------------------------------------------------

/**
 * quoted-string with `"` and `\` escaped. CR, LF and other controls cannot be carried by a
 * quoted-pair in SIP (RFC 3261 §25.1), and letting them through would allow header injection,
 * so they are a caller bug: RangeError.
 */
function quoteString(value: string): string {
  let out = '"';
  let runStart = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === DQUOTE || c === BACKSLASH) {
      out += `${value.slice(runStart, i)}\\`;
      runStart = i;
    } else if (isForbiddenControl(c)) {
      throw new RangeError(`control character (0x${c.toString(16)}) cannot be written in a header value`);
    }
  }
  return `${out}${value.slice(runStart)}"`;
}

/** A value that RFC 7616 §3.4 says must be sent unquoted (algorithm, qop, nc, stale...). */
function bareValue(name: string, value: string): string {
  if (!isToken(value)) throw new RangeError(`${name} must be a token, got ${JSON.stringify(value)}`);
  return value;
}

function schemeOf(scheme: string | undefined): string {
  return bareValue("scheme", scheme ?? "Digest");
}

function appendExtensionParams(parts: string[], params: Readonly<Record<string, string>> | undefined): void {
  if (params === undefined) return;
  for (const name of Object.keys(params)) {
    const value = params[name];
    if (value === undefined) continue;
    // Unknown parameters: the original quoting is not kept, so quote whatever is not a token.
    parts.push(`${bareValue("parameter name", name)}=${isToken(value) ? value : quoteString(value)}`);
  }
}

function joinAuth(scheme: string, parts: string[]): string {
  return parts.length === 0 ? scheme : `${scheme} ${parts.join(", ")}`;
}

/**
 * Writes one challenge, in the order and quoting phones expect (RFC 3261 §25.1,
 * RFC 7616 §3.3): `Digest realm="…", nonce="…", algorithm=MD5, qop="auth"`. realm, domain,
 * nonce, opaque and the qop list are quoted; stale, algorithm, charset and userhash are not.
 */
export function formatChallenge(challenge: DigestChallengeInit): string {
  const scheme = schemeOf(challenge.scheme);
  if (challenge.token68 !== undefined) return `${scheme} ${challenge.token68}`;
  const parts: string[] = [];
  if (challenge.realm !== undefined) parts.push(`realm=${quoteString(challenge.realm)}`);
  if (challenge.domain !== undefined) parts.push(`domain=${quoteString(challenge.domain)}`);
  if (challenge.nonce !== undefined) parts.push(`nonce=${quoteString(challenge.nonce)}`);
  if (challenge.algorithm !== undefined)
    parts.push(`algorithm=${bareValue("algorithm", challenge.algorithm)}`);
  if (challenge.qop !== undefined && challenge.qop.length > 0) {
    for (const option of challenge.qop) bareValue("qop", option);
    parts.push(`qop=${quoteString(challenge.qop.join(","))}`);
  }
  if (challenge.opaque !== undefined) parts.push(`opaque=${quoteString(challenge.opaque)}`);
  if (challenge.stale !== undefined) parts.push(`stale=${challenge.stale ? "true" : "false"}`);
  if (challenge.charset !== undefined) parts.push(`charset=${bareValue("charset", challenge.charset)}`);
  if (challenge.userhash !== undefined) parts.push(`userhash=${challenge.userhash ? "true" : "false"}`);
  appendExtensionParams(parts, challenge.params);
  return joinAuth(scheme, parts);
}

/**
 * Writes one credentials value. RFC 7616 §3.4: username, realm, nonce, uri, response, cnonce
 * and opaque are quoted; algorithm, qop and nc are not (some servers reject `qop="auth"`).
 */
export function formatCredentials(credentials: DigestCredentialsInit): string {
  const parts = [
    `username=${quoteString(credentials.username)}`,
    `realm=${quoteString(credentials.realm)}`,
    `nonce=${quoteString(credentials.nonce)}`,
    `uri=${quoteString(credentials.uri)}`,
    `response=${quoteString(credentials.response)}`,
  ];
  if (credentials.algorithm !== undefined) {
    parts.push(`algorithm=${bareValue("algorithm", credentials.algorithm)}`);
  }
  if (credentials.cnonce !== undefined) parts.push(`cnonce=${quoteString(credentials.cnonce)}`);
  if (credentials.opaque !== undefined) parts.push(`opaque=${quoteString(credentials.opaque)}`);
  if (credentials.qop !== undefined) parts.push(`qop=${bareValue("qop", credentials.qop)}`);
  if (credentials.nc !== undefined) parts.push(`nc=${bareValue("nc", credentials.nc)}`);
  if (credentials.userhash !== undefined) parts.push(`userhash=${credentials.userhash ? "true" : "false"}`);
  appendExtensionParams(parts, credentials.params);
  return joinAuth(schemeOf(credentials.scheme), parts);
}
