import { createResponse, type SipRequest, type SipResponse } from "@sip-platform/sip";
import type { ServerTransactionHandlers } from "./handlers.js";
import { type MachineDefinition, Transaction, type TransactionEnv, type TxEvent } from "./machine.js";
import { checkStatus } from "./messages.js";
import { type Flow, isReliableProtocol } from "./transport-types.js";

/** RFC 3261 Figure 7 as amended by RFC 6026 §7.1 (the Accepted state). */
export type ServerInviteState = "Proceeding" | "Completed" | "Confirmed" | "Accepted" | "Terminated";

export type ServerInviteEvent =
  | "start"
  | "invite"
  | "ack"
  | "tu1xx"
  | "tu2xx"
  | "tu300-699"
  | "timer100"
  | "timerG"
  | "timerH"
  | "timerI"
  | "timerL"
  | "transportError";

export type ServerInviteAction =
  | "schedule100"
  | "send100"
  | "cancel100"
  | "sendResponse"
  | "resend"
  | "startG"
  | "backoffG"
  | "startH"
  | "startI"
  | "startL"
  | "ackToTu"
  | "timeoutToTu"
  | "transportErrorToTu";

export const SERVER_INVITE: MachineDefinition<ServerInviteState, ServerInviteEvent, ServerInviteAction> = {
  kind: "server-invite",
  /*
   * §17.2.1: "When a server transaction is constructed for a request, it enters the "Proceeding"
   * state. The server transaction MUST generate a 100 (Trying) response unless it knows that the
   * TU will generate a provisional or final response within 200 ms, in which case it MAY generate
   * a 100 (Trying) response. [...] The request MUST be passed to the TU." (the layer passes it,
   * right after this transition, so a 100 sent "at once" goes out first as a proxy wants, §16.2)
   */
  initial: { to: "Proceeding", actions: ["schedule100"] },
  table: {
    Proceeding: {
      timer100: { actions: ["send100"] },
      /*
       * "If a request retransmission is received while in the "Proceeding" state, the most recent
       * provisional response that was received from the TU MUST be passed to the transport layer
       * for retransmission."
       */
      invite: { actions: ["resend"] },
      /*
       * "The TU passes any number of provisional responses to the server transaction. So long as
       * the server transaction is in the "Proceeding" state, each of these MUST be passed to the
       * transport layer for transmission. They are not sent reliably by the transaction layer
       * (they are not retransmitted by it) and do not cause a change in the state of the server
       * transaction." (one from the TU makes our own 100 unnecessary)
       */
      tu1xx: { actions: ["cancel100", "sendResponse"] },
      /*
       * RFC 6026 §8 (amending §17.2.1): "If the SIP element's TU (Transaction User) issues a 2xx
       * response for this transaction while the state machine is in the "Proceeding" state, the
       * state machine MUST transition to the "Accepted" state and set Timer L to 64*T1". The 2xx
       * is sent once; its retransmissions are the TU's (§13.3.1.4).
       */
      tu2xx: { to: "Accepted", actions: ["sendResponse", "startL"] },
      /*
       * "While in the "Proceeding" state, if the TU passes a response with status code from 300 to
       * 699 to the server transaction, the response MUST be passed to the transport layer for
       * transmission, and the state machine MUST enter the "Completed" state. For unreliable
       * transports, timer G is set to fire in T1 seconds [...]. When the "Completed" state is
       * entered, timer H MUST be set to fire in 64*T1 seconds for all transports."
       */
      "tu300-699": { to: "Completed", actions: ["sendResponse", "startG", "startH"] },
      /* §17.2.4: "[...] the server transaction SHOULD inform the TU that a failure has occurred, and SHOULD transition to the terminated state." */
      transportError: { to: "Terminated", actions: ["transportErrorToTu"] },
    },
    Completed: {
      /*
       * "If timer G fires, the response is passed to the transport layer once more for
       * retransmission, and timer G is set to fire in MIN(2*T1, T2) seconds. From then on, when
       * timer G fires, the response is passed to the transport again for transmission, and timer G
       * is reset with a value that doubles, unless that value exceeds T2, in which case it is
       * reset with the value of T2."
       */
      timerG: { actions: ["resend", "backoffG"] },
      /* "Furthermore, while in the "Completed" state, if a request retransmission is received, the server SHOULD pass the response to the transport for retransmission." */
      invite: { actions: ["resend"] },
      /*
       * "If an ACK is received while the server transaction is in the "Completed" state, the server
       * transaction MUST transition to the "Confirmed" state. As Timer G is ignored in this state,
       * any retransmissions of the response will cease."
       */
      ack: { to: "Confirmed", actions: ["startI"] },
      /*
       * "If timer H fires while in the "Completed" state, it implies that the ACK was never
       * received. In this case, the server transaction MUST transition to the "Terminated" state,
       * and MUST indicate to the TU that a transaction failure has occurred."
       */
      timerH: { to: "Terminated", actions: ["timeoutToTu"] },
      transportError: { to: "Terminated", actions: ["transportErrorToTu"] },
    },
    Confirmed: {
      /*
       * "The purpose of the "Confirmed" state is to absorb any additional ACK messages that arrive,
       * triggered from retransmissions of the final response. When this state is entered, timer I
       * is set to fire in T4 seconds for unreliable transports, and zero seconds for reliable
       * transports. Once timer I fires, the server MUST transition to the "Terminated" state."
       */
      ack: { actions: [] },
      invite: { actions: [] },
      timerI: { to: "Terminated", actions: [] },
    },
    Accepted: {
      /*
       * RFC 6026 §8: "While in the "Accepted" state, any retransmissions of the INVITE received
       * will match this transaction state machine and will be absorbed by the machine without
       * changing its state. These retransmissions are not passed onto the TU."
       */
      invite: { actions: [] },
      /* RFC 6026 §8: "Any ACKs received from the network while in the "Accepted" state MUST be passed directly to the TU and not absorbed." */
      ack: { actions: ["ackToTu"] },
      /*
       * RFC 6026 §8: "Any retransmission of the 2xx response passed from the TU to the transaction
       * while in the "Accepted" state MUST be passed to the transport layer for transmission."
       */
      tu2xx: { actions: ["sendResponse"] },
      /* RFC 6026 Figure 7: "Transport Err. / Inform TU", staying in Accepted: the TU owns the 2xx retransmissions and the dialog. */
      transportError: { actions: ["transportErrorToTu"] },
      /* RFC 6026 §8: "When Timer L fires and the state machine is in the "Accepted" state, the machine MUST transition to the "Terminated" state." */
      timerL: { to: "Terminated", actions: [] },
    },
    Terminated: {},
  },
  timersIn: {
    Proceeding: ["timer100"],
    Completed: ["timerG", "timerH"],
    Confirmed: ["timerI"],
    Accepted: ["timerL"],
    Terminated: [],
  },
};

export interface ServerInviteOptions {
  /** When to send our own 100 (Trying): after this many ms without a TU response, 0 at once, or never. */
  readonly tryingDelay: number | "never";
  /** Receives ACKs in Accepted when the TU has set no `onAck` on the transaction. */
  readonly defaultAck?: (ack: SipRequest, flow: Flow, tx: ServerInviteTransaction) => void;
}

/** Server INVITE transaction (RFC 3261 §17.2.1, RFC 6026 §7.1). Handed to the TU by `TransactionLayer.onRequest`. */
export class ServerInviteTransaction extends Transaction<
  ServerInviteState,
  ServerInviteEvent,
  ServerInviteAction
> {
  #flow: Flow;
  #handlers: ServerTransactionHandlers<ServerInviteTransaction> = {};
  readonly #options: ServerInviteOptions;
  #last: SipResponse | undefined;
  #finalToTag: string | undefined;
  #intervalG: number;

  constructor(
    id: string,
    request: SipRequest,
    flow: Flow,
    options: ServerInviteOptions,
    env: TransactionEnv,
  ) {
    super(SERVER_INVITE, env, id, request, isReliableProtocol(flow.protocol));
    this.#flow = flow;
    this.#options = options;
    this.#intervalG = env.timers.G;
  }

  /** Where responses go: the flow of the INVITE (or of its latest retransmission). */
  get flow(): Flow {
    return this.#flow;
  }

  /** The most recent response sent. */
  get lastResponse(): SipResponse | undefined {
    return this.#last;
  }

  /** The To tag of the final response sent, which an RFC 2543 ACK must carry to match (§17.2.3). */
  get responseToTag(): string | undefined {
    return this.#finalToTag;
  }

  /** Sets the TU's callbacks (merged with those set before). */
  on(handlers: ServerTransactionHandlers<ServerInviteTransaction>): this {
    this.#handlers = { ...this.#handlers, ...handlers };
    return this;
  }

  /**
   * Sends a response from the TU. 1xx in Proceeding; one final response (a non-2xx one goes to
   * Completed, a 2xx to Accepted); further 2xx in Accepted are the TU's retransmissions. Anything
   * else is discarded, as the RFC figures do. Throws only for a status outside 100–699.
   */
  respond(response: SipResponse): void {
    const s = response.status;
    checkStatus(s);
    this.dispatch({ type: s < 200 ? "tu1xx" : s < 300 ? "tu2xx" : "tu300-699", response });
  }

  /** The layer hands over a request matched to this transaction: an INVITE retransmission or an ACK (§17.2.3). */
  receiveRequest(request: SipRequest, flow: Flow): void {
    if (request.method === "ACK") {
      this.dispatch({ type: "ack", request, flow });
      return;
    }
    this.#flow = flow;
    this.dispatch({ type: "invite", request, flow });
  }

  protected perform(action: ServerInviteAction, ev: TxEvent<ServerInviteEvent>): void {
    const { timers } = this.env;
    switch (action) {
      case "schedule100": {
        const delay = this.#options.tryingDelay;
        if (delay !== "never") this.startTimer("timer100", delay);
        return;
      }
      case "send100":
        // §17.2.1: built per §8.2.6 (Timestamp echoed), without a To tag.
        this.#send(createResponse(this.request, 100));
        return;
      case "cancel100":
        this.stopTimer("timer100");
        return;
      case "sendResponse":
        this.#send(ev.response!);
        return;
      case "resend": {
        const last = this.#last;
        if (last === undefined) return;
        this.publishRetransmit(last.status);
        this.#transmitResponse(last);
        return;
      }
      case "startG":
        if (!this.reliable) this.startTimer("timerG", this.#intervalG);
        return;
      case "backoffG":
        this.#intervalG = Math.min(2 * this.#intervalG, timers.T2);
        this.startTimer("timerG", this.#intervalG);
        return;
      case "startH":
        this.startTimer("timerH", timers.H);
        return;
      case "startI":
        this.startTimer("timerI", this.reliable ? 0 : timers.I);
        return;
      case "startL":
        this.startTimer("timerL", timers.L);
        return;
      case "ackToTu": {
        const onAck = this.#handlers.onAck ?? this.#options.defaultAck;
        if (onAck) this.tu(() => onAck(ev.request!, ev.flow!, this));
        return;
      }
      case "timeoutToTu": {
        const h = this.#handlers.onTimeout;
        if (h) this.tu(() => h(this));
        return;
      }
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

  #send(response: SipResponse): void {
    this.#last = response;
    if (response.status >= 200) this.#finalToTag = toTagOf(response);
    this.#transmitResponse(response);
  }

  #transmitResponse(response: SipResponse): void {
    this.transmit(() => this.env.transport.sendResponse(response, this.#flow));
  }
}

function toTagOf(response: SipResponse): string | undefined {
  try {
    return response.toTag();
  } catch {
    return undefined;
  }
}
