import type { SipRequest, SipResponse } from "@sip-platform/sip";
import type { ServerTransactionHandlers } from "./handlers.js";
import { type MachineDefinition, Transaction, type TransactionEnv, type TxEvent } from "./machine.js";
import { checkStatus } from "./messages.js";
import { type Flow, isReliableProtocol } from "./transport-types.js";

/** RFC 3261 Figure 8. */
export type ServerNonInviteState = "Trying" | "Proceeding" | "Completed" | "Terminated";

export type ServerNonInviteEvent = "start" | "request" | "tu1xx" | "tu200-699" | "timerJ" | "transportError";

export type ServerNonInviteAction = "sendResponse" | "resend" | "startJ" | "transportErrorToTu";

export const SERVER_NON_INVITE: MachineDefinition<
  ServerNonInviteState,
  ServerNonInviteEvent,
  ServerNonInviteAction
> = {
  kind: "server-non-invite",
  /*
   * §17.2.2: "The state machine is initialized in the "Trying" state and is passed a request
   * other than INVITE or ACK when initialized. This request is passed up to the TU." (by the layer)
   */
  initial: { to: "Trying", actions: [] },
  table: {
    Trying: {
      /* "Once in the "Trying" state, any further request retransmissions are discarded." */
      request: { actions: [] },
      /* "While in the "Trying" state, if the TU passes a provisional response to the server transaction, the server transaction MUST enter the "Proceeding" state. The response MUST be passed to the transport layer for transmission." */
      tu1xx: { to: "Proceeding", actions: ["sendResponse"] },
      /*
       * "If the TU passes a final response (status codes 200-699) to the server while in the
       * "Proceeding" state, the transaction MUST enter the "Completed" state, and the response
       * MUST be passed to the transport layer for transmission." (Figure 8: likewise from Trying)
       */
      "tu200-699": { to: "Completed", actions: ["sendResponse", "startJ"] },
    },
    Proceeding: {
      /* "Any further provisional responses that are received from the TU while in the "Proceeding" state MUST be passed to the transport layer for transmission." */
      tu1xx: { actions: ["sendResponse"] },
      /* "If a retransmission of the request is received while in the "Proceeding" state, the most recently sent provisional response MUST be passed to the transport layer for retransmission." */
      request: { actions: ["resend"] },
      "tu200-699": { to: "Completed", actions: ["sendResponse", "startJ"] },
      /* Figure 8: "Trnsprt Err / Inform TU" → Terminated (§17.2.4). */
      transportError: { to: "Terminated", actions: ["transportErrorToTu"] },
    },
    Completed: {
      /*
       * "When the server transaction enters the "Completed" state, it MUST set Timer J to fire in
       * 64*T1 seconds for unreliable transports, and zero seconds for reliable transports. While
       * in the "Completed" state, the server transaction MUST pass the final response to the
       * transport layer for retransmission whenever a retransmission of the request is received.
       * Any other final responses passed by the TU to the server transaction MUST be discarded
       * while in the "Completed" state."
       */
      request: { actions: ["resend"] },
      /* "The server transaction remains in this state until Timer J fires, at which point it MUST transition to the "Terminated" state." */
      timerJ: { to: "Terminated", actions: [] },
      /* Figure 8: "Trnsprt Err / Inform TU" → Terminated (§17.2.4). */
      transportError: { to: "Terminated", actions: ["transportErrorToTu"] },
    },
    Terminated: {},
  },
  timersIn: {
    Trying: [],
    Proceeding: [],
    Completed: ["timerJ"],
    Terminated: [],
  },
};

/** Server non-INVITE transaction (RFC 3261 §17.2.2). Handed to the TU by `TransactionLayer.onRequest`. */
export class ServerNonInviteTransaction extends Transaction<
  ServerNonInviteState,
  ServerNonInviteEvent,
  ServerNonInviteAction
> {
  #flow: Flow;
  #handlers: ServerTransactionHandlers<ServerNonInviteTransaction> = {};
  #last: SipResponse | undefined;

  constructor(id: string, request: SipRequest, flow: Flow, env: TransactionEnv) {
    super(SERVER_NON_INVITE, env, id, request, isReliableProtocol(flow.protocol));
    this.#flow = flow;
  }

  get flow(): Flow {
    return this.#flow;
  }

  get lastResponse(): SipResponse | undefined {
    return this.#last;
  }

  /** Sets the TU's callbacks (merged with those set before). */
  on(handlers: ServerTransactionHandlers<ServerNonInviteTransaction>): this {
    this.#handlers = { ...this.#handlers, ...handlers };
    return this;
  }

  /** Sends a response from the TU: any number of 1xx, then one final response; later ones are discarded. */
  respond(response: SipResponse): void {
    checkStatus(response.status);
    this.dispatch({ type: response.status < 200 ? "tu1xx" : "tu200-699", response });
  }

  /** The layer hands over a retransmission of the request (§17.2.3). */
  receiveRequest(request: SipRequest, flow: Flow): void {
    this.#flow = flow;
    this.dispatch({ type: "request", request, flow });
  }

  protected perform(action: ServerNonInviteAction, ev: TxEvent<ServerNonInviteEvent>): void {
    switch (action) {
      case "sendResponse":
        this.#last = ev.response!;
        this.#transmitResponse(ev.response!);
        return;
      case "resend": {
        const last = this.#last;
        if (last === undefined) return;
        this.publishRetransmit(last.status);
        this.#transmitResponse(last);
        return;
      }
      case "startJ":
        this.startTimer("timerJ", this.reliable ? 0 : this.env.timers.J);
        return;
      case "transportErrorToTu": {
        const h = this.#handlers.onTransportError;
        if (h) this.tu(() => h(ev.error, this));
        return;
      }
    }
  }

  protected terminatedToTu(): void {
    const h = this.#handlers.onTerminated;
    if (h) this.tu(() => h(this));
  }

  #transmitResponse(response: SipResponse): void {
    this.transmit(() => this.env.transport.sendResponse(response, this.#flow));
  }
}
