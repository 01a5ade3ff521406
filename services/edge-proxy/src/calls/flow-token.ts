import { createHmac, timingSafeEqual } from "node:crypto";
import type { FlowInfo } from "@sip-platform/bus";

/** A flow and the edge that owns it: where one side of a dialog is reachable (RFC 5626). */
export interface EdgeFlow {
  readonly edgeId: string;
  readonly flow: FlowInfo;
}

/**
 * What the edge writes into its Record-Route URI so that any edge can route the dialog's later
 * requests without stored state: the caller's flow (where the initial request came from), the
 * callee's flow (where the branch went) and the caller's From tag, which tells the direction of a
 * request (RFC 3261 §12.2.1.1: the From tag of the caller's requests stays the dialog's local tag).
 */
export interface DialogRoute {
  readonly callerTag: string;
  readonly caller: EdgeFlow;
  readonly callee?: EdgeFlow;
}

/** Prefix of the URI user part that marks our tokens (and the token format version). */
export const TOKEN_PREFIX = "rr1.";
const MAC_BYTES = 12;
const PROTOCOLS = ["udp", "tcp", "tls", "ws", "wss"] as const;

export type TokenCheck =
  | { readonly ok: true; readonly route: DialogRoute }
  | { readonly ok: false; readonly why: "tampered" | "malformed" };

/**
 * Encodes and verifies Record-Route tokens: `rr1.` + base64url(fields) + `.` + base64url(HMAC),
 * HMAC-SHA256 with the cluster secret truncated to 96 bits. URI-safe as a user part.
 */
export class FlowTokens {
  readonly #secret: string;

  constructor(secret: string) {
    if (secret.length < 16) throw new RangeError("the Record-Route token secret is too short");
    this.#secret = secret;
  }

  encode(route: DialogRoute): string {
    const fields = [
      route.callerTag,
      ...flowFields(route.caller),
      ...(route.callee ? flowFields(route.callee) : []),
    ];
    const body = Buffer.from(fields.join("\n"), "utf8").toString("base64url");
    return `${TOKEN_PREFIX}${body}.${this.#mac(body)}`;
  }

  /** Whether a URI user part is one of our tokens at all (verified or not). */
  static isToken(user: string | undefined): user is string {
    return user?.startsWith(TOKEN_PREFIX) === true;
  }

  decode(token: string): TokenCheck {
    if (!token.startsWith(TOKEN_PREFIX)) return { ok: false, why: "malformed" };
    const dot = token.lastIndexOf(".");
    if (dot <= TOKEN_PREFIX.length) return { ok: false, why: "malformed" };
    const body = token.slice(TOKEN_PREFIX.length, dot);
    // Compared as text: base64url decoding skips stray characters and trailing bits, so comparing
    // decoded bytes would accept other spellings of the same MAC.
    const mac = Buffer.from(token.slice(dot + 1), "latin1");
    const expected = Buffer.from(this.#mac(body), "latin1");
    if (mac.length !== expected.length || !timingSafeEqual(mac, expected))
      return { ok: false, why: "tampered" };
    const fields = Buffer.from(body, "base64url").toString("utf8").split("\n");
    const caller = flowOf(fields, 1);
    if (caller === undefined) return { ok: false, why: "malformed" };
    const callee = fields.length > 8 ? flowOf(fields, 8) : undefined;
    return { ok: true, route: { callerTag: fields[0]!, caller, ...(callee ? { callee } : {}) } };
  }

  #mac(body: string): string {
    return createHmac("sha256", this.#secret)
      .update("rr1\n")
      .update(body)
      .digest()
      .subarray(0, MAC_BYTES)
      .toString("base64url");
  }
}

function flowFields(f: EdgeFlow): string[] {
  const { flow } = f;
  return [
    f.edgeId,
    flow.protocol,
    flow.local.address,
    String(flow.local.port),
    flow.remote.address,
    String(flow.remote.port),
    flow.connectionId,
  ];
}

function flowOf(fields: readonly string[], at: number): EdgeFlow | undefined {
  if (fields.length < at + 7) return undefined;
  const [edgeId, protocol, la, lp, ra, rp, connectionId] = fields.slice(at, at + 7) as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  if (!(PROTOCOLS as readonly string[]).includes(protocol)) return undefined;
  return {
    edgeId,
    flow: {
      protocol: protocol as FlowInfo["protocol"],
      local: { address: la, port: Number(lp) },
      remote: { address: ra, port: Number(rp) },
      connectionId,
    },
  };
}
