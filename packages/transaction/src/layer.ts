import { MAGIC_COOKIE, type SipRequest, type SipResponse, type Via } from "@sip-platform/sip";
import { ClientInviteTransaction } from "./client-invite.js";
import { ClientNonInviteTransaction } from "./client-non-invite.js";
import { type Clock, systemClock } from "./clock.js";
import { errorChannel, type TransactionErrorEvent } from "./diagnostics.js";
import { TransactionError } from "./errors.js";
import type { ClientTransactionHandlers } from "./handlers.js";
import type { TransactionEnv, TransactionInfo } from "./machine.js";
import { topViaValue } from "./messages.js";
import { ServerInviteTransaction } from "./server-invite.js";
import { ServerNonInviteTransaction } from "./server-non-invite.js";
import { resolveTimers, type TimerConfig, type TimerValues } from "./timers.js";
import type { Flow, Inbound, SipTransport, Target } from "./transport-types.js";

export type ClientTransaction = ClientInviteTransaction | ClientNonInviteTransaction;
export type ServerTransaction = ServerInviteTransaction | ServerNonInviteTransaction;
export type AnyTransaction = ClientTransaction | ServerTransaction;

/** A new request and the server transaction already made for it (§17.2.3: it matched none). */
export type RequestHandler = (tx: ServerTransaction, request: SipRequest) => void;
/**
 * An ACK that is not the transaction's business: one that matched no transaction (the ACK for a
 * 2xx is end-to-end, §13.2.2.4, §17), or one that matched an INVITE in Accepted (RFC 6026) whose
 * transaction has no `onAck` of its own (then `tx` is that transaction).
 */
export type AckHandler = (ack: SipRequest, flow: Flow, tx: ServerInviteTransaction | undefined) => void;
/** A response that matched no client transaction (§17.1.3); a proxy forwards it statelessly (§16.7, §18.1.2). */
export type StrayResponseHandler = (response: SipResponse, flow: Flow) => void;

export interface TransactionLayerOptions {
  /** T1, T2, T4 and D; defaults 500 ms, 4 s, 5 s, 32 s. */
  readonly timers?: Partial<TimerConfig>;
  /** Defaults to the real clock. */
  readonly clock?: Clock;
  /**
   * When a server INVITE transaction sends its own 100 (Trying) (§17.2.1): after this many ms
   * without a response from the TU (default 200), 0 to send it at once as proxies do (§16.2), or
   * "never" for a TU that always answers within 200 ms.
   */
  readonly tryingDelay?: number | "never";
  /**
   * A TU callback threw. The transaction has carried on regardless. Default: a process warning.
   * Also published on the `sip.transaction.error` channel.
   */
  readonly onError?: (error: unknown, tx: TransactionInfo | undefined) => void;
}

export interface TransactionLayerStats {
  readonly client: number;
  readonly server: number;
  /** Buckets of the RFC 2543 matching index (server transactions whose branch lacks the cookie). */
  readonly legacyIndex: number;
}

const SEP = "\u0000";

/** §17.2.3: branch, sent-by, and method, where an ACK is looked up under INVITE. */
function serverKey(branch: string, via: Via, method: string): string {
  return `${branch}${SEP}${via.host.toLowerCase()}:${via.port ?? ""}${SEP}${method}`;
}

/** §17.1.3: branch of the top Via and the CSeq method. */
function clientKey(branch: string, method: string): string {
  return `${branch}${SEP}${method}`;
}

/**
 * §17.2.3 for requests without the magic cookie (RFC 2543): Request-URI, From tag, Call-ID, CSeq
 * number and top Via bucket the candidates; the method and To tag are checked per candidate
 * because an ACK matches on the To tag of the response rather than of the INVITE.
 */
function legacyKey(req: SipRequest): string {
  return [req.uri, req.fromTag() ?? "", req.callId() ?? "", req.cseq().seq, topViaValue(req)].join(SEP);
}

function cookieBranch(via: Via | undefined): string | undefined {
  const b = via?.params.get("branch");
  return b?.startsWith(MAGIC_COOKIE) ? b : undefined;
}

/**
 * The RFC 3261 §17 transaction layer over one `SipTransport`: creates client transactions for the
 * TU, matches every inbound message to its transaction (or hands it to the TU), and forgets each
 * transaction the moment it is terminated.
 *
 * ```ts
 * const layer = new TransactionLayer(transport);
 * layer.onRequest((tx, req) => tx.respond(createResponse(req, 200)));
 * layer.sendRequest(options, { protocol: "udp", address: "192.0.2.1", port: 5060 }, {
 *   onResponse: (res) => console.log(res.status),
 * });
 * ```
 */
export class TransactionLayer {
  readonly transport: SipTransport;
  readonly timers: TimerValues;
  readonly clock: Clock;
  readonly #client = new Map<string, ClientTransaction>();
  readonly #server = new Map<string, ServerTransaction>();
  readonly #legacy = new Map<string, ServerTransaction[]>();
  readonly #env: TransactionEnv;
  readonly #tryingDelay: number | "never";
  readonly #onError: ((error: unknown, tx: TransactionInfo | undefined) => void) | undefined;
  #legacySeq = 0;
  #closed = false;
  #requestHandler: RequestHandler | undefined;
  #ackHandler: AckHandler | undefined;
  #strayHandler: StrayResponseHandler | undefined;

  constructor(transport: SipTransport, options: TransactionLayerOptions = {}) {
    const tryingDelay = options.tryingDelay ?? 200;
    if (tryingDelay !== "never" && !(Number.isFinite(tryingDelay) && tryingDelay >= 0)) {
      throw new RangeError(`tryingDelay must be a number of ms ≥ 0 or "never", got ${tryingDelay}`);
    }
    this.transport = transport;
    this.timers = resolveTimers(options.timers);
    this.clock = options.clock ?? systemClock;
    this.#tryingDelay = tryingDelay;
    this.#onError = options.onError;
    this.#env = {
      transport,
      clock: this.clock,
      timers: this.timers,
      terminated: (tx) => this.#forget(tx as AnyTransaction),
      tuError: (error, tx) => this.#reportTuError(error, tx),
    };
    transport.onMessage((inbound) => this.receive(inbound));
  }

  /** The TU's receiver of new requests (every request but ACK that matched no transaction). */
  onRequest(handler: RequestHandler): void {
    this.#requestHandler = handler;
  }

  onAck(handler: AckHandler): void {
    this.#ackHandler = handler;
  }

  onStrayResponse(handler: StrayResponseHandler): void {
    this.#strayHandler = handler;
  }

  /**
   * Starts a client transaction: an INVITE one for INVITE, a non-INVITE one otherwise. The request
   * must carry its top Via with a unique branch (§8.1.1.7, `newBranch()`), From, To, Call-ID and a
   * CSeq whose method is the request's. ACK is refused: an ACK for a 2xx is sent through the
   * transport directly, and the ACK for a non-2xx is the INVITE transaction's.
   */
  sendRequest(
    request: SipRequest,
    to: Target | Flow,
    handlers: ClientTransactionHandlers<ClientTransaction>,
  ): ClientTransaction {
    if (this.#closed) throw new TransactionError("CLOSED", "the transaction layer is closed");
    if (request.method === "ACK") {
      throw new TransactionError(
        "BAD_METHOD",
        "ACK is not sent in a client transaction (§17); use the transport",
      );
    }
    const branch = request.topVia()?.params.get("branch");
    if (!branch) throw new TransactionError("NO_BRANCH", `${request.method} needs a top Via with a branch`);
    if (request.cseq().method !== request.method) {
      throw new TransactionError(
        "CSEQ_MISMATCH",
        `CSeq method ${request.cseq().method} is not ${request.method}`,
      );
    }
    for (const name of ["From", "To", "Call-ID"]) {
      if (!request.hasHeader(name))
        throw new TransactionError("MISSING_HEADER", `${request.method} has no ${name}`);
    }
    const key = clientKey(branch, request.method);
    if (this.#client.has(key)) {
      throw new TransactionError(
        "DUPLICATE_TRANSACTION",
        `a ${request.method} transaction with branch ${branch} exists`,
      );
    }
    const tx =
      request.method === "INVITE"
        ? new ClientInviteTransaction(key, request, to, handlers, this.#env)
        : new ClientNonInviteTransaction(key, request, to, handlers, this.#env);
    this.#client.set(key, tx);
    tx.start();
    return tx;
  }

  /** Entry point for every inbound message (registered with the transport; public for chaining and tests). */
  receive(inbound: Inbound): void {
    if (this.#closed) return;
    const { message, flow } = inbound;
    try {
      if (message.isRequest()) this.#receiveRequest(message, flow);
      else this.#receiveResponse(message as SipResponse, flow);
    } catch (error) {
      // Only parsing can throw here (TU callbacks are guarded): a Via, CSeq, From or To we cannot read.
      this.#publishError({ reason: "malformed", error });
    }
  }

  /**
   * The INVITE server transaction a CANCEL refers to (§9.2): the §17.2.3 match with the CANCEL's
   * method taken as INVITE; for RFC 2543 requests, the same Request-URI, From tag, To tag, Call-ID,
   * CSeq number and top Via.
   */
  findInviteForCancel(cancel: SipRequest): ServerInviteTransaction | undefined {
    try {
      const via = cancel.topVia();
      const branch = cookieBranch(via);
      if (branch !== undefined) {
        const tx = this.#server.get(serverKey(branch, via!, "INVITE"));
        return tx instanceof ServerInviteTransaction ? tx : undefined;
      }
      if (via === undefined) return undefined;
      const toTag = cancel.toTag();
      for (const tx of this.#legacy.get(legacyKey(cancel)) ?? []) {
        if (tx instanceof ServerInviteTransaction && tx.request.toTag() === toTag) return tx;
      }
    } catch {
      // unreadable headers match nothing
    }
    return undefined;
  }

  /** Live transactions (terminated ones are removed at once). */
  stats(): TransactionLayerStats {
    return { client: this.#client.size, server: this.#server.size, legacyIndex: this.#legacy.size };
  }

  /** Terminates every transaction (their TUs get `onTerminated` only) and ignores inbound messages from then on. */
  close(): void {
    this.#closed = true;
    for (const tx of [...this.#client.values(), ...this.#server.values()]) tx.terminate();
  }

  // ---- inbound ------------------------------------------------------------------------------

  #receiveRequest(req: SipRequest, flow: Flow): void {
    const via = req.topVia();
    if (via === undefined) {
      this.#publishError({ reason: "malformed", error: new Error(`${req.method} without Via`) });
      return;
    }
    const isAck = req.method === "ACK";
    const branch = cookieBranch(via);
    const key = branch !== undefined ? serverKey(branch, via, isAck ? "INVITE" : req.method) : undefined;
    const tx = key !== undefined ? this.#server.get(key) : this.#matchLegacy(req, isAck);
    if (tx !== undefined) {
      // An ACK key names INVITE, so only an INVITE transaction can take an ACK here.
      tx.receiveRequest(req, flow);
      return;
    }
    if (isAck) {
      const h = this.#ackHandler;
      if (h) this.#callTu(() => h(req, flow, undefined));
      return;
    }
    const handler = this.#requestHandler;
    if (handler === undefined) {
      this.#publishError({ reason: "no-handler", error: new Error(`no request handler for ${req.method}`) });
      return;
    }
    const legacy = key === undefined ? legacyKey(req) : undefined;
    const id = key ?? `rfc2543:${++this.#legacySeq}`;
    const created: ServerTransaction =
      req.method === "INVITE"
        ? new ServerInviteTransaction(
            id,
            req,
            flow,
            {
              tryingDelay: this.#tryingDelay,
              defaultAck: (ack, ackFlow, inviteTx) => {
                const h = this.#ackHandler;
                if (h) h(ack, ackFlow, inviteTx);
              },
            },
            this.#env,
          )
        : new ServerNonInviteTransaction(id, req, flow, this.#env);
    this.#server.set(id, created);
    if (legacy !== undefined) {
      const bucket = this.#legacy.get(legacy);
      if (bucket) bucket.push(created);
      else this.#legacy.set(legacy, [created]);
    }
    created.start();
    this.#callTu(() => handler(created, req));
  }

  #matchLegacy(req: SipRequest, isAck: boolean): ServerTransaction | undefined {
    const bucket = this.#legacy.get(legacyKey(req));
    if (bucket === undefined) return undefined;
    const toTag = req.toTag();
    for (const tx of bucket) {
      if (isAck) {
        // §17.2.3: "[...] and the To tag of the ACK matches the To tag of the response sent by the server transaction."
        if (tx instanceof ServerInviteTransaction && tx.responseToTag === toTag) return tx;
      } else if (tx.request.method === req.method && tx.request.toTag() === toTag) {
        return tx;
      }
    }
    return undefined;
  }

  #receiveResponse(res: SipResponse, flow: Flow): void {
    const branch = res.topVia()?.params.get("branch");
    if (branch) {
      const tx = this.#client.get(clientKey(branch, res.cseq().method));
      if (tx !== undefined) {
        tx.receiveResponse(res);
        return;
      }
    }
    const h = this.#strayHandler;
    if (h) this.#callTu(() => h(res, flow));
  }

  // ---- bookkeeping -------------------------------------------------------------------------

  #forget(tx: AnyTransaction): void {
    if (tx instanceof ClientInviteTransaction || tx instanceof ClientNonInviteTransaction) {
      if (this.#client.get(tx.id) === tx) this.#client.delete(tx.id);
      return;
    }
    if (this.#server.get(tx.id) === tx) this.#server.delete(tx.id);
    if (tx.id.startsWith("rfc2543:")) {
      const key = legacyKey(tx.request);
      const bucket = this.#legacy.get(key);
      if (bucket === undefined) return;
      const i = bucket.indexOf(tx);
      if (i >= 0) bucket.splice(i, 1);
      if (bucket.length === 0) this.#legacy.delete(key);
    }
  }

  #callTu(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.#reportTuError(error, undefined);
    }
  }

  #reportTuError(error: unknown, tx: TransactionInfo | undefined): void {
    this.#publishError({ reason: "tu-threw", error, id: tx?.id });
    if (this.#onError) this.#onError(error, tx);
    else process.emitWarning(error instanceof Error ? error : String(error), { code: "SIP_TU_THREW" });
  }

  #publishError(event: TransactionErrorEvent): void {
    if (errorChannel.hasSubscribers) errorChannel.publish(event);
  }
}
