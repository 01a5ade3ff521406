/**
 * Subscribers: a user in a local domain who may register and place calls. Only the digest
 * HA1 values are kept (RFC 7616 §3.4.2: H(username ":" realm ":" password), realm = domain),
 * one per hash the platform can challenge with, never the clear password; changing the
 * password rewrites all three.
 */
import { sql } from "drizzle-orm";
import { boolean, check, pgTable, text, timestamp, unique, uuid } from "drizzle-orm/pg-core";
import { domains } from "./domains.js";

export const subscribers = pgTable(
  "subscribers",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    domainId: uuid("domain_id")
      .notNull()
      .references(() => domains.id, { onDelete: "restrict" }),
    username: text("username").notNull(),
    displayName: text("display_name"),
    enabled: boolean("enabled").notNull().default(true),
    ha1Md5: text("ha1_md5").notNull(),
    ha1Sha256: text("ha1_sha256").notNull(),
    ha1Sha512_256: text("ha1_sha512_256").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  },
  (t) => [
    // Also the keyset index of listSubscribers: ORDER BY domain_id, username.
    unique("subscribers_domain_username_unique").on(t.domainId, t.username),
    check("subscribers_username_length", sql`char_length(${t.username}) between 1 and 128`),
    check("subscribers_ha1_md5_hex", sql`${t.ha1Md5} ~ '^[0-9a-f]{32}$'`),
    check("subscribers_ha1_sha256_hex", sql`${t.ha1Sha256} ~ '^[0-9a-f]{64}$'`),
    check("subscribers_ha1_sha512_256_hex", sql`${t.ha1Sha512_256} ~ '^[0-9a-f]{64}$'`),
  ],
);

export type SubscriberRow = typeof subscribers.$inferSelect;
