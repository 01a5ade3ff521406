/**
 * Registrations: what an address of record is bound to (RFC 3261 §10), as the registrar writes
 * them and the location service reads them. This package owns their storage; nobody else writes it.
 */

/** How the phone reached us: the REGISTER's source, used to reach it behind NAT (RFC 3581). */
export interface ReceivedFrom {
  readonly protocol: "udp" | "tcp" | "tls" | "ws" | "wss";
  readonly address: string;
  readonly port: number;
}

/** For connection-oriented phones: the edge instance and connection the phone is reachable on (RFC 5626 flow). */
export interface FlowRef {
  readonly edgeId: string;
  readonly connectionId: string;
}

export interface Binding {
  /** Normalised address of record, `sip:user@domain` (lower-case host, no params). */
  readonly aor: string;
  /** The Contact URI as registered. */
  readonly contact: string;
  /** Absolute expiry, epoch milliseconds. */
  readonly expiresAt: number;
  /** Contact q-value, 0..1; 1 when the phone gave none. */
  readonly q: number;
  readonly callId: string;
  readonly cseq: number;
  /** RFC 5626 `+sip.instance` (the URN, without quotes and angle brackets) and reg-id. */
  readonly instanceId?: string;
  readonly regId?: number;
  /** Path header values, in order (RFC 3327). */
  readonly path: readonly string[];
  readonly received?: ReceivedFrom;
  readonly flow?: FlowRef;
  readonly userAgent?: string;
  /** When this binding was last written, epoch ms. */
  readonly updatedAt: number;
}

/** One Contact of a REGISTER, with the expiry the registrar settled on (0 removes it). */
export interface BindingChange {
  readonly contact: string;
  readonly expiresSeconds: number;
  readonly q: number;
  readonly instanceId?: string;
  readonly regId?: number;
}

/** The REGISTER a set of changes comes from (RFC 3261 §10.3 step 7 orders updates by Call-ID and CSeq). */
export interface RegisterContext {
  readonly callId: string;
  readonly cseq: number;
  readonly path: readonly string[];
  readonly received?: ReceivedFrom;
  readonly flow?: FlowRef;
  readonly userAgent?: string;
  /** Epoch ms; injected so tests and replicas agree on time. */
  readonly now: number;
  /** Bindings an AoR may hold after the update. */
  readonly maxContacts: number;
}

export type ApplyResult =
  | { readonly ok: true; readonly bindings: readonly Binding[] }
  /** §10.3 step 7: same Call-ID with a CSeq not higher than the stored one (answered 500). */
  | { readonly ok: false; readonly reason: "out-of-order" }
  /** More contacts than `maxContacts` would remain (answered 403 or 503 by policy). */
  | { readonly ok: false; readonly reason: "too-many-contacts" };

/**
 * Where bindings live: Redis in the distributed deployment, memory in the one-process mode. Every
 * update of one AoR is atomic; expired bindings are never returned and their memory is reclaimed.
 */
export interface BindingStore {
  /** Applies a REGISTER's contacts atomically (§10.3 steps 6–8); returns the AoR's live bindings after it. */
  apply(aor: string, changes: readonly BindingChange[], ctx: RegisterContext): Promise<ApplyResult>;
  /** `Contact: *` with `Expires: 0` (§10.3 step 6): removes every binding, subject to the Call-ID/CSeq rule. */
  removeAll(aor: string, ctx: RegisterContext): Promise<ApplyResult>;
  /** Live bindings, highest q first. */
  lookup(aor: string, now: number): Promise<readonly Binding[]>;
  /** Administrative removal (REST DELETE), no ordering rules. */
  clear(aor: string): Promise<void>;
  /** Bindings whose flow belongs to `edgeId` lose their flow (the edge is gone): returns the AoRs touched. */
  dropFlowsOf(edgeId: string): Promise<readonly string[]>;
  close(): Promise<void>;
}
