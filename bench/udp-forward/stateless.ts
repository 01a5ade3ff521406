/**
 * The per-message work of a stateless proxy (RFC 3261 §16.11), without sockets: what the UDP
 * forwarder runs for every datagram, and what parser.bench.ts times on its own ("forwarder path")
 * to split the UDP figure into SIP work and node:dgram work.
 *
 * Requests: Max-Forwards checked (483 when 0) and decremented, the top Via given received/rport
 * (RFC 3261 §18.2.1, RFC 3581 §4), our Via pushed with a branch derived statelessly from the
 * incoming one, sent to the one configured next hop. Responses: only if the top Via is ours, it is
 * removed and the response sent to the next Via's received/rport or sent-by.
 */

import {
  createResponse,
  formatVia,
  MAGIC_COOKIE,
  parseMessage,
  type SipRequest,
  type SipResponse,
  type Via,
  viaBranch,
  viaRport,
} from "@sip-platform/sip";

export interface StatelessConfig {
  /** Our address and port: the sent-by of the Via we add, and what a response's top Via must name. */
  readonly localHost: string;
  readonly localPort: number;
  readonly nextHost: string;
  readonly nextPort: number;
  /** Hashed into every branch we create, so two forwarders seeing one request do not collide. */
  readonly secret: string;
  readonly send: (data: Buffer, port: number, host: string) => void;
}

export interface StatelessStats {
  requests: number;
  responses: number;
  tooManyHops: number;
  dropped: number;
  errors: number;
}

/** FNV-1a, 32 bits, over the chars of `s` (all < 256: the message is latin1), continuing from `h`. */
function fnv1a(s: string, h: number): number {
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Two hex digits per byte value; Number#toString(16) + padStart cost 8% of the request path. */
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

function hex32(n: number): string {
  return HEX[n >>> 24]! + HEX[(n >>> 16) & 255]! + HEX[(n >>> 8) & 255]! + HEX[n & 255]!;
}

/** Returns the datagram handler and its counters. */
export function createStatelessForwarder(cfg: StatelessConfig): {
  onDatagram: (buf: Buffer, fromAddress: string, fromPort: number) => void;
  stats: StatelessStats;
} {
  const stats: StatelessStats = { requests: 0, responses: 0, tooManyHops: 0, dropped: 0, errors: 0 };
  const seedA = fnv1a(cfg.secret, 0x811c9dc5);
  const seedB = fnv1a(cfg.secret, 0x050c5d1f);
  const ourSentBy = `${cfg.localHost}:${cfg.localPort}`;
  const { send } = cfg;

  /**
   * RFC 3261 §16.11: the same branch for a retransmission, a different one per transaction. With
   * an RFC 3261 branch upstream a hash of it is enough; otherwise hash what identifies the
   * transaction (top Via, tags, Call-ID, CSeq number, Request-URI). 64 bits from two FNV-1a passes
   * seeded with our secret; not cryptographic, which a stateless proxy does not need.
   */
  function statelessBranch(req: SipRequest, top: Via, topBranch: string | undefined): string {
    let key: string;
    if (topBranch?.startsWith(MAGIC_COOKIE)) key = topBranch;
    else {
      key = `${formatVia(top)}|${req.toTag() ?? ""}|${req.fromTag() ?? ""}|${req.callId() ?? ""}|${req.cseq().seq}|${req.uri}`;
    }
    const a = fnv1a(key, seedA);
    const b = fnv1a(key, seedB ^ a);
    return `${MAGIC_COOKIE}sl.${hex32(a)}${hex32(b)}`;
  }

  function onRequest(req: SipRequest, fromAddress: string, fromPort: number): void {
    const top = req.topVia();
    if (!top) {
      stats.dropped++;
      return;
    }
    const mf = req.maxForwards();
    if (mf === 0) {
      // §16.3 step 3; answered to the source address and port (RFC 3581 §4).
      stats.tooManyHops++;
      send(createResponse(req, 483).toBuffer(), fromPort, fromAddress);
      return;
    }
    const branch = statelessBranch(req, top, viaBranch(top));
    // §18.2.1 received when the sent-by host is not the source address; RFC 3581 rport filled in
    // when asked for. Either rewrites the top Via value.
    const rport = viaRport(top);
    const needsReceived = top.host !== fromAddress;
    if (rport === true || needsReceived) {
      if (needsReceived) top.params.set("received", fromAddress);
      if (rport !== undefined) top.params.set("rport", String(fromPort));
      req.removeFirstValue("Via");
      req.prependHeader("Via", formatVia(top));
    }
    req.prependHeader("Via", `SIP/2.0/UDP ${ourSentBy};branch=${branch}`);
    // §16.6 step 3: decrement, or add 70 when absent.
    req.setHeader("Max-Forwards", mf === undefined ? "70" : String(mf - 1));
    stats.requests++;
    send(req.toBuffer(), cfg.nextPort, cfg.nextHost);
  }

  function onResponse(res: SipResponse): void {
    const vias = res.vias();
    const top = vias[0];
    const next = vias[1];
    // §16.7 step 3, statelessly: only a response to something we sent, and only if someone is left.
    if (!top || !next || top.host !== cfg.localHost || (top.port ?? 5060) !== cfg.localPort) {
      stats.dropped++;
      return;
    }
    res.removeFirstValue("Via");
    const received = next.params.get("received");
    const rport = viaRport(next);
    const port = typeof rport === "number" ? rport : (next.port ?? 5060);
    stats.responses++;
    send(res.toBuffer(), port, received ?? next.host);
  }

  function onDatagram(buf: Buffer, fromAddress: string, fromPort: number): void {
    try {
      const m = parseMessage(buf);
      if (m.isRequest()) onRequest(m, fromAddress, fromPort);
      else onResponse(m);
    } catch {
      // A stateless proxy cannot answer what it cannot read: dropped, counted.
      stats.errors++;
    }
  }

  return { onDatagram, stats };
}
