/**
 * Call forwarding of a subscriber (`/v1/subscribers/{id}/forwarding`): at most one row each,
 * removed with the subscriber. A subscriber without a row (or with every column null) has no
 * forwarding. Targets are sip:, sips: or tel: URIs (checked by the repository before writing).
 */
import { sql } from "drizzle-orm";
import { check, integer, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { subscribers } from "./subscribers.js";

export const callForwarding = pgTable(
  "call_forwarding",
  {
    subscriberId: uuid("subscriber_id")
      .primaryKey()
      .references(() => subscribers.id, { onDelete: "cascade" }),
    /** Every call goes here instead. */
    always: text("always"),
    /** A 486 or 600 from the callee sends the call here. */
    busy: text("busy"),
    /** No final answer within `no_answer_after_seconds`: the call goes here. */
    noAnswerTarget: text("no_answer_target"),
    noAnswerAfterSeconds: integer("no_answer_after_seconds"),
    updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  },
  (t) => [
    check(
      "call_forwarding_no_answer_pair",
      sql`(${t.noAnswerTarget} is null) = (${t.noAnswerAfterSeconds} is null)`,
    ),
    check("call_forwarding_no_answer_after", sql`${t.noAnswerAfterSeconds} between 1 and 3600`),
    check("call_forwarding_always_length", sql`char_length(${t.always}) between 1 and 2048`),
    check("call_forwarding_busy_length", sql`char_length(${t.busy}) between 1 and 2048`),
    check("call_forwarding_no_answer_length", sql`char_length(${t.noAnswerTarget}) between 1 and 2048`),
  ],
);

export type CallForwardingRow = typeof callForwarding.$inferSelect;
