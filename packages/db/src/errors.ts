/**
 * The errors the database package throws, each with a stable code. The REST layer maps codes to
 * statuses: DB_UNAVAILABLE → 503, DUPLICATE → 409, DOMAIN_IN_USE → 409, UNKNOWN_DOMAIN → 422,
 * NOT_FOUND → 404, INVALID_INPUT → 400, MIGRATION_FAILED → the service does not start.
 * Anything else escaping the repository is a bug, not a condition.
 */
export type DbErrorCode =
  | "DB_UNAVAILABLE"
  | "DUPLICATE"
  | "DOMAIN_IN_USE"
  | "UNKNOWN_DOMAIN"
  | "NOT_FOUND"
  | "INVALID_INPUT"
  | "MIGRATION_FAILED";

export abstract class DbError extends Error {
  abstract readonly code: DbErrorCode;
}

/** The database cannot be reached or refused the session (down, wrong address, auth, shut down). */
export class DatabaseUnavailableError extends DbError {
  override readonly name = "DatabaseUnavailableError";
  readonly code = "DB_UNAVAILABLE";
  /** What a SIP service answers while the database is down (with Retry-After), like the binding store's. */
  readonly sipStatus = 503;
  /**
   * Another attempt later may succeed. A bus handler failing with this error tells the asker so
   * (the bus carries `retryable` across), and the asker answers 503 rather than 500.
   */
  readonly retryable = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export type Entity = "domain" | "subscriber";

/** A unique constraint refused the write. `key` is what collided, e.g. "1001@example.test". */
export class DuplicateError extends DbError {
  override readonly name = "DuplicateError";
  readonly code = "DUPLICATE";
  constructor(
    readonly entity: Entity,
    readonly key: string,
    options?: { cause?: unknown },
  ) {
    super(`${entity} ${key} already exists`, options);
  }
}

/** A subscriber was created (or listed) in a domain that is not local. */
export class UnknownDomainError extends DbError {
  override readonly name = "UnknownDomainError";
  readonly code = "UNKNOWN_DOMAIN";
  constructor(
    readonly domain: string,
    options?: { cause?: unknown },
  ) {
    super(`domain ${domain} does not exist`, options);
  }
}

/** A domain still holds subscribers; they have to go first (the foreign key is ON DELETE RESTRICT). */
export class DomainInUseError extends DbError {
  override readonly name = "DomainInUseError";
  readonly code = "DOMAIN_IN_USE";
  constructor(
    readonly domain: string,
    options?: { cause?: unknown },
  ) {
    super(`domain ${domain} still has subscribers`, options);
  }
}

export class NotFoundError extends DbError {
  override readonly name = "NotFoundError";
  readonly code = "NOT_FOUND";
  constructor(
    readonly entity: Entity,
    readonly key: string,
  ) {
    super(`${entity} ${key} not found`);
  }
}

/** A value the schema cannot hold; `field` names the input property (REST: 400 naming the field). */
export class InvalidInputError extends DbError {
  override readonly name = "InvalidInputError";
  readonly code = "INVALID_INPUT";
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

export class MigrationError extends DbError {
  override readonly name = "MigrationError";
  readonly code = "MIGRATION_FAILED";
  constructor(
    readonly migration: string | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(migration ? `migration ${migration}: ${message}` : message, options);
  }
}

/** SQLSTATE codes (PostgreSQL Appendix A) the repository turns into conditions. */
export const SQLSTATE = {
  uniqueViolation: "23505",
  foreignKeyViolation: "23503",
  /** PostgreSQL 18 reports ON DELETE RESTRICT with this one rather than 23503. */
  restrictViolation: "23001",
} as const;

/**
 * SQLSTATEs that mean "the database is not there for us": class 08 (connection exception),
 * 28 (invalid authorization), 53 (insufficient resources: too many connections, out of disk),
 * 57P01-57P05 (shutdown, crash recovery, idle session timeout), 57014 (statement timeout: the
 * database is too busy to answer in time), 3D000 (no such database).
 */
function isUnavailableSqlState(code: string): boolean {
  return (
    code.startsWith("08") ||
    code.startsWith("28") ||
    code.startsWith("53") ||
    code.startsWith("57P") ||
    code === "57014" ||
    code === "3D000"
  );
}

/** Socket-level errors from node:net / dns. */
const UNAVAILABLE_ERRNO = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EHOSTDOWN",
  "ENETDOWN",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EPIPE",
]);

/**
 * node-postgres reports pool and connection trouble without a code, only with these messages
 * (pg-pool and pg/lib/client.js); PGlite says "PGlite is closed".
 */
const UNAVAILABLE_MESSAGES = [
  "timeout exceeded when trying to connect",
  "Connection terminated",
  "Client has encountered a connection error",
  "Cannot use a pool after calling end",
  "Client was closed and is not queryable",
  "PGlite is closed",
];

/** The first error in the cause chain carrying a string `code` (drizzle wraps driver errors). */
export function driverErrorOf(
  e: unknown,
): { code?: string; constraint?: string; message: string } | undefined {
  let current: unknown = e;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") return current as Error & { code: string; constraint?: string };
    current = current.cause;
  }
  return e instanceof Error ? { message: e.message } : undefined;
}

/** Whether an error from a driver or from drizzle means the database is unreachable. */
export function isUnavailable(e: unknown): boolean {
  if (e instanceof DatabaseUnavailableError) return true;
  let current: unknown = e;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") {
      if (UNAVAILABLE_ERRNO.has(code)) return true;
      if (/^[0-9A-Z]{5}$/.test(code) && isUnavailableSqlState(code)) return true;
    }
    const message = current.message;
    if (UNAVAILABLE_MESSAGES.some((m) => message.includes(m))) return true;
    // AggregateError: node's happy-eyeballs connect fails with one error per address.
    if (current instanceof AggregateError && current.errors.some((inner) => isUnavailable(inner)))
      return true;
    current = current.cause;
  }
  return false;
}

/** Wraps an unreachable-database error as DatabaseUnavailableError; anything else comes back unchanged. */
export function asUnavailable(e: unknown, location: string): unknown {
  if (e instanceof DatabaseUnavailableError || !isUnavailable(e)) return e;
  const inner = driverErrorOf(e);
  const detail = inner?.code ? `${inner.code} ${inner.message}` : (inner?.message ?? String(e));
  return new DatabaseUnavailableError(`database ${location} is unavailable: ${detail}`, { cause: e });
}
