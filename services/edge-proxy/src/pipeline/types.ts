import type { ForwardHooks, ProxyTarget } from "@sip-platform/proxy-core";
import type { SipRequest, SipResponse } from "@sip-platform/sip";
import type { Flow } from "@sip-platform/transport";
import type { Logger } from "pino";

/** One request on its way through the pipeline. */
export interface RequestContext {
  readonly request: SipRequest;
  /** The flow it arrived on: where the answer goes, and what the registrar records (RFC 5626). */
  readonly flow: Flow;
  /** When the edge received it, epoch ms. */
  readonly receivedAt: number;
  /** A logger bound to this request (method, Call-ID, source). */
  readonly log: Logger;
  /** Set by authentication: the subscriber the request is from (`sip:user@domain`). */
  caller?: string;
  /** The loop hash of the request as received (RFC 3261 §16.6 step 8), set by the proxy checks. */
  loopHash?: string;
}

export type HeaderList = ReadonlyArray<readonly [name: string, value: string]>;

/**
 * What a step decided. `continue` hands the request to the next step; every other verdict ends
 * the pipeline: `reply` is a response this element builds (RFC 3261 §8.2.6), `relay` one built
 * elsewhere (the registrar's) and sent as is, `absorb` means nothing is to be sent.
 */
export type Verdict =
  | { readonly kind: "continue" }
  | {
      readonly kind: "reply";
      readonly status: number;
      readonly reason?: string;
      readonly headers?: HeaderList;
      /** To tag for a request without one; a fresh one by default (§8.2.6.2). */
      readonly toTag?: string;
    }
  | { readonly kind: "relay"; readonly response: SipResponse }
  /** Proxy the request statefully to these targets (RFC 3261 §16.6), steered by the hooks. */
  | { readonly kind: "proxy"; readonly targets: readonly ProxyTarget[]; readonly hooks?: ForwardHooks }
  | { readonly kind: "absorb" };

/** One step: pure where it can be, asynchronous only when it must ask another service. */
export type Step = (ctx: RequestContext) => Verdict | Promise<Verdict>;
/** A step that always decides at once. */
export type SyncStep = (ctx: RequestContext) => Verdict;

export const CONTINUE: Verdict = Object.freeze({ kind: "continue" });

export function reply(status: number, reason?: string, headers?: HeaderList): Verdict {
  return {
    kind: "reply",
    status,
    ...(reason !== undefined ? { reason } : {}),
    ...(headers !== undefined ? { headers } : {}),
  };
}

/** RFC 3261 §20.33: how long a client should wait before trying again after a 503. */
export const RETRY_AFTER_SECONDS = 5;

/** 503 with Retry-After: a service this edge depends on is not reachable right now (§21.5.4). */
export function unavailable(): Verdict {
  return reply(503, "Service Unavailable", [["Retry-After", String(RETRY_AFTER_SECONDS)]]);
}
