/**
 * Call records: one row per Call-ID, merged from the edges' call events (`calls.event`), which
 * may come from several edges, late, out of order and more than once.
 *
 * Besides the columns the API shows, a row keeps the earliest fact of each kind (the started
 * event's time, the first failure, the first BYE), and the shown columns are derived from those
 * facts on every change (repository `applyCallEvent`, `mergeCallEvent`). Every rule is "the
 * earliest one wins", so the result does not depend on the order the events arrive in, and
 * applying one twice changes nothing. `call_events_applied` records which events were applied, in
 * the same transaction, so a redelivered event is recognised before any merge.
 */
import { sql } from "drizzle-orm";
import { bigint, boolean, check, index, integer, pgTable, text, timestamp } from "drizzle-orm/pg-core";

const at = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });

export const callRecords = pgTable(
  "call_records",
  {
    callId: text("call_id").primaryKey(),
    /** The caller and callee as the edge reported them (From and To URIs of the INVITE). */
    fromUri: text("from_uri"),
    toUri: text("to_uri"),
    /** `user@host` of fromUri / toUri (host lower-case, no scheme or parameters): what `from=`/`to=` match. */
    fromKey: text("from_key"),
    toKey: text("to_key"),
    /** The started event's time; until it arrives, the earliest time any event of the call was seen. */
    startedAt: at("started_at").notNull(),
    /** Whether startedAt (and from/to) come from a started event. */
    startKnown: boolean("start_known").notNull().default(false),
    answeredAt: at("answered_at"),
    endedAt: at("ended_at"),
    /** ended - answered for an answered call that ended; 0 for one that ended unanswered. */
    durationMs: bigint("duration_ms", { mode: "number" }),
    /** 200 when answered, else the final failure status; null while ringing. */
    status: integer("status"),
    endReason: text("end_reason"),
    /** The earliest `failed` event: its time, status and reason. */
    failedAt: at("failed_at"),
    failedStatus: integer("failed_status"),
    failedReason: text("failed_reason"),
    /** The earliest `ended` event (the first BYE): its time and reason. */
    byeAt: at("bye_at"),
    byeReason: text("bye_reason"),
    updatedAt: at("updated_at").notNull().defaultNow(),
  },
  (t) => [
    // listCalls: newest first, keyset on (started_at, call_id); with a from/to filter, the key first.
    index("call_records_started_idx").on(t.startedAt.desc(), t.callId.desc()),
    index("call_records_from_idx").on(t.fromKey, t.startedAt.desc(), t.callId.desc()),
    index("call_records_to_idx").on(t.toKey, t.startedAt.desc(), t.callId.desc()),
    check("call_records_call_id_length", sql`char_length(${t.callId}) between 1 and 1024`),
    check("call_records_status_range", sql`${t.status} between 100 and 699`),
    check("call_records_duration_positive", sql`${t.durationMs} >= 0`),
  ],
);

/** The events applied to call records, so a redelivered one is skipped (deleted with its record). */
export const callEventsApplied = pgTable(
  "call_events_applied",
  {
    eventId: text("event_id").primaryKey(),
    callId: text("call_id")
      .notNull()
      .references(() => callRecords.callId, { onDelete: "cascade" }),
    appliedAt: at("applied_at").notNull().defaultNow(),
  },
  (t) => [
    index("call_events_applied_call_idx").on(t.callId),
    // pruneCallEvents deletes by age.
    index("call_events_applied_at_idx").on(t.appliedAt),
  ],
);

export type CallRecordRow = typeof callRecords.$inferSelect;
