/** The load of the UDP benchmark, shared with parser.bench.ts's "forwarder path" cases. */

/** An OPTIONS as the load generator sends it: UDP, rport asked for, distinct branch/Call-ID/tag per `i`. */
export function benchRequest(
  i: number,
  uac: string,
  sink: string,
  callId = `bench-${i}-${process.pid}`,
): Buffer {
  return Buffer.from(
    [
      `OPTIONS sip:sink@${sink} SIP/2.0`,
      `Via: SIP/2.0/UDP ${uac};branch=z9hG4bK-${process.pid}-${i};rport`,
      "Max-Forwards: 70",
      `From: <sip:load@${uac.split(":")[0]}>;tag=${(i * 2654435761) >>> 0}`,
      `To: <sip:sink@${sink.split(":")[0]}>`,
      `Call-ID: ${callId}`,
      `CSeq: ${i + 1} OPTIONS`,
      "User-Agent: sip-platform-bench",
      "Content-Length: 0",
      "",
      "",
    ].join("\r\n"),
    "latin1",
  );
}

const OK_LINE = Buffer.from("SIP/2.0 200 OK", "latin1");

/**
 * The sink's answer: the request's own header lines (Vias, From, To, Call-ID, CSeq…) under a 200
 * status line. All a stateless forwarder needs to route it back, built without parsing.
 */
export function benchResponse(request: Buffer): Buffer {
  return Buffer.concat([OK_LINE, request.subarray(request.indexOf(13))]);
}
