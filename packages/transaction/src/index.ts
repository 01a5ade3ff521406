export {
  CLIENT_INVITE,
  type ClientInviteAction,
  type ClientInviteEvent,
  type ClientInviteState,
  ClientInviteTransaction,
} from "./client-invite.js";
export {
  CLIENT_NON_INVITE,
  type ClientNonInviteAction,
  type ClientNonInviteEvent,
  type ClientNonInviteState,
  ClientNonInviteTransaction,
} from "./client-non-invite.js";
export { type Clock, FakeClock, systemClock, type TimerHandle } from "./clock.js";
export {
  TRANSACTION_CHANNELS,
  type TransactionErrorEvent,
  type TransactionKind,
  type TransactionRetransmitEvent,
  type TransactionStateEvent,
} from "./diagnostics.js";
export { TransactionError, type TransactionErrorCode } from "./errors.js";
export type { ClientTransactionHandlers, ServerTransactionHandlers } from "./handlers.js";
export {
  type AckHandler,
  type AnyTransaction,
  type ClientTransaction,
  type RequestHandler,
  type ServerTransaction,
  type StrayResponseHandler,
  TransactionLayer,
  type TransactionLayerOptions,
  type TransactionLayerStats,
} from "./layer.js";
export type {
  MachineDefinition,
  TransactionEnv,
  TransactionInfo,
  Transition,
  TransitionTable,
  TxEvent,
} from "./machine.js";
export { createAck, createCancel } from "./messages.js";
export {
  SERVER_INVITE,
  type ServerInviteAction,
  type ServerInviteEvent,
  type ServerInviteState,
  ServerInviteTransaction,
} from "./server-invite.js";
export {
  SERVER_NON_INVITE,
  type ServerNonInviteAction,
  type ServerNonInviteEvent,
  type ServerNonInviteState,
  ServerNonInviteTransaction,
} from "./server-non-invite.js";
export { DEFAULT_TIMER_CONFIG, resolveTimers, type TimerConfig, type TimerValues } from "./timers.js";
