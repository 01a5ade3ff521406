import {
  checkMessage,
  createResponse,
  type ParseLimits,
  parseMessage,
  SipParseError,
} from "@sip-platform/sip";

/**
 * The answer to a request whose stream framing failed, when one can be formed: its head must be
 * complete and carry the headers a response copies (RFC 3261 §8.2.6). 513 when the Content-Length
 * exceeds what we accept (§21.5.14, the precise status for that), 400 otherwise. Null when no
 * response can be formed (no complete head, a response, an ACK, mandatory headers broken).
 */
export function framingErrorReply(bytes: Buffer, error: unknown, limits: ParseLimits): Buffer | null {
  const blank = bytes.indexOf("\r\n\r\n", 0, "latin1");
  if (blank < 0) return null;
  // The Content-Length is what failed: parse the head without it and without a body.
  const head = withoutContentLength(bytes.toString("latin1", 0, blank + 2));
  let req: ReturnType<typeof parseMessage>;
  try {
    req = parseMessage(
      Buffer.from(`${head}\r\n`, "latin1"),
      { ...limits, maxMessageBytes: blank + 4 },
      "stream",
    );
  } catch {
    return null;
  }
  if (!req.isRequest() || req.method === "ACK" || checkMessage(req) !== null) return null;
  const tooLarge = error instanceof SipParseError && error.code === "TOO_LARGE";
  return createResponse(req, tooLarge ? 513 : 400).toBuffer();
}

function withoutContentLength(head: string): string {
  let out = "";
  let pos = 0;
  while (pos < head.length) {
    let eol = head.indexOf("\r\n", pos);
    if (eol < 0) eol = head.length;
    const line = head.slice(pos, eol + 2);
    const colon = line.indexOf(":");
    const name = colon > 0 ? line.slice(0, colon).trim().toLowerCase() : "";
    if (pos === 0 || (name !== "content-length" && name !== "l")) out += line;
    pos = eol + 2;
  }
  return out;
}
