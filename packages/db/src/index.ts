/** The database: schema, migrations, drivers (PostgreSQL, PGlite) and the repository the services use. */
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
  createRepository,
  type Domain,
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
export { MAX_PAGE_SIZE } from "./validate.js";
