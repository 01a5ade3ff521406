import { SipRequest, type SipResponse } from "@sip-platform/sip";
import { TransactionError } from "./errors.js";

/** The top Via value exactly as written (a Via line may hold several comma-separated values). */
export function topViaValue(req: SipRequest): string {
  const v = req.headerValues("Via")[0];
  if (v === undefined) throw new TransactionError("MISSING_HEADER", `${req.method} has no Via header`);
  return v.trim();
}

function required(req: SipRequest, name: string): string {
  const v = req.header(name);
  if (v === undefined) throw new TransactionError("MISSING_HEADER", `${req.method} has no ${name} header`);
  return v;
}

/**
 * The ACK a client INVITE transaction sends for a non-2xx final response (RFC 3261 §17.1.1.3):
 * Request-URI, Call-ID and From of the INVITE; To of the response (with its tag); one Via, the
 * INVITE's top one (so the ACK matches the server transaction); CSeq number of the INVITE with
 * method ACK; the INVITE's Route header fields. An ACK for a 2xx is the TU's (§13.2.2.4), not this.
 */
export function createAck(invite: SipRequest, response: SipResponse): SipRequest {
  const ack = new SipRequest("ACK", invite.uri, "SIP/2.0", null);
  ack.appendHeader("Via", topViaValue(invite));
  for (const route of invite.headerLines("Route")) ack.appendHeader("Route", route);
  ack.appendHeader("Max-Forwards", "70");
  ack.appendHeader("From", required(invite, "From"));
  const to = response.header("To");
  ack.appendHeader("To", to ?? required(invite, "To"));
  ack.appendHeader("Call-ID", required(invite, "Call-ID"));
  ack.appendHeader("CSeq", `${invite.cseq().seq} ACK`);
  ack.setBody(Buffer.alloc(0));
  return ack;
}

/**
 * A CANCEL for a pending request (RFC 3261 §9.1): Request-URI, Call-ID, To, From (tags included)
 * and the CSeq number of the request; one Via, its top one, so the CANCEL carries the same branch
 * and the next hop can match it to the INVITE (§9.2); its Route header fields. Send it with
 * `layer.sendRequest` to the same destination as the request (`clientTx.flow ?? clientTx.target`),
 * and not before a provisional response has arrived (§9.1).
 */
export function createCancel(request: SipRequest): SipRequest {
  if (request.method === "ACK" || request.method === "CANCEL") {
    throw new TransactionError("BAD_METHOD", `an ${request.method} cannot be cancelled (§9.1)`);
  }
  const cancel = new SipRequest("CANCEL", request.uri, "SIP/2.0", null);
  cancel.appendHeader("Via", topViaValue(request));
  for (const route of request.headerLines("Route")) cancel.appendHeader("Route", route);
  cancel.appendHeader("Max-Forwards", "70");
  cancel.appendHeader("From", required(request, "From"));
  cancel.appendHeader("To", required(request, "To"));
  cancel.appendHeader("Call-ID", required(request, "Call-ID"));
  cancel.appendHeader("CSeq", `${request.cseq().seq} CANCEL`);
  cancel.setBody(Buffer.alloc(0));
  return cancel;
}

/** Throws unless `status` is a valid response code (100–699). */
export function checkStatus(status: number): void {
  if (!Number.isInteger(status) || status < 100 || status > 699) {
    throw new TransactionError("BAD_STATUS", `response status ${status} is not in 100–699`);
  }
}
