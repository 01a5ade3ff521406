/** The database: schema, migrations, drivers (PostgreSQL, PGlite) and the repository the services use. */
export {
  addressKey,
  type CallEventInput,
  type CallEventKind,
  type CallFacts,
  type CallRecord,
  deriveCallRecord,
  failureReason,
  mergeCallEvent,
  validateCallEvent,
} from "./calls.js";
export {
  type Database,
  type DatabaseDriver,
  type DatabaseEvent,
  dbEventChannel,
  EMBEDDED_DATABASE_URL,
  type OpenDatabaseOptions,
  type Orm,
  openDatabase,
  type Schema,
} from "./database.js";
export {
  DatabaseUnavailableError,
  DbError,
  type DbErrorCode,
  DomainInUseError,
  DuplicateError,
  type Entity,
  InvalidInputError,
  isUnavailable,
  MigrationError,
  NotFoundError,
  UnknownDomainError,
} from "./errors.js";
export {
  applyMigrations,
  type InTransaction,
  loadMigrations,
  MIGRATION_LOCK_KEY,
  MIGRATIONS_DIR,
  MIGRATIONS_TABLE,
  type MigrateOptions,
  type Migration,
  type MigrationReport,
  type SqlSession,
} from "./migrate.js";
export {
  type ApplyCallEventResult,
  createRepository,
  type DirectoryEntry,
  type Domain,
  type ListCallsQuery,
  type ListSubscribersQuery,
  type NewSubscriber,
  type Page,
  Repository,
  STORED_HASHES,
  type Subscriber,
  type SubscriberChanges,
  type SubscriberCredentials,
} from "./repository.js";
export * as schema from "./schema/index.js";
export {
  type ForwardingRules,
  MAX_FORWARDING_SECONDS,
  MAX_PAGE_SIZE,
  validateForwarding,
  validateForwardingTarget,
} from "./validate.js";
