/**
 * drizzle-kit, for generating migrations only: `pnpm exec drizzle-kit generate` from
 * packages/db writes SQL into ./migrations, which src/migrate.ts applies at start on both
 * PostgreSQL and PGlite. Nothing here connects to a database.
 */
import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "postgresql",
  schema: "./src/schema",
  out: "./migrations",
  strict: true,
  verbose: true,
});
