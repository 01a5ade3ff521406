import { createResponse, type SipRequest, type SipResponse } from "@sip-platform/sip";
import type { ClientTransactionHandlers } from "./handlers.js";
import { type MachineDefinition, Transaction, type TransactionEnv, type TxEvent } from "./machine.js";
import { createAck } from "./messages.js";
import { type Flow, isFlow, isReliableProtocol, type Target } from "./transport-types.js";

/** RFC 3261 Figure 5 as amended by RFC 6026 §7.2 (the Accepted state). */
export type ClientInviteState = "Calling" | "Proceeding" | "Accepted" | "Completed" | "Terminated";

export type ClientInviteEvent =
  | "start"
  | "1xx"
  | "2xx"
  | "300-699"
  | "timerA"
  | "timerB"
  | "timerD"
  | "timerM"
  | "transportError";

export type ClientInviteAction =
  | "send"
  | "retransmit"
  | "startA"
  | "backoffA"
  | "startB"
  | "sendAck"
  | "resendAck"
  | "startD"
  | "startM"
  | "responseToTu"
  | "timeoutToTu"
  | "transportErrorToTu";

/*
 * TU notifications come last in every row: by the time a TU callback runs, the ACK is out and the
 * state's timers are armed, so a TU that throws cannot leave the transaction without a way to end.
 */
export const CLIENT_INVITE: MachineDefinition<ClientInviteState, ClientInviteEvent, ClientInviteAction> = {
  kind: "client-invite",
  /*
   * §17.1.1.2: "The initial state, "calling", MUST be entered when the TU initiates a new client
   * transaction with an INVITE request. The client transaction MUST pass the request to the
   * transport layer for transmission. If an unreliable transport is being used, the client
   * transaction MUST start timer A with a value of T1. [...] For any transport, the client
   * transaction MUST start timer B with a value of 64*T1 seconds."
   */
  initial: { to: "Calling", actions: ["send", "startA", "startB"] },
  table: {
    Calling: {
      /*
       * "When timer A fires, the client transaction MUST retransmit the request by passing it to
       * the transport layer, and MUST reset the timer with a value of 2*T1. [...] When timer A
       * fires 2*T1 seconds later, the request MUST be retransmitted again [...] the timer reset
       * with a value of 4*T1." (no T2 cap for INVITE)
       */
      timerA: { actions: ["retransmit", "backoffA"] },
      /*
       * "If the client transaction is still in the "Calling" state when timer B fires, the client
       * transaction SHOULD inform the TU that a timeout has occurred."
       */
      timerB: { to: "Terminated", actions: ["timeoutToTu"] },
      /*
       * "If the client transaction receives a provisional response while in the "Calling" state,
       * it transitions to the "Proceeding" state. [...] Furthermore, the provisional response
       * MUST be passed to the TU."
       */
      "1xx": { to: "Proceeding", actions: ["responseToTu"] },
      /*
       * RFC 6026 §7.2 and Figure 5 (amending §17.1.1.2): a 2xx in "Calling" or "Proceeding" is
       * passed to the TU and moves the transaction to "Accepted", where Timer M (64*T1) runs,
       * instead of destroying it, so 2xx retransmissions and forked 2xx still find it.
       */
      "2xx": { to: "Accepted", actions: ["startM", "responseToTu"] },
      /*
       * "When in either the "Calling" or "Proceeding" states, reception of a response with status
       * code from 300-699 MUST cause the client transaction to transition to "Completed". The
       * client transaction MUST pass the received response up to the TU, and the client
       * transaction MUST generate an ACK request, even if the transport is reliable."
       */
      "300-699": { to: "Completed", actions: ["sendAck", "startD", "responseToTu"] },
      /* §17.1.4: a transport failure "SHOULD be treated as [...] a 503 (Service Unavailable)". */
      transportError: { to: "Terminated", actions: ["transportErrorToTu"] },
    },
    Proceeding: {
      /* "In the "Proceeding" state, the client transaction SHOULD NOT retransmit the request any longer." */
      "1xx": { actions: ["responseToTu"] },
      "2xx": { to: "Accepted", actions: ["startM", "responseToTu"] },
      "300-699": { to: "Completed", actions: ["sendAck", "startD", "responseToTu"] },
    },
    Completed: {
      /*
       * "Any retransmissions of the final response that are received while in the "Completed"
       * state MUST cause the ACK to be re-passed to the transport layer for retransmission, but
       * the newly received response MUST NOT be passed up to the TU."
       */
      "300-699": { actions: ["resendAck"] },
      /* "If timer D fires while the client transaction is in the "Completed" state, the client transaction MUST move to the terminated state." */
      timerD: { to: "Terminated", actions: [] },
      /* "[...] if it fails, it MUST inform the TU and move to the Terminated state" (Figure 5). */
      transportError: { to: "Terminated", actions: ["transportErrorToTu"] },
    },
    Accepted: {
      /*
       * RFC 6026 §7.2: 2xx responses received in "Accepted" are passed straight to the TU, not
       * absorbed (they are how a UAC learns of forks, and how the TU knows to resend a lost ACK).
       */
      "2xx": { actions: ["responseToTu"] },
      /* RFC 6026 Figure 5: "Timer M fires / -" → Terminated. */
      timerM: { to: "Terminated", actions: [] },
    },
    Terminated: {},
  },
  timersIn: {
    Calling: ["timerA", "timerB"],
    Proceeding: [],
    Completed: ["timerD"],
    Accepted: ["timerM"],
    Terminated: [],
  },
};

/** Client INVITE transaction (RFC 3261 §17.1.1, RFC 6026 §7.2). Created by `TransactionLayer.sendRequest`. */
export class ClientInviteTransaction extends Transaction<
  ClientInviteState,
  ClientInviteEvent,
  ClientInviteAction
> {
  /** Where the TU asked the request to go. */
  readonly target: Target | Flow;
  #flow: Flow | undefined;
  readonly #handlers: ClientTransactionHandlers<ClientInviteTransaction>;
  #intervalA: number;
  #ack: SipRequest | undefined;

  constructor(
    id: string,
    request: SipRequest,
    target: Target | Flow,
    handlers: ClientTransactionHandlers<ClientInviteTransaction>,
    env: TransactionEnv,
  ) {
    super(CLIENT_INVITE, env, id, request, isReliableProtocol(target.protocol));
    this.target = target;
    this.#flow = isFlow(target) ? target : undefined;
    this.#handlers = handlers;
    this.#intervalA = env.timers.A;
  }

  /** The flow the request went out on, once the transport has said (retransmissions and the ACK use it). */
  get flow(): Flow | undefined {
    return this.#flow;
  }

  /** The ACK sent for a non-2xx final response, once there is one. */
  get ack(): SipRequest | undefined {
    return this.#ack;
  }

  /** A response the layer matched to this transaction (§17.1.3). */
  receiveResponse(response: SipResponse): void {
    const s = response.status;
    if (s < 100) return;
    this.dispatch({ type: s < 200 ? "1xx" : s < 300 ? "2xx" : "300-699", response });
  }

  protected perform(action: ClientInviteAction, ev: TxEvent<ClientInviteEvent>): void {
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
        this.transmit(() => transport.sendRequest(this.request, this.#dest()));
        return;
      case "startA":
        if (!this.reliable) this.startTimer("timerA", this.#intervalA);
        return;
      case "backoffA":
        this.#intervalA *= 2;
        this.startTimer("timerA", this.#intervalA);
        return;
      case "startB":
        this.startTimer("timerB", timers.B);
        return;
      case "sendAck": {
        // §17.1.1.3: "The ACK MUST be sent to the same address, port, and transport to which the original request was sent."
        const ack = createAck(this.request, ev.response!);
        this.#ack = ack;
        this.transmit(() => transport.sendRequest(ack, this.#dest()));
        return;
      }
      case "resendAck": {
        const ack = this.#ack;
        if (ack === undefined) return;
        this.publishRetransmit("request");
        this.transmit(() => transport.sendRequest(ack, this.#dest()));
        return;
      }
      case "startD":
        // "Timer D [...] MUST be set [...] at least 32 seconds for unreliable transports, and [...] zero seconds for reliable transports."
        this.startTimer("timerD", this.reliable ? 0 : timers.D);
        return;
      case "startM":
        this.startTimer("timerM", timers.M);
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

  #dest(): Target | Flow {
    return this.#flow ?? this.target;
  }
}
