import { createResponse, type SipRequest, type SipResponse } from "@sip-platform/sip";
import type { ClientTransactionHandlers } from "./handlers.js";
import { type MachineDefinition, Transaction, type TransactionEnv, type TxEvent } from "./machine.js";
import { type Flow, isFlow, isReliableProtocol, type Target } from "./transport-types.js";

/** RFC 3261 Figure 6. */
export type ClientNonInviteState = "Trying" | "Proceeding" | "Completed" | "Terminated";

export type ClientNonInviteEvent =
  | "start"
  | "1xx"
  | "200-699"
  | "timerE"
  | "timerF"
  | "timerK"
  | "transportError";

export type ClientNonInviteAction =
  | "send"
  | "retransmit"
  | "startE"
  | "backoffE"
  | "resetE"
  | "startF"
  | "startK"
  | "responseToTu"
  | "timeoutToTu"
  | "transportErrorToTu";

export const CLIENT_NON_INVITE: MachineDefinition<
  ClientNonInviteState,
  ClientNonInviteEvent,
  ClientNonInviteAction
> = {
  kind: "client-non-invite",
  /*
   * §17.1.2.2: "The "Trying" state is entered when the TU initiates a new client transaction with a
   * request. When entering this state, the client transaction SHOULD set timer F to fire in 64*T1
   * seconds. The request MUST be passed to the transport layer for transmission. If an unreliable
   * transport is in use, the client transaction MUST set timer E to fire in T1 seconds."
   */
  initial: { to: "Trying", actions: ["send", "startE", "startF"] },
  table: {
    Trying: {
      /*
       * "If timer E fires while still in this state, the timer is reset, but this time with a value
       * of MIN(2*T1, T2). When the timer fires again, it is reset to a MIN(4*T1, T2). This process
       * continues so that retransmissions occur with an exponentially increasing interval that caps
       * at T2."
       */
      timerE: { actions: ["retransmit", "backoffE"] },
      /*
       * "If Timer F fires while the client transaction is still in the "Trying" state, the client
       * transaction SHOULD inform the TU about the timeout, and then it SHOULD enter the
       * "Terminated" state."
       */
      timerF: { to: "Terminated", actions: ["timeoutToTu"] },
      /* "If a provisional response is received while in the "Trying" state, the response MUST be passed to the TU, and then the client transaction SHOULD move to the "Proceeding" state." */
      "1xx": { to: "Proceeding", actions: ["responseToTu"] },
      /* "If a final response (status codes 200-699) is received while in the "Trying" state, the response MUST be passed to the TU, and the client transaction MUST transition to the "Completed" state." */
      "200-699": { to: "Completed", actions: ["startK", "responseToTu"] },
      /* §17.1.4 and Figure 6: "Transport Err. / Inform TU" → Terminated. */
      transportError: { to: "Terminated", actions: ["transportErrorToTu"] },
    },
    Proceeding: {
      /* "If Timer E fires while in the "Proceeding" state, the request MUST be passed to the transport layer for retransmission, and Timer E MUST be reset with a value of T2 seconds." */
      timerE: { actions: ["retransmit", "resetE"] },
      /* "If timer F fires while in the "Proceeding" state, the TU MUST be informed of a timeout, and the client transaction MUST transition to the terminated state." */
      timerF: { to: "Terminated", actions: ["timeoutToTu"] },
      "1xx": { actions: ["responseToTu"] },
      /* "If a final response (status codes 200-699) is received while in the "Proceeding" state, the response MUST be passed to the TU, and the client transaction MUST transition to the "Completed" state." */
      "200-699": { to: "Completed", actions: ["startK", "responseToTu"] },
      transportError: { to: "Terminated", actions: ["transportErrorToTu"] },
    },
    Completed: {
      /*
       * "Once the client transaction enters the "Completed" state, it MUST set Timer K to fire in T4
       * seconds for unreliable transports, and zero seconds for reliable transports. The
       * "Completed" state exists to buffer any additional response retransmissions that may be
       * received" — they are absorbed (no row). "If Timer K fires while in this state, the client
       * transaction MUST transition to the "Terminated" state."
       */
      timerK: { to: "Terminated", actions: [] },
    },
    Terminated: {},
  },
  timersIn: {
    Trying: ["timerE", "timerF"],
    Proceeding: ["timerE", "timerF"],
    Completed: ["timerK"],
    Terminated: [],
  },
};

/** Client non-INVITE transaction (RFC 3261 §17.1.2). Created by `TransactionLayer.sendRequest`. */
export class ClientNonInviteTransaction extends Transaction<
  ClientNonInviteState,
  ClientNonInviteEvent,
  ClientNonInviteAction
> {
  readonly target: Target | Flow;
  #flow: Flow | undefined;
  readonly #handlers: ClientTransactionHandlers<ClientNonInviteTransaction>;
  #intervalE: number;

  constructor(
    id: string,
    request: SipRequest,
    target: Target | Flow,
    handlers: ClientTransactionHandlers<ClientNonInviteTransaction>,
    env: TransactionEnv,
  ) {
    super(CLIENT_NON_INVITE, env, id, request, isReliableProtocol(target.protocol));
    this.target = target;
    this.#flow = isFlow(target) ? target : undefined;
    this.#handlers = handlers;
    this.#intervalE = env.timers.E;
  }

  get flow(): Flow | undefined {
    return this.#flow;
  }

  /** A response the layer matched to this transaction (§17.1.3). */
  receiveResponse(response: SipResponse): void {
    const s = response.status;
    if (s < 100) return;
    this.dispatch({ type: s < 200 ? "1xx" : "200-699", response });
  }

  protected perform(action: ClientNonInviteAction, ev: TxEvent<ClientNonInviteEvent>): void {
    const { transport, timers } = this.env;
    switch (action) {
      case "send":
        this.transmit(
          () => transport.sendRequest(this.request, this.target),
          (flow) => {
            this.#flow ??= flow;
          },
        );
        return;
      case "retransmit":
        this.publishRetransmit("request");
        this.transmit(() => transport.sendRequest(this.request, this.#flow ?? this.target));
        return;
      case "startE":
        if (!this.reliable) this.startTimer("timerE", this.#intervalE);
        return;
      case "backoffE":
        this.#intervalE = Math.min(2 * this.#intervalE, timers.T2);
        this.startTimer("timerE", this.#intervalE);
        return;
      case "resetE":
        this.#intervalE = timers.T2;
        this.startTimer("timerE", this.#intervalE);
        return;
      case "startF":
        this.startTimer("timerF", timers.F);
        return;
      case "startK":
        this.startTimer("timerK", this.reliable ? 0 : timers.K);
        return;
      case "responseToTu":
        this.tu(() => this.#handlers.onResponse(ev.response!, this));
        return;
      case "timeoutToTu":
        this.tu(() => {
          if (this.#handlers.onTimeout) this.#handlers.onTimeout(this);
          else this.#handlers.onResponse(createResponse(this.request, 408), this);
        });
        return;
      case "transportErrorToTu":
        this.tu(() => {
          if (this.#handlers.onTransportError) this.#handlers.onTransportError(ev.error, this);
          else this.#handlers.onResponse(createResponse(this.request, 503), this);
        });
        return;
    }
  }

  protected terminatedToTu(): void {
    const h = this.#handlers.onTerminated;
    if (h) this.tu(() => h(this));
  }
}
