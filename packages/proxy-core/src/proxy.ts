import {
  createResponse,
  parseMessage,
  reasonPhrase,
  type SipRequest,
  type SipResponse,
} from "@sip-platform/sip";
import {
  type ClientTransaction,
  createCancel,
  type ServerInviteTransaction,
  type ServerTransaction,
  type TimerHandle,
  type TransactionLayer,
} from "@sip-platform/transaction";
import { type Flow, type Target, TransportError } from "@sip-platform/transport";
import { aggregateChallenges, chooseBest, groupByQ, upstreamStatus } from "./best-response.js";
import { loopHash, proxyBranch, statelessBranch } from "./branch.js";

export type HeaderList = ReadonlyArray<readonly [name: string, value: string]>;

/** One place to send the request to (§16.5): a binding's contact, a forwarding target, the next hop. */
export interface ProxyTarget {
  /** The branch's Request-URI (§16.6 step 2). */
  readonly uri: string;
  /** Where the branch goes: a flow (the connection a phone registered over) or an address. */
  readonly destination: Target | Flow;
  /** Serial forking order (§16.6): higher first, equal q in parallel. Default 1. */
  readonly q?: number;
  /** Route values to put on top (a binding's Path, RFC 3327), topmost first. */
  readonly routes?: readonly string[];
  /** Record-Route values to insert (§16.6 step 4), topmost first: two when the transport changes. */
  readonly recordRoute?: readonly string[];
  /** Further headers for this branch (e.g. Diversion). */
  readonly headers?: HeaderList;
  /**
   * The answer when the destination flow is gone: 480 for a new call (default), 430 Flow Failed
   * for a request inside a dialog (RFC 5626 §5.3), so the phone knows to re-register.
   */
  readonly flowFailedStatus?: number;
}

/** The Via sent-by this proxy writes for a destination, and extra Via parameters. */
export interface ViaAddress {
  readonly transport: string;
  readonly host: string;
  readonly port: number;
  /** Written after `;branch=…;rport`, e.g. `;edge=e1`. */
  readonly params?: string;
}

export interface ProxyCoreOptions {
  readonly layer: TransactionLayer;
  /** Our Via for a destination (the transport and the address responses come back to). */
  readonly via: (destination: Target | Flow) => ViaAddress;
  /** §16.6 step 11: Timer C, > 3 minutes (default 180 s). */
  readonly timerCMs?: number;
  /** `Server` header of the responses the proxy makes itself. */
  readonly server?: string;
}

/** What the caller hears from one response context and how it steers it. */
export interface ForwardHooks {
  /** A response about to go upstream (Via already popped); 1xx, 2xx, and the final one. */
  onUpstream?(response: SipResponse): void;
  /**
   * Every branch ended without a 2xx and `best` is the answer to send: return more targets to try
   * instead (call forwarding on busy), or undefined to send it.
   */
  onFailure?(best: SipResponse): readonly ProxyTarget[] | undefined;
  /**
   * After `afterMs` without a final response (call forwarding on no answer): the pending branches
   * are cancelled and `targets()` are tried instead (their 487s are ignored).
   */
  readonly noAnswer?: { readonly afterMs: number; targets(): readonly ProxyTarget[] | undefined };
}

type BranchState = "calling" | "proceeding" | "done";

interface Branch {
  readonly target: ProxyTarget;
  readonly request: SipRequest;
  tx: ClientTransaction | undefined;
  state: BranchState;
  cancelWanted: boolean;
  /** Responses of a branch cancelled to make way for others (no-answer forwarding) don't count. */
  ignored: boolean;
  timerC: TimerHandle | undefined;
  /** §9.1: runs from the CANCEL until the INVITE's final response; 64*T1. */
  cancelGuard: TimerHandle | undefined;
}

/**
 * The proxy's response context for one server transaction (RFC 3261 §16.7): its branches, the
 * responses received, the groups of targets not tried yet.
 */
export class ResponseContext {
  readonly #core: ProxyCore;
  readonly #server: ServerTransaction;
  readonly #request: SipRequest;
  readonly #hooks: ForwardHooks;
  readonly #loopHash: string;
  readonly #branches: Branch[] = [];
  readonly #finals: SipResponse[] = [];
  #groups: ProxyTarget[][] = [];
  #finalSent = false;
  #cancelled = false;
  #noAnswer: TimerHandle | undefined;

  constructor(
    core: ProxyCore,
    server: ServerTransaction,
    request: SipRequest,
    hooks: ForwardHooks,
    hash: string,
  ) {
    this.#core = core;
    this.#server = server;
    this.#request = request;
    this.#hooks = hooks;
    this.#loopHash = hash;
  }

  get isInvite(): boolean {
    return this.#request.method === "INVITE";
  }

  /** Whether a final response went upstream. */
  get finished(): boolean {
    return this.#finalSent;
  }

  /** Branches started so far (for tests and diagnostics). */
  get branchCount(): number {
    return this.#branches.length;
  }

  start(targets: readonly ProxyTarget[]): void {
    this.#groups = groupByQ(targets);
    const na = this.#hooks.noAnswer;
    if (na !== undefined && this.isInvite) {
      this.#noAnswer = this.#core.clock.setTimeout(() => this.#onNoAnswer(), na.afterMs);
    }
    this.#nextGroup();
  }

  /** §16.10: CANCEL from upstream: cancel every pending branch and start no new one. */
  cancel(): void {
    if (this.#cancelled) return;
    this.#cancelled = true;
    this.#groups = [];
    this.#stopNoAnswer();
    for (const b of this.#branches) this.#cancelBranch(b);
    this.#maybeFinish();
  }

  #nextGroup(): boolean {
    const group = this.#groups.shift();
    if (group === undefined) return false;
    for (const target of group) this.#startBranch(target);
    return true;
  }

  #startBranch(target: ProxyTarget): void {
    const request = this.#core.branchRequest(this.#request, target, this.#loopHash);
    const branch: Branch = {
      target,
      request,
      tx: undefined,
      state: "calling",
      cancelWanted: false,
      ignored: false,
      timerC: undefined,
      cancelGuard: undefined,
    };
    this.#branches.push(branch);
    try {
      branch.tx = this.#core.layer.sendRequest(request, target.destination, {
        onResponse: (res) => this.#onResponse(branch, res),
        onTimeout: () => this.#onLocalFinal(branch, 408),
        onTransportError: (err) =>
          this.#onLocalFinal(branch, statusForTransportError(err, target.flowFailedStatus ?? 480)),
      });
    } catch {
      this.#onLocalFinal(branch, 500);
      return;
    }
    if (this.isInvite) this.#armTimerC(branch);
  }

  #armTimerC(branch: Branch): void {
    if (branch.timerC !== undefined) this.#core.clock.clearTimeout(branch.timerC);
    branch.timerC = this.#core.clock.setTimeout(() => this.#onTimerC(branch), this.#core.timerCMs);
  }

  /** §16.8: Timer C fired: a branch that answered provisionally is cancelled, a silent one is a 408. */
  #onTimerC(branch: Branch): void {
    branch.timerC = undefined;
    if (branch.state === "done") return;
    if (branch.state === "proceeding") {
      branch.cancelWanted = true;
      this.#sendCancel(branch);
      return;
    }
    branch.tx?.terminate();
    this.#onLocalFinal(branch, 408);
  }

  #onResponse(branch: Branch, res: SipResponse): void {
    const status = res.status;
    if (status < 200) {
      if (branch.state === "done") return;
      if (branch.state === "calling") {
        branch.state = "proceeding";
        if (branch.cancelWanted) this.#sendCancel(branch);
      }
      if (status > 100 && this.isInvite) this.#armTimerC(branch);
      // §16.7 step 5: 100 is hop by hop; other provisionals go upstream unless a final went already.
      if (status > 100 && !this.#finalSent && !branch.ignored) this.#sendUpstream(res);
      return;
    }
    if (status < 300) {
      // §16.7 step 5: every 2xx goes upstream at once, also after the first (forked answers) and
      // for INVITE the 2xx retransmissions the client transaction passes up in Accepted.
      this.#endBranch(branch);
      this.#stopNoAnswer();
      const first = !this.#finalSent;
      this.#finalSent = true;
      this.#sendUpstream(res);
      // §16.7 step 10: a 2xx ends the other branches.
      if (first) {
        this.#groups = [];
        for (const b of this.#branches) this.#cancelBranch(b);
      }
      return;
    }
    if (branch.state === "done") return;
    this.#endBranch(branch);
    if (branch.ignored) {
      this.#maybeFinish();
      return;
    }
    this.#finals.push(res);
    if (status >= 600) {
      // §16.7 step 10: a 6xx ends the search: pending branches are cancelled, no new ones.
      this.#groups = [];
      for (const b of this.#branches) this.#cancelBranch(b);
    }
    this.#maybeFinish();
  }

  #onLocalFinal(branch: Branch, status: number): void {
    if (branch.state === "done") return;
    this.#endBranch(branch);
    if (!branch.ignored) {
      this.#finals.push(createResponse(branch.request, status, this.#core.serverHeaders));
    }
    this.#maybeFinish();
  }

  #endBranch(branch: Branch): void {
    branch.state = "done";
    if (branch.timerC !== undefined) {
      this.#core.clock.clearTimeout(branch.timerC);
      branch.timerC = undefined;
    }
    if (branch.cancelGuard !== undefined) {
      this.#core.clock.clearTimeout(branch.cancelGuard);
      branch.cancelGuard = undefined;
    }
  }

  /** §9.1: a CANCEL only after a provisional response; until then it is remembered. */
  #cancelBranch(branch: Branch): void {
    if (branch.state === "done" || branch.cancelWanted) return;
    branch.cancelWanted = true;
    if (branch.state === "proceeding") this.#sendCancel(branch);
  }

  #sendCancel(branch: Branch): void {
    if (!this.isInvite) return;
    try {
      this.#core.layer.sendRequest(createCancel(branch.request), branch.target.destination, {
        onResponse: () => {},
        onTimeout: () => {},
        onTransportError: () => {},
      });
    } catch {
      // Only a closed layer or a duplicate CANCEL throws; the guard below still ends the branch.
    }
    // §9.1: no final response 64*T1 after the CANCEL: the INVITE counts as cancelled, so a callee
    // that ignores the CANCEL cannot keep the branch (and the caller's transaction) open for ever.
    branch.cancelGuard ??= this.#core.clock.setTimeout(() => {
      branch.cancelGuard = undefined;
      if (branch.state === "done") return;
      branch.tx?.terminate();
      this.#onLocalFinal(branch, 487);
    }, this.#core.layer.timers.B);
  }

  #onNoAnswer(): void {
    this.#noAnswer = undefined;
    if (this.#finalSent || this.#cancelled) return;
    const targets = this.#hooks.noAnswer?.targets();
    if (targets === undefined || targets.length === 0) return;
    for (const b of this.#branches) {
      if (b.state !== "done") {
        b.ignored = true;
        this.#cancelBranch(b);
      }
    }
    this.#groups = groupByQ(targets);
    this.#nextGroup();
  }

  #stopNoAnswer(): void {
    if (this.#noAnswer !== undefined) {
      this.#core.clock.clearTimeout(this.#noAnswer);
      this.#noAnswer = undefined;
    }
  }

  #maybeFinish(): void {
    if (this.#finalSent) return;
    if (this.#branches.some((b) => b.state !== "done" && !b.ignored)) return;
    if (!this.#cancelled && this.#nextGroup()) return;
    if (this.#branches.some((b) => b.state !== "done" && !b.ignored)) return;
    const best = chooseBest(this.#finals) ?? createResponse(this.#request, 408, this.#core.serverHeaders);
    if (!this.#cancelled) {
      const more = this.#hooks.onFailure?.(best);
      if (more !== undefined && more.length > 0) {
        this.#finals.length = 0;
        this.#groups = groupByQ(more);
        this.#nextGroup();
        return;
      }
    }
    this.#stopNoAnswer();
    this.#finalSent = true;
    aggregateChallenges(best, this.#finals);
    const status = upstreamStatus(best.status);
    if (status !== best.status) best.setStatus(status, reasonPhrase(status));
    this.#sendUpstream(best);
  }

  #sendUpstream(res: SipResponse): void {
    const out =
      res.topVia()?.params.get("branch") === this.#request.topVia()?.params.get("branch")
        ? res // made here from the server transaction's request: our Via is not on it
        : popVia(res);
    this.#hooks.onUpstream?.(out);
    try {
      this.#server.respond(out);
    } catch {
      // A status the transaction refuses (it checks 100–699) cannot come from a parsed response.
    }
  }
}

function popVia(res: SipResponse): SipResponse {
  res.removeFirstValue("Via");
  return res;
}

/** §16.9: a branch that could not be sent; an unreachable flow (RFC 5626) is `flowFailed`, anything else a 503. */
function statusForTransportError(err: unknown, flowFailed: number): number {
  if (err instanceof TransportError && (err.code === "FLOW_CLOSED" || err.code === "CONNECT_FAILED"))
    return flowFailed;
  return 503;
}

/**
 * The stateful proxy core (RFC 3261 §16): forwards a request to its targets over client
 * transactions and answers the server transaction by the §16.7 rules. It decides nothing about
 * where requests go: the caller (the edge's routing steps) gives the targets and Record-Route values.
 */
export class ProxyCore {
  readonly layer: TransactionLayer;
  readonly timerCMs: number;
  readonly serverHeaders: { headers: HeaderList };
  readonly #via: (destination: Target | Flow) => ViaAddress;
  readonly #contexts = new WeakMap<ServerTransaction, ResponseContext>();

  constructor(options: ProxyCoreOptions) {
    this.layer = options.layer;
    this.timerCMs = options.timerCMs ?? 180_000;
    this.#via = options.via;
    this.serverHeaders = { headers: options.server !== undefined ? [["Server", options.server]] : [] };
  }

  get clock() {
    return this.layer.clock;
  }

  /**
   * Proxies `request` (already validated and Route-preprocessed, §16.3–16.4) to `targets` and
   * answers `server` with what comes back. An empty target list is the caller's mistake: 480.
   * `hash` is the loop hash of the request as it was received (§16.6 step 8), computed here when
   * not given (from the request as it is now).
   */
  forward(
    server: ServerTransaction,
    request: SipRequest,
    targets: readonly ProxyTarget[],
    hooks: ForwardHooks = {},
    hash: string = loopHash(request),
  ): ResponseContext {
    const ctx = new ResponseContext(this, server, request, hooks, hash);
    // §16.10: a CANCEL that arrived while the targets were being looked up was answered with a
    // 487 already; the request must not reach anyone now.
    if (server.state !== "Proceeding" && server.state !== "Trying") return ctx;
    this.#contexts.set(server, ctx);
    if (targets.length === 0) {
      server.respond(createResponse(request, 480, this.serverHeaders));
      return ctx;
    }
    ctx.start(targets);
    return ctx;
  }

  /** The response context of an INVITE server transaction, for a CANCEL (§16.10). */
  contextOf(tx: ServerInviteTransaction): ResponseContext | undefined {
    return this.#contexts.get(tx);
  }

  /** §16.6 steps 1–8: the copy of `request` for one target. */
  branchRequest(request: SipRequest, target: ProxyTarget, hash: string = loopHash(request)): SipRequest {
    const copy = parseMessage(request.toBuffer()) as SipRequest;
    copy.uri = target.uri;
    decrementMaxForwards(copy);
    for (const rr of [...(target.recordRoute ?? [])].reverse()) copy.prependHeader("Record-Route", rr);
    for (const route of [...(target.routes ?? [])].reverse()) copy.prependHeader("Route", route);
    for (const [name, value] of target.headers ?? []) copy.appendHeader(name, value);
    copy.prependHeader("Via", this.#viaValue(target.destination, proxyBranch(hash)));
    return copy;
  }

  /**
   * §16.11 stateless forwarding (the ACK of a 2xx, which no transaction owns): Max-Forwards, our
   * Via with a branch that is the same for every retransmission, then straight to the transport.
   */
  async forwardStateless(request: SipRequest, destination: Target | Flow, uri?: string): Promise<Flow> {
    if (uri !== undefined) request.uri = uri;
    const branch = statelessBranch(request);
    decrementMaxForwards(request);
    request.prependHeader("Via", this.#viaValue(destination, branch));
    return this.layer.transport.sendRequest(request, destination);
  }

  #viaValue(destination: Target | Flow, branch: string): string {
    const v = this.#via(destination);
    return `SIP/2.0/${v.transport} ${v.host}:${v.port};branch=${branch};rport${v.params ?? ""}`;
  }
}

/** §16.6 step 3: one hop less, or 70 when the request had none. */
function decrementMaxForwards(request: SipRequest): void {
  const mf = request.maxForwards();
  request.setHeader("Max-Forwards", String(mf === undefined ? 70 : Math.max(mf - 1, 0)));
}
