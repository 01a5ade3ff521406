import { SipParseError } from "./errors.js";
import type { SipMessage } from "./message.js";
import { parseUri } from "./uri.js";

/**
 * The checks a server makes before acting on a message (RFC 3261 §8.2, §16.3 step 1): the mandatory
 * headers are present and parse, the CSeq method matches the request method, the Request-URI parses.
 * Returns the first problem, or null. What to answer (400, 416, 505…) is the caller's business.
 */
export function checkMessage(msg: SipMessage): SipParseError | null {
  try {
    if (msg.version !== "SIP/2.0")
      return new SipParseError("BAD_VERSION", `unsupported version ${msg.version}`, 0);
    for (const name of ["Via", "From", "To", "Call-ID", "CSeq"]) {
      if (!msg.hasHeader(name))
        return new SipParseError("MISSING_HEADER", `missing ${name} header`, -1, name);
    }
    if (msg.vias().length === 0) return new SipParseError("MISSING_HEADER", "empty Via header", -1, "Via");
    msg.from();
    msg.to();
    const cseq = msg.cseq();
    msg.maxForwards();
    if (msg.isRequest()) {
      if (cseq.method !== msg.method)
        return new SipParseError(
          "BAD_CSEQ",
          `CSeq method ${cseq.method} does not match ${msg.method}`,
          -1,
          "CSeq",
        );
      parseUri(msg.uri);
    }
    return null;
  } catch (e) {
    if (e instanceof SipParseError) return e;
    throw e;
  }
}
