/** Requests and contexts for the step tests: the shapes phones send, one line changed at a time. */
import { sipMessage } from "@sip-platform/fixtures/messages";
import { parseMessage, type SipRequest } from "@sip-platform/sip";
import type { Flow } from "@sip-platform/transport";
import { pino } from "pino";
import type { RequestContext } from "../pipeline/types.js";

export const silentLog = pino({ level: "silent" });

export const UDP_FLOW: Flow = Object.freeze({
  protocol: "udp",
  local: { address: "192.0.2.1", port: 5060 },
  remote: { address: "198.51.100.7", port: 5062 },
  connectionId: "",
});

export interface RequestSpec {
  readonly method?: string;
  readonly uri?: string;
  readonly cseqMethod?: string;
  readonly maxForwards?: number | null;
  /** Header lines to leave out, by name. */
  readonly without?: readonly string[];
  readonly extra?: readonly string[];
  readonly version?: string;
  readonly branch?: string;
}

/** A request text: `method` to `uri`, every mandatory header present unless left out. */
export function requestText(spec: RequestSpec = {}): string {
  const method = spec.method ?? "OPTIONS";
  const uri = spec.uri ?? "sip:example.test";
  const lines: Array<[string, string]> = [
    ["Via", `SIP/2.0/UDP 198.51.100.7:5062;branch=${spec.branch ?? "z9hG4bK-test-1"};rport`],
    ["Max-Forwards", spec.maxForwards === null ? "" : String(spec.maxForwards ?? 70)],
    ["From", "<sip:alice@example.test>;tag=ft1"],
    ["To", method === "REGISTER" ? "<sip:alice@example.test>" : `<${uri}>`],
    ["Call-ID", "call-1@198.51.100.7"],
    ["CSeq", `1 ${spec.cseqMethod ?? method}`],
    ["Contact", "<sip:alice@198.51.100.7:5062>"],
  ];
  const kept = lines
    .filter(([name, value]) => !(spec.without ?? []).includes(name) && value !== "")
    .map(([name, value]) => `${name}: ${value}`);
  return sipMessage([
    `${method} ${uri} ${spec.version ?? "SIP/2.0"}`,
    ...kept,
    ...(spec.extra ?? []),
    "Content-Length: 0",
  ]);
}

export function request(spec: RequestSpec = {}): SipRequest {
  return parseMessage(requestText(spec)) as SipRequest;
}

export function contextOf(req: SipRequest, flow: Flow = UDP_FLOW): RequestContext {
  return { request: req, flow, receivedAt: 1_800_000_000_000, log: silentLog };
}
