import { type Bus, isBusError, type RedirectReply, requests } from "@sip-platform/bus";
import { isSipUri, parseUri } from "@sip-platform/sip";
import { internalError } from "../pipeline/respond.js";
import {
  CONTINUE,
  type HeaderList,
  type RequestContext,
  reply,
  type Step,
  type SyncStep,
  unavailable,
  type Verdict,
} from "../pipeline/types.js";

/**
 * The methods the redirect server answers (every out-of-dialog request but REGISTER, which gets
 * 405). The same list as `ALLOW` of services/redirect, which answers the 405; the edge answers OPTIONS.
 */
export const REDIRECT_ALLOW = "INVITE, ACK, CANCEL, OPTIONS, MESSAGE, SUBSCRIBE, NOTIFY, REFER, PUBLISH";

/**
 * Headers the edge writes itself, from the request (§8.2.6) or from the reply's contacts: the
 * redirect service may not set them, so a faulty reply cannot break the response's framing or
 * its transaction matching.
 */
const RESERVED = new Set([
  "via",
  "v",
  "from",
  "f",
  "to",
  "t",
  "call-id",
  "i",
  "cseq",
  "contact",
  "m",
  "content-length",
  "l",
  "content-type",
  "c",
  "server",
]);

/** RFC 3261 §25.1 token characters (a header name is a token). */
const TOKEN = /^[A-Za-z0-9.!%*_+`'~-]+$/;

/**
 * OPTIONS to the redirect server itself, a Request-URI without a user part (keep-alive probes
 * send `OPTIONS sip:host:port`) → 200 with Allow and Accept (§11.2; a redirect server never reads
 * a body, so any type is accepted). An OPTIONS for a user goes to the redirect service like an
 * INVITE, since §11.2 wants the answer an INVITE would get.
 */
export const optionsToRedirectServer: SyncStep = (ctx: RequestContext): Verdict => {
  if (ctx.request.method !== "OPTIONS") return CONTINUE;
  let uri: ReturnType<typeof parseUri>;
  try {
    uri = parseUri(ctx.request.uri);
  } catch {
    return CONTINUE; // the redirect service answers an unreadable Request-URI
  }
  if (isSipUri(uri) && uri.user === undefined)
    return reply(200, "OK", [
      ["Allow", REDIRECT_ALLOW],
      ["Accept", "*/*"],
    ]);
  return CONTINUE;
};

/** A Contact value for one redirect target: `<uri>` and `;q=` when it has one (§20.10, qvalue of §25.1). */
export function contactValue(contact: { readonly uri: string; readonly q?: number }): string {
  return contact.q === undefined ? `<${contact.uri}>` : `<${contact.uri}>;q=${qvalue(contact.q)}`;
}

/** `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`: at most three decimals. */
export function qvalue(q: number): string {
  if (!(q > 0)) return "0";
  if (q >= 1) return "1";
  return String(Math.round(q * 1000) / 1000);
}

/**
 * The verdict for the redirect service's reply: its status and reason, one Contact per target,
 * then its extra headers. A reply that would not make a well-formed response (a header name that
 * is not a token, a header the edge owns, CR/LF in a value, a contact that is not one URI) is the
 * service's bug: answered 500 rather than sent.
 */
export function verdictOfReply(r: RedirectReply): Verdict | { readonly problem: string } {
  const headers: Array<readonly [string, string]> = [];
  for (const c of r.contacts) {
    if (!isOneUri(c.uri)) return { problem: `contact ${JSON.stringify(c.uri)} is not one URI` };
    headers.push(["Contact", contactValue(c)]);
  }
  for (const h of r.headers ?? []) {
    if (!TOKEN.test(h.name) || RESERVED.has(h.name.toLowerCase()))
      return { problem: `header name ${JSON.stringify(h.name)} not allowed` };
    if (!isHeaderText(h.value)) return { problem: `header ${h.name} has control characters` };
    headers.push([h.name, h.value]);
  }
  if (r.reason !== undefined && !isHeaderText(r.reason)) return { problem: "reason has control characters" };
  return reply(r.status, r.reason, headers satisfies HeaderList);
}

function isOneUri(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    // No space, control, quote or angle bracket: inside `<…>` any of them would end or split it.
    if (c <= 0x20 || c >= 0x7f || c === 0x3c || c === 0x3e || c === 0x22) return false;
  }
  try {
    parseUri(text);
    return true;
  } catch {
    return false;
  }
}

function isHeaderText(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return false;
  }
  return true;
}

export interface AskRedirectOptions {
  readonly bus: Bus;
  /** Wait for the redirect service's answer. */
  readonly timeoutMs: number;
  /** Called once per request sent to the service (for stats). */
  readonly onAsk?: () => void;
}

/**
 * The last step: the request goes to the redirect service (`redirect.resolve`) and its decision
 * comes back as the response. The service not reachable (timeout, no responders, bus down) → 503
 * with Retry-After (§21.5.4); any other bus failure → 500.
 */
export function askRedirect(options: AskRedirectOptions): Step {
  const { bus, timeoutMs } = options;
  return async (ctx: RequestContext): Promise<Verdict> => {
    options.onAsk?.();
    let r: RedirectReply;
    try {
      r = await bus.request(
        requests.redirect,
        { flow: ctx.flow, message: ctx.request.toBuffer() },
        { timeoutMs },
      );
    } catch (err) {
      if (!isBusError(err)) throw err;
      if (err.retryable) {
        ctx.log.warn({ err }, "redirect service not reachable: 503");
        return unavailable();
      }
      ctx.log.error({ err }, "redirect service failed: 500");
      return reply(500, "Server Internal Error");
    }
    const verdict = verdictOfReply(r);
    if ("problem" in verdict)
      return internalError(ctx, new Error(`unusable redirect reply: ${verdict.problem}`));
    return verdict;
  };
}
