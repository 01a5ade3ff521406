/**
 * Test helpers: a fake `SipTransport` that records what is sent and lets a test inject inbound
 * messages, and builders for the messages a peer would send. Not exported from the package index.
 */
import {
  createResponse,
  newBranch,
  parseMessage,
  type ResponseOptions,
  type SipRequest,
  type SipResponse,
} from "@sip-platform/sip";
import type { Listener } from "@sip-platform/transport";
import { FakeClock } from "./clock.js";
import { TransactionLayer, type TransactionLayerOptions } from "./layer.js";
import { type Flow, type Inbound, isFlow, type SipTransport, type Target } from "./transport-types.js";

export const UDP_FLOW: Flow = Object.freeze({
  protocol: "udp",
  local: { address: "192.0.2.1", port: 5060 },
  remote: { address: "192.0.2.2", port: 5060 },
  connectionId: "",
});

export const TCP_FLOW: Flow = Object.freeze({
  protocol: "tcp",
  local: { address: "192.0.2.1", port: 5060 },
  remote: { address: "192.0.2.2", port: 40000 },
  connectionId: "tcp-1",
});

export const UDP_TARGET: Target = Object.freeze({ protocol: "udp", address: "192.0.2.2", port: 5060 });
export const TCP_TARGET: Target = Object.freeze({ protocol: "tcp", address: "192.0.2.2", port: 5060 });

export interface Sent {
  readonly message: SipRequest | SipResponse;
  readonly to: Target | Flow;
  /** Fake-clock time of the send. */
  readonly at: number;
}

export class FakeTransport implements SipTransport {
  readonly sent: Sent[] = [];
  readonly listeners: readonly Listener[] = [];
  /** When set and returning an error for a message, that send is rejected with it. */
  failWith: ((message: SipRequest | SipResponse) => unknown) | undefined;
  #handler: ((inbound: Inbound) => void) | undefined;

  constructor(readonly clock: FakeClock) {}

  sendRequest(req: SipRequest, to: Target | Flow): Promise<Flow> {
    return this.#send(req, to);
  }

  sendResponse(res: SipResponse, flow: Flow): Promise<Flow> {
    return this.#send(res, flow);
  }

  onMessage(handler: (inbound: Inbound) => void): void {
    this.#handler = handler;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /** Delivers a message as if it had arrived on `flow`. */
  inject(message: SipRequest | SipResponse, flow: Flow = UDP_FLOW): void {
    if (!this.#handler) throw new Error("nobody listens on the fake transport");
    this.#handler({ message, flow });
  }

  /** Requests sent, optionally only of one method. */
  requests(method?: string): SipRequest[] {
    const out: SipRequest[] = [];
    for (const s of this.sent) {
      if (s.message.isRequest() && (method === undefined || s.message.method === method)) out.push(s.message);
    }
    return out;
  }

  /** Statuses of the responses sent, in order. */
  statuses(): number[] {
    const out: number[] = [];
    for (const s of this.sent) if (!s.message.isRequest()) out.push((s.message as SipResponse).status);
    return out;
  }

  /** Fake-clock times at which messages matching `pred` were sent. */
  times(pred: (m: SipRequest | SipResponse) => boolean): number[] {
    return this.sent.filter((s) => pred(s.message)).map((s) => s.at);
  }

  #send(message: SipRequest | SipResponse, to: Target | Flow): Promise<Flow> {
    this.sent.push({ message, to, at: this.clock.now() });
    const error = this.failWith?.(message);
    if (error !== undefined) return Promise.reject(error);
    if (isFlow(to)) return Promise.resolve(to);
    const flow: Flow = {
      protocol: to.protocol,
      local: { address: "192.0.2.1", port: 5060 },
      remote: { address: to.address, port: to.port },
      connectionId: to.protocol === "udp" ? "" : "tcp-out-1",
    };
    return Promise.resolve(flow);
  }
}

export interface Harness {
  readonly clock: FakeClock;
  readonly transport: FakeTransport;
  readonly layer: TransactionLayer;
  readonly errors: unknown[];
}

export function harness(options: Omit<TransactionLayerOptions, "clock"> = {}): Harness {
  const clock = new FakeClock();
  const transport = new FakeTransport(clock);
  const errors: unknown[] = [];
  const layer = new TransactionLayer(transport, { onError: (e) => errors.push(e), ...options, clock });
  return { clock, transport, layer, errors };
}

/** Lets rejected sends reach their transactions (they come back on the microtask queue). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

export interface RequestSpec {
  readonly method?: string;
  readonly uri?: string;
  readonly branch?: string;
  /** Top Via sent-by. */
  readonly sentBy?: string;
  readonly transport?: string;
  readonly callId?: string;
  readonly fromTag?: string;
  readonly toTag?: string;
  readonly seq?: number;
  readonly cseqMethod?: string;
  readonly routes?: readonly string[];
  readonly extra?: readonly string[];
}

/** A request as a peer would send it, parsed from wire text. A second Via stands for an upstream hop. */
export function request(spec: RequestSpec = {}): SipRequest {
  const method = spec.method ?? "INVITE";
  const lines = [
    `${method} ${spec.uri ?? "sip:bob@biloxi.example.com"} SIP/2.0`,
    `Via: SIP/2.0/${spec.transport ?? "UDP"} ${spec.sentBy ?? "pc33.atlanta.example.com:5060"};branch=${spec.branch ?? newBranch()};rport`,
    "Via: SIP/2.0/UDP 192.0.2.4:5060;branch=z9hG4bKupstream1;received=192.0.2.4",
    ...(spec.routes ?? []).map((r) => `Route: ${r}`),
    "Max-Forwards: 70",
    `To: Bob <sip:bob@biloxi.example.com>${spec.toTag ? `;tag=${spec.toTag}` : ""}`,
    `From: "Alice" <sip:alice@atlanta.example.com>;tag=${spec.fromTag ?? "1928301774"}`,
    `Call-ID: ${spec.callId ?? "a84b4c76e66710@pc33.atlanta.example.com"}`,
    `CSeq: ${spec.seq ?? 314159} ${spec.cseqMethod ?? method}`,
    "Contact: <sip:alice@192.0.2.10:5060>",
    ...(spec.extra ?? []),
    "Content-Length: 0",
  ];
  return parseMessage(`${lines.join("\r\n")}\r\n\r\n`) as SipRequest;
}

/** A response to `req` as the peer would send it (built per §8.2.6, then parsed from its bytes). */
export function reply(req: SipRequest, status: number, options: ResponseOptions = {}): SipResponse {
  return parseMessage(createResponse(req, status, options).toBuffer()) as SipResponse;
}

/** Another copy of a message, as a retransmission arrives: same bytes, new object. */
export function copy<M extends SipRequest | SipResponse>(m: M): M {
  return parseMessage(m.toBuffer()) as M;
}
