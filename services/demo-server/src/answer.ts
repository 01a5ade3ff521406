import { checkMessage, createResponse, type SipRequest, type SipResponse } from "@sip-platform/sip";

const ALLOW = "OPTIONS";

/**
 * The demo server's whole behaviour, stateless: OPTIONS → 200, ACK → nothing (there is no
 * transaction to absorb it), a request that fails the sanity checks → 400 naming the problem (505
 * for another SIP version), anything else → 501. Pure, so it is tested without sockets.
 */
export function answer(req: SipRequest, server: string): SipResponse | null {
  if (req.method === "ACK") return null;
  const problem = checkMessage(req);
  if (problem) {
    if (problem.code === "BAD_VERSION") return createResponse(req, 505, { headers: [["Server", server]] });
    return createResponse(req, 400, {
      reason: `Bad Request (${problem.message})`,
      headers: [["Server", server]],
    });
  }
  if (req.method === "OPTIONS") {
    return createResponse(req, 200, {
      headers: [
        ["Allow", ALLOW],
        ["Accept", "application/sdp"],
        ["Server", server],
      ],
    });
  }
  return createResponse(req, 501, {
    headers: [
      ["Allow", ALLOW],
      ["Server", server],
    ],
  });
}
