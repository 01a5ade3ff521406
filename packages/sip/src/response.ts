import { newTag } from "./ids.js";
import { type SipRequest, SipResponse } from "./message.js";
import { reasonPhrase } from "./reason.js";

export interface ResponseOptions {
  /** Reason phrase; the standard one by default. */
  reason?: string;
  /** To tag to add when the request has none; a fresh one by default for status > 100 (RFC 3261 §8.2.6.2). */
  toTag?: string;
  /** Extra header lines, in order. */
  headers?: ReadonlyArray<readonly [name: string, value: string]>;
  body?: Buffer | string;
  contentType?: string;
}

/**
 * Builds a response to `req` per RFC 3261 §8.2.6: Via (all, in order), From, Call-ID and CSeq copied;
 * To copied with a tag added when it had none (except 100); Timestamp echoed in 100 (§8.2.6.1).
 */
export function createResponse(req: SipRequest, status: number, options: ResponseOptions = {}): SipResponse {
  const res = new SipResponse(status, options.reason ?? reasonPhrase(status), "SIP/2.0", null);
  for (const via of req.headerLines("Via")) res.appendHeader("Via", via);
  const from = req.header("From");
  if (from !== undefined) res.appendHeader("From", from);
  const to = req.header("To");
  if (to !== undefined) {
    let value = to;
    if (status > 100 && !hasTag(req)) value = `${to};tag=${options.toTag ?? newTag()}`;
    res.appendHeader("To", value);
  }
  const callId = req.header("Call-ID");
  if (callId !== undefined) res.appendHeader("Call-ID", callId);
  const cseq = req.header("CSeq");
  if (cseq !== undefined) res.appendHeader("CSeq", cseq);
  if (status === 100) {
    const ts = req.header("Timestamp");
    if (ts !== undefined) res.appendHeader("Timestamp", ts);
  }
  for (const [name, value] of options.headers ?? []) res.appendHeader(name, value);
  res.setBody(options.body ?? Buffer.alloc(0), options.contentType);
  return res;
}

function hasTag(req: SipRequest): boolean {
  try {
    return req.toTag() !== undefined;
  } catch {
    return false;
  }
}
