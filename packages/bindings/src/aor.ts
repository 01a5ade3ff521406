/**
 * The canonical forms registrations are keyed by: the address of record and a binding's identity
 * within it. Pure functions, no I/O, so the registrar, the proxy's location lookup and the store
 * agree byte for byte on what "the same AoR" and "the same contact" mean.
 */
import { isSipUri, parseUri, type SipUri } from "@sip-platform/sip";
import { InvalidAorError } from "./errors.js";

/**
 * `sip:Alice@Example.TEST;transport=udp` → `sip:Alice@example.test`.
 *
 * RFC 3261 §19.1.4 decides what is equal: the user part is case-sensitive and an escaped
 * unreserved character equals the character itself; the host is case-insensitive; a port is
 * significant when present (no default is filled in); URI parameters and headers are not part of
 * an address of record. `sips:` and `sip:` name the same AoR (§10.2.1 asks for a SIPS AoR to be
 * reached over TLS, which is a routing matter, not a second registration), so the scheme is `sip`.
 * Throws `InvalidAorError` for anything that is not a SIP or SIPS URI.
 */
export function normalizeAor(uri: string): string {
  let parsed: ReturnType<typeof parseUri>;
  try {
    parsed = parseUri(uri.trim());
  } catch (err) {
    throw new InvalidAorError(`not a valid URI: ${(err as Error).message}`, uri, { cause: err });
  }
  if (!isSipUri(parsed)) throw new InvalidAorError("an address of record must be a sip: or sips: URI", uri);
  let out = "sip:";
  if (parsed.user !== undefined) out += `${normalizeEscapes(parsed.user)}@`;
  out += parsed.host.toLowerCase();
  if (parsed.port !== undefined) out += `:${parsed.port}`;
  return out;
}

/**
 * The form a Contact URI is compared in (§10.3 step 7 "using the URI comparison rules"): scheme
 * and host lower-cased, escapes normalised in the userinfo, parameters with lower-cased names and
 * values sorted by name, headers kept. Two Contacts that differ only in parameter order, case or
 * escaping are the same binding. A URI the SIP parser refuses (a registrar should have answered
 * 400 already) is compared as written.
 */
export function normalizeContactUri(uri: string): string {
  const text = uri.trim();
  let parsed: ReturnType<typeof parseUri>;
  try {
    parsed = parseUri(text);
  } catch {
    return text;
  }
  if (!isSipUri(parsed)) return `${parsed.scheme}:${text.slice(text.indexOf(":") + 1)}`;
  return formatNormalizedSipUri(parsed);
}

function formatNormalizedSipUri(u: SipUri): string {
  let out = `${u.scheme}:`;
  if (u.user !== undefined) {
    out += normalizeEscapes(u.user);
    if (u.password !== undefined) out += `:${normalizeEscapes(u.password)}`;
    out += "@";
  }
  out += u.host.toLowerCase();
  if (u.port !== undefined) out += `:${u.port}`;
  const params = u.params.entries
    .map(([n, v]): [string, string | null] => [n.toLowerCase(), v === null ? null : v.toLowerCase()])
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  for (const [n, v] of params) out += v === null ? `;${n}` : `;${n}=${v}`;
  if (u.headers) out += `?${u.headers}`;
  return out;
}

/**
 * A binding's identity within its AoR: RFC 5626 §6 binds a Contact carrying both `+sip.instance`
 * and `reg-id` to that pair (a device re-registering from a new address replaces its own binding);
 * anything else is bound by its Contact URI as RFC 3261 §10.3 does. The instance form starts with
 * `<`, which no URI can, so the two never collide.
 */
export function bindingIdentity(change: {
  readonly contact: string;
  readonly instanceId?: string | undefined;
  readonly regId?: number | undefined;
}): string {
  if (change.instanceId !== undefined && change.regId !== undefined)
    return `<${change.instanceId}>;reg-id=${change.regId}`;
  return normalizeContactUri(change.contact);
}

/**
 * §19.1.4: "characters other than those in the reserved set are equivalent to their %HEX HEX
 * encoding". An escaped unreserved character (alphanum and mark, RFC 3261 §25.1) is written as
 * itself; every other escape stays escaped, with upper-case hex digits (RFC 3986 §6.2.2.1).
 */
export function normalizeEscapes(s: string): string {
  let i = s.indexOf("%");
  if (i < 0) return s;
  let out = s.slice(0, i);
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c === 0x25 && i + 2 < s.length && isHex(s.charCodeAt(i + 1)) && isHex(s.charCodeAt(i + 2))) {
      const code = Number.parseInt(s.slice(i + 1, i + 3), 16);
      out += isUnreserved(code) ? String.fromCharCode(code) : `%${s.slice(i + 1, i + 3).toUpperCase()}`;
      i += 3;
    } else {
      out += s[i];
      i++;
    }
  }
  return out;
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

/** unreserved = alphanum / mark; mark = "-" / "_" / "." / "!" / "~" / "*" / "'" / "(" / ")" */
function isUnreserved(c: number): boolean {
  if ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)) return true;
  return (
    c === 0x2d ||
    c === 0x5f ||
    c === 0x2e ||
    c === 0x21 ||
    c === 0x7e ||
    c === 0x2a ||
    c === 0x27 ||
    c === 0x28 ||
    c === 0x29
  );
}
