/**
 * The one table of header names: canonical spelling, compact form (RFC 3261 §7.3.3 and the
 * extensions that define one), and a small numeric id for the headers a proxy touches on every
 * message, so the parser can classify them without allocating a lower-cased copy of the name.
 */
export enum HeaderId {
  Other = 0,
  Via = 1,
  From = 2,
  To = 3,
  CallId = 4,
  CSeq = 5,
  MaxForwards = 6,
  Route = 7,
  RecordRoute = 8,
  ContentLength = 9,
  Contact = 10,
  ContentType = 11,
}

interface HeaderNameInfo {
  readonly canonical: string;
  readonly compact?: string;
  readonly id: HeaderId;
}

const TABLE: readonly HeaderNameInfo[] = [
  { canonical: "Via", compact: "v", id: HeaderId.Via },
  { canonical: "From", compact: "f", id: HeaderId.From },
  { canonical: "To", compact: "t", id: HeaderId.To },
  { canonical: "Call-ID", compact: "i", id: HeaderId.CallId },
  { canonical: "CSeq", id: HeaderId.CSeq },
  { canonical: "Max-Forwards", id: HeaderId.MaxForwards },
  { canonical: "Route", id: HeaderId.Route },
  { canonical: "Record-Route", id: HeaderId.RecordRoute },
  { canonical: "Content-Length", compact: "l", id: HeaderId.ContentLength },
  { canonical: "Contact", compact: "m", id: HeaderId.Contact },
  { canonical: "Content-Type", compact: "c", id: HeaderId.ContentType },
  { canonical: "Content-Encoding", compact: "e", id: HeaderId.Other },
  { canonical: "Subject", compact: "s", id: HeaderId.Other },
  { canonical: "Supported", compact: "k", id: HeaderId.Other },
  { canonical: "Event", compact: "o", id: HeaderId.Other }, // RFC 6665
  { canonical: "Allow-Events", compact: "u", id: HeaderId.Other }, // RFC 6665
  { canonical: "Refer-To", compact: "r", id: HeaderId.Other }, // RFC 3515
  { canonical: "Referred-By", compact: "b", id: HeaderId.Other }, // RFC 3892
  { canonical: "Session-Expires", compact: "x", id: HeaderId.Other }, // RFC 4028
  { canonical: "Accept-Contact", compact: "a", id: HeaderId.Other }, // RFC 3841
  { canonical: "Reject-Contact", compact: "j", id: HeaderId.Other }, // RFC 3841
  { canonical: "Request-Disposition", compact: "d", id: HeaderId.Other }, // RFC 3841
  { canonical: "Identity", compact: "y", id: HeaderId.Other }, // RFC 8224
  { canonical: "Path", id: HeaderId.Other },
  { canonical: "Expires", id: HeaderId.Other },
  { canonical: "Authorization", id: HeaderId.Other },
  { canonical: "Proxy-Authorization", id: HeaderId.Other },
  { canonical: "WWW-Authenticate", id: HeaderId.Other },
  { canonical: "Proxy-Authenticate", id: HeaderId.Other },
  { canonical: "Proxy-Require", id: HeaderId.Other },
  { canonical: "Require", id: HeaderId.Other },
  { canonical: "Unsupported", id: HeaderId.Other },
  { canonical: "Min-Expires", id: HeaderId.Other },
  { canonical: "Retry-After", id: HeaderId.Other },
  { canonical: "Timestamp", id: HeaderId.Other },
  { canonical: "User-Agent", id: HeaderId.Other },
  { canonical: "Server", id: HeaderId.Other },
  { canonical: "Allow", id: HeaderId.Other },
  { canonical: "Accept", id: HeaderId.Other },
];

/** Lower-cased full or compact name → table entry. */
const BY_LOWER = new Map<string, HeaderNameInfo>();
for (const info of TABLE) {
  BY_LOWER.set(info.canonical.toLowerCase(), info);
  if (info.compact) BY_LOWER.set(info.compact, info);
}

/** A header name looked up once (outside the hot path): what to compare header lines against. */
export interface HeaderNameKey {
  readonly id: HeaderId;
  /** Lower-cased full name. */
  readonly lower: string;
  /** Compact letter, or "" when the header has none. */
  readonly compact: string;
  /** The spelling used when we write this header. */
  readonly canonical: string;
}

const KEY_CACHE = new Map<string, HeaderNameKey>();

/** Resolves any spelling ("v", "VIA", "via") of a header name to its key. Cached per spelling. */
export function headerKey(name: string): HeaderNameKey {
  let key = KEY_CACHE.get(name);
  if (key) return key;
  const lower = name.toLowerCase();
  const info = BY_LOWER.get(lower);
  key = info
    ? {
        id: info.id,
        lower: info.canonical.toLowerCase(),
        compact: info.compact ?? "",
        canonical: info.canonical,
      }
    : { id: HeaderId.Other, lower, compact: "", canonical: name };
  if (KEY_CACHE.size < 1024) KEY_CACHE.set(name, key);
  return key;
}

/** The canonical spelling of a header name, for writing. Unknown names are returned as given. */
export function canonicalHeaderName(name: string): string {
  return headerKey(name).canonical;
}

/**
 * Case-insensitive comparison of `s[start, start+lower.length)` with an already lower-cased ASCII name,
 * without allocating. `lower` must be lower case.
 */
export function equalsLower(s: string, start: number, end: number, lower: string): boolean {
  if (end - start !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) {
    let c = s.charCodeAt(start + i);
    if (c >= 65 && c <= 90) c |= 0x20;
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * Classifies the header name `s[start, end)` into a hot-header id by length and first letter, then
 * a case-insensitive compare. Zero allocation; everything that is not a hot header is `Other`.
 */
export function identifyHeader(s: string, start: number, end: number): HeaderId {
  const len = end - start;
  const first = s.charCodeAt(start) | 0x20;
  switch (len) {
    case 1:
      switch (first) {
        case 0x76: // v
          return HeaderId.Via;
        case 0x66: // f
          return HeaderId.From;
        case 0x74: // t
          return HeaderId.To;
        case 0x69: // i
          return HeaderId.CallId;
        case 0x6c: // l
          return HeaderId.ContentLength;
        case 0x6d: // m
          return HeaderId.Contact;
        case 0x63: // c
          return HeaderId.ContentType;
        default:
          return HeaderId.Other;
      }
    case 2:
      return first === 0x74 && is(s, start, end, "To", "to") ? HeaderId.To : HeaderId.Other;
    case 3:
      return first === 0x76 && is(s, start, end, "Via", "via") ? HeaderId.Via : HeaderId.Other;
    case 4:
      if (first === 0x66) return is(s, start, end, "From", "from") ? HeaderId.From : HeaderId.Other;
      return first === 0x63 && is(s, start, end, "CSeq", "cseq") ? HeaderId.CSeq : HeaderId.Other;
    case 5:
      return first === 0x72 && is(s, start, end, "Route", "route") ? HeaderId.Route : HeaderId.Other;
    case 7:
      if (first === 0x63) {
        if (is(s, start, end, "Call-ID", "call-id")) return HeaderId.CallId;
        if (is(s, start, end, "Contact", "contact")) return HeaderId.Contact;
      }
      return HeaderId.Other;
    case 12:
      if (first === 0x6d)
        return is(s, start, end, "Max-Forwards", "max-forwards") ? HeaderId.MaxForwards : HeaderId.Other;
      if (first === 0x72)
        return is(s, start, end, "Record-Route", "record-route") ? HeaderId.RecordRoute : HeaderId.Other;
      return first === 0x63 && is(s, start, end, "Content-Type", "content-type")
        ? HeaderId.ContentType
        : HeaderId.Other;
    case 14:
      return first === 0x63 && is(s, start, end, "Content-Length", "content-length")
        ? HeaderId.ContentLength
        : HeaderId.Other;
    default:
      return HeaderId.Other;
  }
}

/** Exact canonical spelling first (what nearly every peer sends, one native compare), then any case. */
function is(s: string, start: number, end: number, canonical: string, lower: string): boolean {
  return s.startsWith(canonical, start) || equalsLower(s, start, end, lower);
}

/** True when `s[start, end)` names the header `key` (full or compact form, any case). */
export function nameMatches(s: string, start: number, end: number, key: HeaderNameKey): boolean {
  if (end - start === 1)
    return key.compact !== "" && (s.charCodeAt(start) | 0x20) === key.compact.charCodeAt(0);
  return equalsLower(s, start, end, key.lower);
}
