export {
  type Bus,
  type BusFault,
  type BusHooks,
  type BusOptions,
  type BusStatus,
  type BusSubscription,
  DEFAULT_PREFIX,
  type EventHandler,
  type MessageContext,
  type RequestHandler,
  type RequestOptions,
  type ServeOptions,
} from "./bus.js";
export {
  type CatalogueEntry,
  catalogue,
  type EventOf,
  type EventSubject,
  edgeEvents,
  events,
  type ReplyOf,
  type RequestOf,
  type RequestSubject,
  requests,
} from "./catalogue.js";
export { type Clock, ManualClock, systemClock, type TimerHandle } from "./clock.js";
export { type Codec, jsonCodec } from "./codec.js";
export {
  type ConsumeDurableOptions,
  DURABLE_ACK_WAIT_MS,
  DURABLE_DUPLICATE_WINDOW_MS,
  DURABLE_MAX_AGE_MS,
  DURABLE_SUBJECTS,
  type DurableContext,
  type DurableHandler,
  durableStreamName,
  type PublishDurableOptions,
} from "./durable.js";
export {
  BusDecodeError,
  BusError,
  type BusErrorCode,
  BusHandlerError,
  BusNoRespondersError,
  BusTimeoutError,
  BusUnavailableError,
  isBusError,
} from "./errors.js";
export {
  DurableStore,
  InProcessBus,
  type InProcessBusOptions,
  InProcessHub,
  type InProcessHubOptions,
} from "./in-process.js";
export { NatsBus, type NatsBusOptions } from "./nats.js";
export { type BusLog, busLogHooks, type OpenBusOptions, openBus } from "./open.js";
export * from "./payloads.js";
export {
  DEFAULT_HEARTBEAT_MS,
  DEFAULT_MISSED_BEATS,
  type EdgeGoneReason,
  EdgePresence,
  type EdgePresenceOptions,
  type EdgeState,
  EdgeWatcher,
  type EdgeWatcherOptions,
} from "./presence.js";
export * as schema from "./schema.js";
