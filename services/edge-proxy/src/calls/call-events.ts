import { randomUUID } from "node:crypto";
import { type Bus, type CallEvent, events } from "@sip-platform/bus";
import type { Logger } from "pino";

/** What the routing steps report about calls (the call-record writer makes records of them). */
export interface CallEvents {
  emit(event: Omit<CallEvent, "eventId" | "edgeId" | "at">): void;
}

/** How often the edge repeats that call events are being lost (the first loss is logged at once). */
const LOSS_REPORT_MS = 60_000;

/**
 * Call events onto the bus's durable stream (JetStream `CALLS` on NATS), each with a unique id
 * the writer de-duplicates on. Publishing never blocks or fails a call. A failure is logged with
 * its error once, then counted and reported once a minute: with JetStream off, every call would
 * otherwise log a stack trace (as much CPU as the call itself).
 */
export function busCallEvents(
  bus: Bus,
  edgeId: string,
  log: Logger,
  now: () => number = Date.now,
): CallEvents {
  let lost = 0;
  let reportedAt: number | undefined;
  const report = (err: unknown, event: CallEvent): void => {
    lost += 1;
    const t = now();
    if (reportedAt !== undefined && t - reportedAt < LOSS_REPORT_MS) return;
    if (reportedAt === undefined)
      log.warn({ err, callId: event.callId, kind: event.kind }, "call event not published");
    else
      log.warn(
        { lost, error: err instanceof Error ? err.message : String(err) },
        "call events not published",
      );
    reportedAt = t;
    lost = 0;
  };
  return {
    emit(event) {
      const full: CallEvent = { ...event, eventId: randomUUID(), edgeId, at: now() };
      let sent: Promise<void>;
      try {
        sent = bus.publishDurable(events.callEvent, full, { msgId: full.eventId });
      } catch (err) {
        report(err, full); // a payload the codec refuses: never into the call
        return;
      }
      sent.catch((err: unknown) => report(err, full));
    },
  };
}
