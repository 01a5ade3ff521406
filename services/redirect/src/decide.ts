/**
 * What the redirect server answers (RFC 3261 §8.3, §21.3): the decision as a function of the
 * request and of three lookups (local domains, the subscriber directory, the location service).
 * No I/O of its own: the lookups are passed in, so the table of outcomes is tested without a bus.
 *
 * Choices where the RFCs and the contract leave room, in the order they are checked:
 * - A source outside TRUSTED_CIDRS → 403 before anything else (the contract: "403 from untrusted
 *   sources"; nothing about users or domains is revealed to them). The edge checked the request's
 *   syntax already; one the redirect service still cannot read → 400.
 * - A To tag → 481: the request is in a dialog, and a redirect server takes part in none
 *   (§12.2.2: a UAS that finds no dialog for an in-dialog request answers 481).
 * - ACK, CANCEL → 481: they belong to a transaction of this hop, which the edge handles; a redirect
 *   service only sees them if an edge forwards them by mistake.
 * - REGISTER → 405 with Allow (§21.4.6): a redirect server is not a registrar.
 * - A Request-URI scheme other than sip/sips → 416 (§8.2.2.1: "If the Request-URI uses a scheme not
 *   supported by the UAS, it SHOULD reject the request with a 416").
 * - No user part → 404: there is nobody to redirect to.
 * - A domain that is not local → 403, the same answer the proxy gives (the contract's "no open
 *   relay"): the redirect server speaks only for the domains created through the API.
 * - Unknown user → 404.
 * - Disabled user → 480, as if not registered: a barred account is the callee's state, not the
 *   caller's fault (403 would say the caller may not do this), and 480 tells callers no more than
 *   an unregistered user does. Forwarding does not apply to a disabled user either.
 * - `forwarding.always` → 302 to that target with `Diversion` (RFC 5806 §4:
 *   `<sip:user@domain>;reason=unconditional;counter=1`); the bindings are not looked up.
 * - Bindings → 302, one Contact per binding with its q (the location order: highest q first),
 *   without Expires (the bindings' own expiries are registration state, not a validity promise).
 * - No bindings → 480. `forwarding.busy` and `forwarding.noAnswer` do not apply: they react to a
 *   call's outcome (486/600, no answer in time), which a redirect server never sees because it
 *   does not place the call.
 */
import type { DirectoryEntry, RedirectReply } from "@sip-platform/bus";
import { isSipUri, parseMessage, parseUri, unescapePercent } from "@sip-platform/sip";

/** The methods a redirect server answers with a redirection (every out-of-dialog request but REGISTER). */
export const ALLOW = "INVITE, ACK, CANCEL, OPTIONS, MESSAGE, SUBSCRIBE, NOTIFY, REFER, PUBLISH";

/** What the decision reads of a request. */
export interface RedirectFacts {
  /** Whether the source address is in TRUSTED_CIDRS. */
  readonly trusted: boolean;
  readonly method: string;
  readonly requestUri: string;
  /** The To tag; present means the request is in a dialog. */
  readonly toTag: string | undefined;
}

/** A request whose start line or To header cannot be read. */
export interface UnreadableRequest {
  readonly trusted: boolean;
  readonly problem: string;
}

/** Reads the facts of a request's bytes (as the edge received them). */
export function factsOf(message: Uint8Array, trusted: boolean): RedirectFacts | UnreadableRequest {
  let parsed: ReturnType<typeof parseMessage>;
  try {
    parsed = parseMessage(Buffer.from(message.buffer, message.byteOffset, message.byteLength));
  } catch {
    return { trusted, problem: "unreadable message" };
  }
  if (!parsed.isRequest()) return { trusted, problem: "not a request" };
  let toTag: string | undefined;
  try {
    toTag = parsed.toTag();
  } catch {
    return { trusted, problem: "unreadable To header" };
  }
  return { trusted, method: parsed.method, requestUri: parsed.uri, toTag };
}

/** A binding as the decision needs it. */
export interface ContactBinding {
  readonly contact: string;
  readonly q: number;
}

/** The lookups the decision makes, each only when the previous ones did not decide. They may reject. */
export interface RedirectLookups {
  isLocalDomain(domain: string): boolean | Promise<boolean>;
  directory(username: string, domain: string): Promise<DirectoryEntry | undefined>;
  bindings(aor: string): Promise<readonly ContactBinding[]>;
}

/** A reply without contacts. */
export function refusal(
  status: number,
  reason: string,
  headers?: readonly { readonly name: string; readonly value: string }[],
): RedirectReply {
  return { status, reason, contacts: [], ...(headers !== undefined ? { headers } : {}) };
}

export const FORBIDDEN = refusal(403, "Forbidden");

/** Decides the answer to one request that arrived on the redirect port. Rejects only when a lookup does. */
export async function decideRedirect(
  facts: RedirectFacts | UnreadableRequest,
  lookups: RedirectLookups,
): Promise<RedirectReply> {
  if (!facts.trusted) return FORBIDDEN;
  if ("problem" in facts) return refusal(400, `Bad Request (${facts.problem})`);
  if (facts.toTag !== undefined) return refusal(481, "Call/Transaction Does Not Exist");
  if (facts.method === "ACK" || facts.method === "CANCEL")
    return refusal(481, "Call/Transaction Does Not Exist");
  if (facts.method === "REGISTER")
    return refusal(405, "Method Not Allowed", [{ name: "Allow", value: ALLOW }]);

  let uri: ReturnType<typeof parseUri>;
  try {
    uri = parseUri(facts.requestUri);
  } catch {
    return refusal(400, "Bad Request (unreadable Request-URI)");
  }
  if (!isSipUri(uri)) return refusal(416, "Unsupported URI Scheme");
  if (uri.user === undefined) return refusal(404, "Not Found");
  const target = addressOf(uri.user, uri.host);

  if (!(await lookups.isLocalDomain(target.domain))) return refusal(403, "Forbidden (not a local domain)");
  const entry = await lookups.directory(target.username, target.domain);
  if (entry === undefined) return refusal(404, "Not Found");
  if (!entry.enabled) return refusal(480, "Temporarily Unavailable");

  const always = entry.forwarding.always;
  if (always !== undefined) {
    if (!isUri(always)) return refusal(500, "Server Internal Error (unusable forwarding target)");
    return {
      status: 302,
      reason: "Moved Temporarily",
      contacts: [{ uri: always }],
      headers: [{ name: "Diversion", value: `<${target.aor}>;reason=unconditional;counter=1` }],
    };
  }

  const bindings = await lookups.bindings(target.aor);
  if (bindings.length === 0) return refusal(480, "Temporarily Unavailable");
  return {
    status: 302,
    reason: "Moved Temporarily",
    contacts: bindings.map((b) => ({ uri: b.contact, q: b.q })),
  };
}

/** The subscriber a Request-URI names: the directory key and the address of record. */
interface Addressee {
  /** The user part unescaped (RFC 3261 §19.1.4: an escaped character equals itself). */
  readonly username: string;
  /** Lower case, without a trailing root dot. */
  readonly domain: string;
  /** `sip:user@domain`, the user part as on the wire (the location service normalises escapes). */
  readonly aor: string;
}

function addressOf(user: string, host: string): Addressee {
  const domain = normalizeDomain(host);
  return { username: unescapePercent(user), domain, aor: `sip:${user}@${domain}` };
}

/** Domains compare case-insensitively, without a trailing root dot. */
export function normalizeDomain(host: string): string {
  const h = host.toLowerCase();
  return h.endsWith(".") ? h.slice(0, -1) : h;
}

/** A forwarding target goes into a Contact between angle brackets: it must be one URI and nothing else. */
function isUri(text: string): boolean {
  try {
    parseUri(text);
  } catch {
    return false;
  }
  return !/[<>"\s]/.test(text);
}
