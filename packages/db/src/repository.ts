/**
 * The repository: every query the services make, over either driver. It takes and returns plain
 * objects, never rows: a `Subscriber` has no digest hashes; only `findCredentials` (the
 * registrar's and the proxy's authentication lookup) returns them, as `SubscriberCredentials`.
 *
 * Errors: DuplicateError, UnknownDomainError, DomainInUseError, NotFoundError,
 * InvalidInputError, DatabaseUnavailableError (see errors.ts for their REST statuses).
 */
import { computeHa1, type DigestHash } from "@sip-platform/sip";
import { and, asc, eq, type SQL, sql } from "drizzle-orm";
import type { Database, Orm } from "./database.js";
import {
  asUnavailable,
  DbError,
  DomainInUseError,
  DuplicateError,
  driverErrorOf,
  NotFoundError,
  SQLSTATE,
  UnknownDomainError,
} from "./errors.js";
import { domains } from "./schema/domains.js";
import { subscribers } from "./schema/subscribers.js";
import {
  decodeCursor,
  encodeCursor,
  isUuid,
  normalizeDomainName,
  validateDisplayName,
  validateEnabled,
  validateLimit,
  validatePassword,
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

  constructor(database: Pick<Database, "orm" | "location">) {
    this.#orm = database.orm;
    this.#location = database.location;
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
}

function toDomain(row: typeof domains.$inferSelect): Domain {
  return { id: row.id, name: row.name, createdAt: row.createdAt };
}

export function createRepository(database: Pick<Database, "orm" | "location">): Repository {
  return new Repository(database);
}
