/**
 * Local SIP domains (CONTRACT: "Local domains are those created through the API; the digest
 * realm is the domain"). Names are stored lower-case, as DNS compares them (RFC 4343), so the
 * unique index also means unique regardless of case.
 */
import { sql } from "drizzle-orm";
import { check, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";

export const domains = pgTable(
  "domains",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    name: text("name").notNull().unique("domains_name_unique"),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  },
  (t) => [
    check("domains_name_lower_case", sql`${t.name} = lower(${t.name})`),
    check("domains_name_length", sql`char_length(${t.name}) between 1 and 253`),
  ],
);

export type DomainRow = typeof domains.$inferSelect;
