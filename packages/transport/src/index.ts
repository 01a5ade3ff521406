export { createTransportLayer } from "./create.js";
export {
  type CounterName,
  type EventSource,
  type TransportCounters,
  type TransportEvent,
  type TransportSend,
  transportChannels,
} from "./diagnostics.js";
export type { TransportLayer } from "./layer.js";
export { MemoryNetwork, type MemoryPacket, type PacketFate, type PacketHook } from "./memory.js";
export {
  type ListenerOptions,
  type ResolvedOptions,
  resolveOptions,
  type TlsClientOptions,
  TRANSPORT_DEFAULTS,
  type TransportOptions,
} from "./options.js";
export * from "./types.js";
export { responseDestination, stampReceived } from "./via-rules.js";
export { SIP_SUBPROTOCOL } from "./ws.js";
