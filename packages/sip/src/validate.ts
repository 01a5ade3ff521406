import { SipParseError } from "./errors.js";
import type { SipMessage } from "./message.js";
import { isSipUri, parseUri } from "./uri.js";

/**
 * The checks a server makes before acting on a message (RFC 3261 §8.2, §16.3 step 1): the mandatory
 * headers are present and parse, the CSeq method matches the request method, the Request-URI parses
 * and carries no headers (§19.1.1), Contact and Route parse, a Date is in GMT (§20.17). Returns the
 * first problem, or null. What to answer (400, 416, 505…) is the caller's business.
 */
export function checkMessage(msg: SipMessage): SipParseError | null {
  try {
    if (msg.version !== "SIP/2.0")
      return new SipParseError("BAD_VERSION", `unsupported version ${msg.version}`, 0);
    for (const name of MANDATORY) {
      if (!msg.hasHeader(name))
        return new SipParseError("MISSING_HEADER", `missing ${name} header`, -1, name);
    }
    if (msg.vias().length === 0) return new SipParseError("MISSING_HEADER", "empty Via header", -1, "Via");
    msg.from();
    msg.to();
    const cseq = msg.cseq();
    msg.maxForwards();
    msg.contacts();
    msg.routes();
    const date = msg.header("Date");
    if (date !== undefined && !isRfc1123Gmt(date))
      return new SipParseError("BAD_HEADER", "Date is not an RFC 1123 date in GMT", 0, "Date");
    if (msg.isRequest()) {
      if (cseq.method !== msg.method)
        return new SipParseError(
          "BAD_CSEQ",
          `CSeq method ${cseq.method} does not match ${msg.method}`,
          -1,
          "CSeq",
        );
      const uri = parseUri(msg.uri);
      if (isSipUri(uri) && uri.headers !== "")
        return new SipParseError(
          "BAD_URI",
          "Request-URI must not carry headers",
          msg.uri.indexOf("?"),
          "Request-URI",
        );
    }
    return null;
  } catch (e) {
    if (e instanceof SipParseError) return e;
    throw e;
  }
}

const MANDATORY = ["Via", "From", "To", "Call-ID", "CSeq"] as const;

/** rfc1123-date = wkday "," SP date1 SP time SP "GMT" (RFC 3261 §25.1). */
const RFC1123 =
  /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;

function isRfc1123Gmt(value: string): boolean {
  return RFC1123.test(value);
}
