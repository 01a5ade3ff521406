import { randomUUID } from "node:crypto";
import { type Bus, type CallEvent, events } from "@sip-platform/bus";
import type { Logger } from "pino";

/** What the routing steps report about calls (the call-record writer makes records of them). */
export interface CallEvents {
  emit(event: Omit<CallEvent, "eventId" | "edgeId" | "at">): void;
}

/**
 * Call events onto the bus's durable stream (JetStream `CALLS` on NATS), each with a unique id
 * the writer de-duplicates on. Publishing never blocks or fails a call: a failure is logged.
 */
export function busCallEvents(bus: Bus, edgeId: string, log: Logger): CallEvents {
  return {
    emit(event) {
      const full: CallEvent = { ...event, eventId: randomUUID(), edgeId, at: Date.now() };
      bus.publishDurable(events.callEvent, full, { msgId: full.eventId }).catch((err: unknown) => {
        log.warn({ err, callId: full.callId, kind: full.kind }, "call event not published");
      });
    },
  };
}
