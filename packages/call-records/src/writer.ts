/**
 * The call-record writer: consumes the edges' call events (`calls.event`, durable) and merges each
 * into the record of its Call-ID (`Repository.applyCallEvent`, idempotent per event and
 * independent of arrival order). "Every finished call leaves a call record" (CONTRACT), so an
 * event is acknowledged only once it is in the database:
 *
 * - database unavailable → the handler rejects, the bus delivers the event again later (1 s,
 *   doubling to 30 s), a warning is logged; nothing crashes and nothing is lost;
 * - an event the database refuses as malformed → logged as an error and acknowledged (it would
 *   fail the same way for ever);
 * - anything else → rejected too, so a bug fixed by a redeploy still gets its events.
 *
 * Several instances may run under the same durable name: they share the events.
 */
import type { Bus, CallEvent, DurableContext } from "@sip-platform/bus";
import { DURABLE_MAX_AGE_MS, events } from "@sip-platform/bus";
import { InvalidInputError, isUnavailable, type Repository } from "@sip-platform/db";
import type { Logger } from "pino";

/** The durable consumer name the writer's instances share. */
export const CALL_RECORDS_DURABLE = "call-records";

/** How often applied-event ids are pruned. */
export const PRUNE_INTERVAL_MS = 3_600_000;

export interface CallRecordWriterOptions {
  readonly bus: Pick<Bus, "consumeDurable">;
  readonly repository: Pick<Repository, "applyCallEvent" | "pruneCallEvents">;
  readonly log: Pick<Logger, "debug" | "info" | "warn" | "error">;
  /** Default `call-records`. */
  readonly durable?: string;
  /** First redelivery delay after a failure (doubling); default the bus's (1 s). */
  readonly retryDelayMs?: number;
  /** Cap of the redelivery delay; default the bus's (30 s). */
  readonly maxRetryDelayMs?: number;
  /**
   * NATS: how long an event handed to a writer that then stopped (or crashed) waits before it is
   * delivered again; default the bus's (30 s).
   */
  readonly ackWaitMs?: number;
  /**
   * How long applied-event ids are kept for de-duplication: longer than the stream keeps events,
   * so none can come back after its id is forgotten. Default the stream's age plus a day; 0 keeps
   * them for ever.
   */
  readonly keepAppliedMs?: number;
  /** Epoch ms; default `Date.now`. */
  readonly now?: () => number;
}

export interface RunningCallRecordWriter {
  /** Stops consuming; events being written finish (and are acknowledged) first. */
  close(): Promise<void>;
}

export async function startCallRecordWriter(
  options: CallRecordWriterOptions,
): Promise<RunningCallRecordWriter> {
  const { bus, repository, log } = options;
  const now = options.now ?? Date.now;
  const keepAppliedMs = options.keepAppliedMs ?? DURABLE_MAX_AGE_MS + 86_400_000;

  const write = async (event: CallEvent, ctx: DurableContext): Promise<void> => {
    try {
      const { duplicate, record } = await repository.applyCallEvent(event);
      log.debug(
        { callId: event.callId, kind: event.kind, eventId: event.eventId, duplicate, status: record.status },
        "call event applied",
      );
    } catch (err) {
      const about = {
        callId: event.callId,
        kind: event.kind,
        eventId: event.eventId,
        delivery: ctx.deliveryCount,
      };
      if (err instanceof InvalidInputError) {
        log.error({ ...about, field: err.field, reason: err.message }, "call event refused; dropped");
        return;
      }
      if (isUnavailable(err)) {
        log.warn(
          { ...about, reason: errorMessage(err) },
          "database unavailable; the call event comes again later",
        );
      } else {
        log.error({ ...about, err }, "call event not written; it comes again later");
      }
      throw err;
    }
  };

  const subscription = await bus.consumeDurable(
    events.callEvent,
    {
      durable: options.durable ?? CALL_RECORDS_DURABLE,
      ...(options.retryDelayMs === undefined ? {} : { retryDelayMs: options.retryDelayMs }),
      ...(options.maxRetryDelayMs === undefined ? {} : { maxRetryDelayMs: options.maxRetryDelayMs }),
      ...(options.ackWaitMs === undefined ? {} : { ackWaitMs: options.ackWaitMs }),
    },
    write,
  );

  let pruning: Promise<void> | undefined;
  const prune = () => {
    if (keepAppliedMs <= 0 || pruning !== undefined) return;
    pruning = repository
      .pruneCallEvents(new Date(now() - keepAppliedMs))
      .then(
        (removed) => {
          if (removed > 0) log.info({ removed }, "forgot old applied call event ids");
        },
        (err: unknown) => log.warn({ reason: errorMessage(err) }, "pruning applied call event ids failed"),
      )
      .finally(() => {
        pruning = undefined;
      });
  };
  prune();
  const timer = setInterval(prune, PRUNE_INTERVAL_MS);
  timer.unref();
  log.info({ durable: options.durable ?? CALL_RECORDS_DURABLE }, "call-record writer consuming");

  let closed: Promise<void> | undefined;
  return {
    close() {
      closed ??= (async () => {
        clearInterval(timer);
        await subscription.drain();
        await pruning;
      })();
      return closed;
    },
  };
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export interface KeptCallRecordWriterOptions extends CallRecordWriterOptions {
  /** Wait between attempts to start, ms. Default 10000. */
  readonly restartDelayMs?: number;
}

/**
 * Starts the writer and, while it cannot start (NATS without JetStream, the bus reconnecting),
 * logs why and tries again every `restartDelayMs`, so a service that has other work (the admin
 * API) serves meanwhile. Returns at once; `close` stops trying and closes the writer if it runs.
 */
export function keepCallRecordWriter(options: KeptCallRecordWriterOptions): RunningCallRecordWriter {
  const delayMs = options.restartDelayMs ?? 10_000;
  let running: RunningCallRecordWriter | undefined;
  let attempt: Promise<void> | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closing = false;
  const tryStart = (): void => {
    timer = undefined;
    attempt = startCallRecordWriter(options).then(
      async (writer) => {
        if (closing) await writer.close();
        else running = writer;
      },
      (err: unknown) => {
        options.log.error(
          { reason: errorMessage(err), retryInMs: delayMs },
          "call-record writer cannot start; calls are kept in the stream until it does",
        );
        if (!closing) {
          timer = setTimeout(tryStart, delayMs);
          timer.unref();
        }
      },
    );
  };
  tryStart();
  return {
    async close() {
      closing = true;
      if (timer !== undefined) clearTimeout(timer);
      await attempt;
      await running?.close();
    },
  };
}
