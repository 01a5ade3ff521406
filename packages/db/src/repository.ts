/**
 * The repository: every query the services make, over either driver. It takes and returns plain
 * objects, never rows: a `Subscriber` has no digest hashes; only `findCredentials` (the
 * registrar's and the proxy's authentication lookup) returns them, as `SubscriberCredentials`.
 *
 * Besides subscribers and domains: their call forwarding, the directory entry the proxy and the
 * redirect server read (HA1s and forwarding in one query), and call records merged from the
 * edges' call events.
 *
 * Errors: DuplicateError, UnknownDomainError, DomainInUseError, NotFoundError,
 * InvalidInputError, DatabaseUnavailableError (see errors.ts for their REST statuses).
 */
import { computeHa1, type DigestHash } from "@sip-platform/sip";
import { and, asc, desc, eq, gte, lt, type SQL, sql } from "drizzle-orm";
import {
  addressKey,
  type CallEventInput,
  type CallFacts,
  type CallRecord,
  decodeCallCursor,
  deriveCallRecord,
  encodeCallCursor,
  mergeCallEvent,
  validateCallEvent,
} from "./calls.js";
import type { Database, Orm } from "./database.js";
import {
  asUnavailable,
  DbError,
  DomainInUseError,
  DuplicateError,
  driverErrorOf,
  InvalidInputError,
  NotFoundError,
  SQLSTATE,
  UnknownDomainError,
} from "./errors.js";
import { type CallRecordRow, callEventsApplied, callRecords } from "./schema/calls.js";
import { domains } from "./schema/domains.js";
import { callForwarding } from "./schema/forwarding.js";
import { subscribers } from "./schema/subscribers.js";
import {
  decodeCursor,
  encodeCursor,
  type ForwardingRules,
  isUuid,
  normalizeDomainName,
  validateDisplayName,
  validateEnabled,
  validateForwarding,
  validateLimit,
  validatePassword,
  validateTime,
  validateUsername,
} from "./validate.js";

export interface Domain {
  readonly id: string;
  /** Lower-case; also the digest realm of its subscribers. */
  readonly name: string;
  readonly createdAt: Date;
}

export interface Subscriber {
  readonly id: string;
  readonly username: string;
  readonly domain: string;
  readonly displayName: string | null;
  readonly enabled: boolean;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** What a registrar needs to check a Digest response; HA1 per hash, lower-case hex. */
export interface SubscriberCredentials {
  readonly subscriberId: string;
  readonly enabled: boolean;
  readonly ha1: Readonly<Record<DigestHash, string>>;
}

export interface NewSubscriber {
  readonly username: string;
  readonly domain: string;
  readonly password: string;
  readonly displayName?: string | null | undefined;
}

/** Absent (undefined) fields stay as they are; `displayName: null` clears it. */
export interface SubscriberChanges {
  readonly password?: string | undefined;
  readonly displayName?: string | null | undefined;
  readonly enabled?: boolean | undefined;
}

export interface ListSubscribersQuery {
  /** Only this domain's subscribers; an unknown domain gives an empty page. */
  readonly domain?: string | undefined;
  /** 1-1000. */
  readonly limit: number;
  /** `nextCursor` of the previous page. */
  readonly cursor?: string | undefined;
}

export interface Page<T> {
  readonly items: readonly T[];
  /** Pass back as `cursor` for the next page; undefined on the last page. */
  readonly nextCursor: string | undefined;
}

/**
 * What the proxy and the redirect server need of a subscriber (`registrar.directory`): digest
 * secrets and call forwarding. Same shape as `@sip-platform/bus`'s `DirectoryEntry`.
 */
export interface DirectoryEntry {
  readonly subscriberId: string;
  readonly enabled: boolean;
  readonly ha1: { readonly MD5: string; readonly "SHA-256": string; readonly "SHA-512-256": string };
  readonly forwarding: ForwardingRules;
}

export interface ListCallsQuery {
  /** 1-1000. */
  readonly limit: number;
  /** `nextCursor` of the previous page. */
  readonly cursor?: string | undefined;
  /** Only calls from this address: `alice@example.test`, `sip:alice@example.test`, `tel:+44…`. */
  readonly from?: string | undefined;
  /** Only calls to this address. */
  readonly to?: string | undefined;
  /** Only calls started at or after this time. */
  readonly since?: Date | undefined;
  /** Only calls started before this time. */
  readonly until?: Date | undefined;
}

export interface ApplyCallEventResult {
  /** True when this event had been applied before (a redelivery): nothing changed. */
  readonly duplicate: boolean;
  /** The record after the event. */
  readonly record: CallRecord;
}

/** The hashes stored per subscriber: every `DigestHash` a challenge can name. */
export const STORED_HASHES: readonly DigestHash[] = ["MD5", "SHA-256", "SHA-512-256"];

const subscriberColumns = {
  id: subscribers.id,
  username: subscribers.username,
  domain: domains.name,
  displayName: subscribers.displayName,
  enabled: subscribers.enabled,
  createdAt: subscribers.createdAt,
  updatedAt: subscribers.updatedAt,
};

function ha1Columns(username: string, realm: string, password: string) {
  return {
    ha1Md5: computeHa1("MD5", username, realm, password),
    ha1Sha256: computeHa1("SHA-256", username, realm, password),
    ha1Sha512_256: computeHa1("SHA-512-256", username, realm, password),
  };
}

export class Repository {
  readonly #orm: Orm;
  readonly #location: string;
  readonly #transaction: Database["ormTransaction"];

  constructor(database: Pick<Database, "orm" | "location" | "ormTransaction">) {
    this.#orm = database.orm;
    this.#location = database.location;
    this.#transaction = (fn) => database.ormTransaction(fn);
  }

  /** Runs one repository operation; unreachable-database errors become DatabaseUnavailableError. */
  async #run<T>(
    op: (orm: Orm) => Promise<T>,
    onConstraint?: (code: string, e: unknown) => Error | undefined,
  ): Promise<T> {
    try {
      return await op(this.#orm);
    } catch (e) {
      if (e instanceof DbError) throw e;
      const code = driverErrorOf(e)?.code;
      const mapped = code !== undefined ? onConstraint?.(code, e) : undefined;
      throw mapped ?? asUnavailable(e, this.#location);
    }
  }

  // --- domains -------------------------------------------------------------------------------

  async createDomain(name: string): Promise<Domain> {
    const domain = normalizeDomainName(name);
    const [row] = await this.#run(
      (orm) => orm.insert(domains).values({ name: domain }).returning(),
      (code, e) =>
        code === SQLSTATE.uniqueViolation ? new DuplicateError("domain", domain, { cause: e }) : undefined,
    );
    return toDomain(row!);
  }

  async listDomains(): Promise<Domain[]> {
    const rows = await this.#run((orm) => orm.select().from(domains).orderBy(asc(domains.name)));
    return rows.map(toDomain);
  }

  /** The local domain of that name (any case), or undefined: "is this domain ours?". */
  async findDomain(name: string): Promise<Domain | undefined> {
    const domain = name.toLowerCase();
    const [row] = await this.#run((orm) => orm.select().from(domains).where(eq(domains.name, domain)));
    return row ? toDomain(row) : undefined;
  }

  /** The registrar's and proxy's `DomainDirectory.isLocal`: whether the domain was created here. */
  async isLocalDomain(name: string): Promise<boolean> {
    return (await this.findDomain(name)) !== undefined;
  }

  /** Refuses (DomainInUseError) while the domain has subscribers. */
  async deleteDomain(name: string): Promise<void> {
    const domain = name.toLowerCase();
    const rows = await this.#run(
      (orm) => orm.delete(domains).where(eq(domains.name, domain)).returning({ id: domains.id }),
      (code, e) =>
        code === SQLSTATE.foreignKeyViolation || code === SQLSTATE.restrictViolation
          ? new DomainInUseError(domain, { cause: e })
          : undefined,
    );
    if (rows.length === 0) throw new NotFoundError("domain", domain);
  }

  // --- subscribers ---------------------------------------------------------------------------

  /** Stores the HA1 of every hash (realm = the domain name); the password itself is not kept. */
  async createSubscriber(input: NewSubscriber): Promise<Subscriber> {
    const username = validateUsername(input.username);
    const domainName = normalizeDomainName(input.domain, "domain");
    const displayName = validateDisplayName(input.displayName ?? null);
    const password = validatePassword(input.password);
    const ha1 = ha1Columns(username, domainName, password);
    const key = `${username}@${domainName}`;
    const onConstraint = (code: string, e: unknown) =>
      code === SQLSTATE.uniqueViolation
        ? new DuplicateError("subscriber", key, { cause: e })
        : code === SQLSTATE.foreignKeyViolation // the domain went away since we looked it up
          ? new UnknownDomainError(domainName, { cause: e })
          : undefined;
    const row = await this.#run(async (orm) => {
      const [domain] = await orm.select({ id: domains.id }).from(domains).where(eq(domains.name, domainName));
      if (!domain) throw new UnknownDomainError(domainName);
      const [inserted] = await orm
        .insert(subscribers)
        .values({ domainId: domain.id, username, displayName, ...ha1 })
        .returning();
      return inserted!;
    }, onConstraint);
    return {
      id: row.id,
      username: row.username,
      domain: domainName,
      displayName: row.displayName,
      enabled: row.enabled,
      createdAt: row.createdAt,
      updatedAt: row.updatedAt,
    };
  }

  /** NotFoundError when there is none (also for an id that is not a UUID). */
  async getSubscriber(id: string): Promise<Subscriber> {
    if (!isUuid(id)) throw new NotFoundError("subscriber", id);
    const [row] = await this.#run((orm) =>
      orm
        .select(subscriberColumns)
        .from(subscribers)
        .innerJoin(domains, eq(domains.id, subscribers.domainId))
        .where(eq(subscribers.id, id)),
    );
    if (!row) throw new NotFoundError("subscriber", id);
    return row;
  }

  /**
   * Keyset pages in (domain id, username) order: the unique index on those columns serves
   * every page at the same cost, and rows added or removed between pages never shift others.
   */
  async listSubscribers(query: ListSubscribersQuery): Promise<Page<Subscriber>> {
    const limit = validateLimit(query.limit);
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    const conditions: SQL[] = [];
    if (query.domain !== undefined) conditions.push(eq(domains.name, query.domain.toLowerCase()));
    if (after) {
      conditions.push(
        sql`(${subscribers.domainId}, ${subscribers.username}) > (${after.domainId}::uuid, ${after.username})`,
      );
    }
    const rows = await this.#run((orm) =>
      orm
        .select({ ...subscriberColumns, domainId: subscribers.domainId })
        .from(subscribers)
        .innerJoin(domains, eq(domains.id, subscribers.domainId))
        .where(and(...conditions))
        .orderBy(asc(subscribers.domainId), asc(subscribers.username))
        .limit(limit + 1),
    );
    const more = rows.length > limit;
    const page = more ? rows.slice(0, limit) : rows;
    const last = page.at(-1);
    return {
      items: page.map(({ domainId: _, ...s }) => s),
      nextCursor:
        more && last ? encodeCursor({ domainId: last.domainId, username: last.username }) : undefined,
    };
  }

  /** A new password rewrites every HA1. An empty change set returns the subscriber unchanged. */
  async updateSubscriber(id: string, changes: SubscriberChanges): Promise<Subscriber> {
    if (!isUuid(id)) throw new NotFoundError("subscriber", id);
    const set: Partial<typeof subscribers.$inferInsert> = {};
    if (changes.displayName !== undefined) set.displayName = validateDisplayName(changes.displayName);
    if (changes.enabled !== undefined) set.enabled = validateEnabled(changes.enabled);
    const password = changes.password === undefined ? undefined : validatePassword(changes.password);
    if (password === undefined && Object.keys(set).length === 0) return this.getSubscriber(id);
    const row = await this.#run(async (orm) => {
      if (password !== undefined) {
        // The realm is the domain; neither it nor the username can change, so reading them
        // first and writing the hashes second cannot mix two subscribers' values.
        const [current] = await orm
          .select({ username: subscribers.username, domain: domains.name })
          .from(subscribers)
          .innerJoin(domains, eq(domains.id, subscribers.domainId))
          .where(eq(subscribers.id, id));
        if (!current) return undefined;
        Object.assign(set, ha1Columns(current.username, current.domain, password));
      }
      const [updated] = await orm
        .update(subscribers)
        .set({ ...set, updatedAt: sql`now()` })
        .from(domains)
        .where(and(eq(subscribers.id, id), eq(domains.id, subscribers.domainId)))
        .returning(subscriberColumns);
      return updated;
    });
    if (!row) throw new NotFoundError("subscriber", id);
    return row;
  }

  async deleteSubscriber(id: string): Promise<void> {
    if (!isUuid(id)) throw new NotFoundError("subscriber", id);
    const rows = await this.#run((orm) =>
      orm.delete(subscribers).where(eq(subscribers.id, id)).returning({ id: subscribers.id }),
    );
    if (rows.length === 0) throw new NotFoundError("subscriber", id);
  }

  /**
   * The registrar's lookup: the HA1s of `username` in `domain` (the realm), or undefined when
   * either is unknown. A disabled subscriber is returned with `enabled: false` so the caller
   * can answer exactly as for a wrong password (no user enumeration).
   */
  async findCredentials(username: string, domain: string): Promise<SubscriberCredentials | undefined> {
    const [row] = await this.#run((orm) =>
      orm
        .select({
          subscriberId: subscribers.id,
          enabled: subscribers.enabled,
          md5: subscribers.ha1Md5,
          sha256: subscribers.ha1Sha256,
          sha512_256: subscribers.ha1Sha512_256,
        })
        .from(subscribers)
        .innerJoin(domains, eq(domains.id, subscribers.domainId))
        .where(and(eq(domains.name, domain.toLowerCase()), eq(subscribers.username, username))),
    );
    if (!row) return undefined;
    return {
      subscriberId: row.subscriberId,
      enabled: row.enabled,
      ha1: { MD5: row.md5, "SHA-256": row.sha256, "SHA-512-256": row.sha512_256 },
    };
  }

  // --- call forwarding -----------------------------------------------------------------------

  /** The subscriber's forwarding rules, `{}` when none are set; NotFoundError for an unknown subscriber. */
  async getForwarding(subscriberId: string): Promise<ForwardingRules> {
    if (!isUuid(subscriberId)) throw new NotFoundError("subscriber", subscriberId);
    const [row] = await this.#run((orm) =>
      orm
        .select({ id: subscribers.id, ...forwardingColumns })
        .from(subscribers)
        .leftJoin(callForwarding, eq(callForwarding.subscriberId, subscribers.id))
        .where(eq(subscribers.id, subscriberId)),
    );
    if (!row) throw new NotFoundError("subscriber", subscriberId);
    return rulesOf(row);
  }

  /**
   * Replaces the subscriber's forwarding rules with `rules` (absent rules are removed; `{}` removes
   * all). InvalidInputError names the field (`always`, `noAnswer.afterSeconds`, …).
   */
  async setForwarding(subscriberId: string, rules: ForwardingRules): Promise<ForwardingRules> {
    const checked = validateForwarding(rules);
    if (!isUuid(subscriberId)) throw new NotFoundError("subscriber", subscriberId);
    if (checked.always === undefined && checked.busy === undefined && checked.noAnswer === undefined) {
      await this.deleteForwarding(subscriberId);
      return {};
    }
    const values = {
      always: checked.always ?? null,
      busy: checked.busy ?? null,
      noAnswerTarget: checked.noAnswer?.target ?? null,
      noAnswerAfterSeconds: checked.noAnswer?.afterSeconds ?? null,
    };
    const [row] = await this.#run(
      (orm) =>
        orm
          .insert(callForwarding)
          .values({ subscriberId, ...values })
          .onConflictDoUpdate({
            target: callForwarding.subscriberId,
            set: { ...values, updatedAt: sql`now()` },
          })
          .returning(forwardingColumns),
      (code) =>
        code === SQLSTATE.foreignKeyViolation ? new NotFoundError("subscriber", subscriberId) : undefined,
    );
    return rulesOf(row!);
  }

  /** Removes every forwarding rule (none set is fine); NotFoundError for an unknown subscriber. */
  async deleteForwarding(subscriberId: string): Promise<void> {
    if (!isUuid(subscriberId)) throw new NotFoundError("subscriber", subscriberId);
    const deleted = await this.#run((orm) =>
      orm
        .delete(callForwarding)
        .where(eq(callForwarding.subscriberId, subscriberId))
        .returning({ id: callForwarding.subscriberId }),
    );
    if (deleted.length > 0) return;
    const [exists] = await this.#run((orm) =>
      orm.select({ id: subscribers.id }).from(subscribers).where(eq(subscribers.id, subscriberId)),
    );
    if (!exists) throw new NotFoundError("subscriber", subscriberId);
  }

  /**
   * The directory entry of `username` in `domain` (the realm): HA1s and forwarding in one query,
   * or undefined when either is unknown. A disabled subscriber is returned with `enabled: false`
   * (the caller answers as for a wrong password: no user enumeration).
   */
  async findDirectoryEntry(username: string, domain: string): Promise<DirectoryEntry | undefined> {
    const [row] = await this.#run((orm) =>
      orm
        .select({
          subscriberId: subscribers.id,
          enabled: subscribers.enabled,
          md5: subscribers.ha1Md5,
          sha256: subscribers.ha1Sha256,
          sha512_256: subscribers.ha1Sha512_256,
          ...forwardingColumns,
        })
        .from(subscribers)
        .innerJoin(domains, eq(domains.id, subscribers.domainId))
        .leftJoin(callForwarding, eq(callForwarding.subscriberId, subscribers.id))
        .where(and(eq(domains.name, domain.toLowerCase()), eq(subscribers.username, username))),
    );
    if (!row) return undefined;
    return {
      subscriberId: row.subscriberId,
      enabled: row.enabled,
      ha1: { MD5: row.md5, "SHA-256": row.sha256, "SHA-512-256": row.sha512_256 },
      forwarding: rulesOf(row),
    };
  }

  // --- call records --------------------------------------------------------------------------

  /**
   * Merges one call event into the record of its Call-ID (created by the first event of the call,
   * whichever kind it is), in one transaction with the note that the event was applied: a
   * redelivered event (same `eventId`) changes nothing and says `duplicate: true`. The merge keeps
   * the earliest fact of each kind (see calls.ts), so arrival order does not matter either.
   */
  async applyCallEvent(input: CallEventInput): Promise<ApplyCallEventResult> {
    const event = validateCallEvent(input);
    return this.#run(() =>
      this.#transaction(async (tx) => {
        // The row exists from here on, and is locked before the event is noted: events of one
        // call queue here, one at a time. (Noting the event first would take a key-share lock on
        // the row through the foreign key, and two events would then deadlock upgrading it.)
        await tx
          .insert(callRecords)
          .values({ callId: event.callId, startedAt: new Date(event.at) })
          .onConflictDoNothing();
        const [row] = await tx
          .select()
          .from(callRecords)
          .where(eq(callRecords.callId, event.callId))
          .for("update");
        const fresh = await tx
          .insert(callEventsApplied)
          .values({ eventId: event.eventId, callId: event.callId })
          .onConflictDoNothing()
          .returning({ eventId: callEventsApplied.eventId });
        if (fresh.length === 0) return { duplicate: true, record: toCallRecord(row!) };
        const facts = mergeCallEvent(factsOf(row!), event);
        const shown = deriveCallRecord(facts);
        const [updated] = await tx
          .update(callRecords)
          .set({
            fromUri: facts.from,
            toUri: facts.to,
            fromKey: facts.from === null ? null : (addressKey(facts.from) ?? null),
            toKey: facts.to === null ? null : (addressKey(facts.to) ?? null),
            startedAt: new Date(facts.startedAt),
            startKnown: facts.startKnown,
            answeredAt: shown.answeredAt,
            endedAt: shown.endedAt,
            durationMs: shown.durationMs,
            status: shown.status,
            endReason: shown.endReason,
            failedAt: facts.failedAt === null ? null : new Date(facts.failedAt),
            failedStatus: facts.failedStatus,
            failedReason: facts.failedReason,
            byeAt: facts.byeAt === null ? null : new Date(facts.byeAt),
            byeReason: facts.byeReason,
            updatedAt: sql`now()`,
          })
          .where(eq(callRecords.callId, event.callId))
          .returning();
        return { duplicate: false, record: toCallRecord(updated!) };
      }),
    );
  }

  /** The record of one Call-ID, or undefined. */
  async findCall(callId: string): Promise<CallRecord | undefined> {
    const [row] = await this.#run((orm) =>
      orm.select().from(callRecords).where(eq(callRecords.callId, callId)),
    );
    return row ? toCallRecord(row) : undefined;
  }

  /**
   * Call records, newest first (by startedAt, then Call-ID), in keyset pages. `from`/`to` match
   * the caller's/callee's address however it is written (`addressKey`); `since` is inclusive,
   * `until` exclusive.
   */
  async listCalls(query: ListCallsQuery): Promise<Page<CallRecord>> {
    const limit = validateLimit(query.limit);
    const conditions: SQL[] = [];
    for (const [field, column] of [
      ["from", callRecords.fromKey],
      ["to", callRecords.toKey],
    ] as const) {
      const value = query[field];
      if (value === undefined) continue;
      const key = addressKey(value);
      if (key === undefined) throw new InvalidInputError(field, "is not a SIP or tel address");
      conditions.push(eq(column, key));
    }
    if (query.since !== undefined)
      conditions.push(gte(callRecords.startedAt, validateTime(query.since, "since")));
    if (query.until !== undefined)
      conditions.push(lt(callRecords.startedAt, validateTime(query.until, "until")));
    if (query.cursor !== undefined) {
      const after = decodeCallCursor(query.cursor);
      conditions.push(
        sql`(${callRecords.startedAt}, ${callRecords.callId}) < (${after.startedAt.toISOString()}::timestamptz, ${after.callId})`,
      );
    }
    const rows = await this.#run((orm) =>
      orm
        .select()
        .from(callRecords)
        .where(and(...conditions))
        .orderBy(desc(callRecords.startedAt), desc(callRecords.callId))
        .limit(limit + 1),
    );
    const more = rows.length > limit;
    const page = more ? rows.slice(0, limit) : rows;
    const last = page.at(-1);
    return {
      items: page.map(toCallRecord),
      nextCursor: more && last ? encodeCallCursor(last.startedAt, last.callId) : undefined,
    };
  }

  /**
   * Forgets which events were applied before `before` (their records stay). Run it with a bound
   * beyond the event stream's retention: an event older than that cannot be redelivered any more.
   */
  async pruneCallEvents(before: Date): Promise<number> {
    const cutoff = validateTime(before, "before");
    const rows = await this.#run((orm) =>
      orm
        .delete(callEventsApplied)
        .where(lt(callEventsApplied.appliedAt, cutoff))
        .returning({ eventId: callEventsApplied.eventId }),
    );
    return rows.length;
  }
}

const forwardingColumns = {
  always: callForwarding.always,
  busy: callForwarding.busy,
  noAnswerTarget: callForwarding.noAnswerTarget,
  noAnswerAfterSeconds: callForwarding.noAnswerAfterSeconds,
};

function rulesOf(row: {
  always: string | null;
  busy: string | null;
  noAnswerTarget: string | null;
  noAnswerAfterSeconds: number | null;
}): ForwardingRules {
  return {
    ...(row.always === null ? {} : { always: row.always }),
    ...(row.busy === null ? {} : { busy: row.busy }),
    ...(row.noAnswerTarget === null || row.noAnswerAfterSeconds === null
      ? {}
      : { noAnswer: { target: row.noAnswerTarget, afterSeconds: row.noAnswerAfterSeconds } }),
  };
}

function factsOf(row: CallRecordRow): CallFacts {
  return {
    startedAt: row.startedAt.getTime(),
    startKnown: row.startKnown,
    from: row.fromUri,
    to: row.toUri,
    answeredAt: row.answeredAt?.getTime() ?? null,
    failedAt: row.failedAt?.getTime() ?? null,
    failedStatus: row.failedStatus,
    failedReason: row.failedReason,
    byeAt: row.byeAt?.getTime() ?? null,
    byeReason: row.byeReason,
  };
}

function toCallRecord(row: CallRecordRow): CallRecord {
  return {
    callId: row.callId,
    from: row.fromUri,
    to: row.toUri,
    startedAt: row.startedAt,
    answeredAt: row.answeredAt,
    endedAt: row.endedAt,
    durationMs: row.durationMs,
    status: row.status,
    endReason: row.endReason,
  };
}

function toDomain(row: typeof domains.$inferSelect): Domain {
  return { id: row.id, name: row.name, createdAt: row.createdAt };
}

export function createRepository(
  database: Pick<Database, "orm" | "location" | "ormTransaction">,
): Repository {
  return new Repository(database);
}
