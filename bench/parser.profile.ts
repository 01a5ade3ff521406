/**
 * A plain loop over one parser case, for `node --cpu-prof`:
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof bench/parser.profile.ts [lazy|index|all|pipeline|fwd-req|fwd-resp] [INVITE|REGISTER_WITH_AUTH|OK_200] [seconds]
 *   node bench/prof-summary.ts /tmp/prof/*.cpuprofile
 *
 * "index" is parseMessage alone (no getter), to split the cost between indexing and the getters.
 * "fwd-req" / "fwd-resp" run the UDP forwarder's per-message work (udp-forward/stateless.ts) on the
 * UDP load's OPTIONS and 200 (the message argument is then ignored).
 */

import { INVITE, OK_200, REGISTER_WITH_AUTH } from "@sip-platform/fixtures/messages";
import { parseMessage, type SipMessage, viaBranch } from "@sip-platform/sip";
import { benchRequest, benchResponse } from "./udp-forward/messages.ts";
import { createStatelessForwarder } from "./udp-forward/stateless.ts";

const mode = process.argv[2] ?? "lazy";
const MESSAGES: Record<string, string> = { INVITE, REGISTER_WITH_AUTH, OK_200 };
const name = process.argv[3] ?? "INVITE";
const seconds = Number(process.argv[4] ?? 5);
const text = MESSAGES[name];
if (text === undefined)
  throw new Error(`unknown message ${name}; one of ${Object.keys(MESSAGES).join(", ")}`);
const wire = Buffer.from(text, "latin1");

function hot(m: SipMessage): number {
  const top = m.topVia();
  return (
    (top ? (viaBranch(top)?.length ?? 0) : 0) +
    m.cseq().seq +
    (m.callId()?.length ?? 0) +
    (m.fromTag()?.length ?? 0) +
    (m.toTag()?.length ?? 0) +
    (m.isRequest() ? (m.maxForwards() ?? 0) : 0) +
    m.routes().length +
    m.body.length
  );
}

function all(m: SipMessage): number {
  let n = hot(m);
  for (let i = 0; i < m.headerCount; i++) n += m.headerValueAt(i).length;
  const c = m.contacts();
  return n + m.vias().length + m.from().uri.length + m.to().uri.length + (c === "*" ? 1 : c.length);
}

let forwarded: Buffer = Buffer.alloc(0);
const fwd = createStatelessForwarder({
  localHost: "127.0.0.1",
  localPort: 40001,
  nextHost: "127.0.0.1",
  nextPort: 40002,
  secret: "profile",
  send: (data) => {
    forwarded = data;
  },
});
const fwdRequest = benchRequest(1, "127.0.0.1:40000", "127.0.0.1:40002");
fwd.onDatagram(fwdRequest, "127.0.0.1", 40000);
const fwdResponse = benchResponse(forwarded);

function once(): number {
  if (mode === "fwd-req") {
    fwd.onDatagram(fwdRequest, "127.0.0.1", 40000);
    return forwarded.length;
  }
  if (mode === "fwd-resp") {
    fwd.onDatagram(fwdResponse, "127.0.0.1", 40002);
    return forwarded.length;
  }
  const m = parseMessage(wire);
  switch (mode) {
    case "index":
      return m.headerCount;
    case "all":
      return all(m);
    case "pipeline": {
      const n = hot(m);
      if (m.isRequest())
        m.prependHeader("Via", "SIP/2.0/UDP 192.0.2.254;branch=z9hG4bKx").setHeader("Max-Forwards", "69");
      else m.removeFirstValue("Via");
      return n + m.toBuffer().length;
    }
    default:
      return hot(m);
  }
}

const end = Date.now() + seconds * 1000;
let ops = 0;
let x = 0;
while (Date.now() < end) {
  for (let i = 0; i < 1000; i++) x += once();
  ops += 1000;
}
process.stderr.write(`${mode} ${name}: ${(ops / seconds / 1e3).toFixed(0)} k msg/s (checksum ${x % 997})\n`);
