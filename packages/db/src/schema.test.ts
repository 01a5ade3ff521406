/**
 * The committed migrations match the schema in src/schema: drizzle-kit, run on a copy of
 * migrations/, finds nothing to generate. Fails when a table changed without
 * `pnpm exec drizzle-kit generate` (from packages/db).
 */
import { execFile } from "node:child_process";
import { cp, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { MIGRATIONS_DIR } from "./migrate.js";

const PACKAGE_DIR = fileURLToPath(new URL("../", import.meta.url));

describe("migrations", () => {
  it("are up to date with src/schema", async () => {
    const copy = await mkdtemp(join(tmpdir(), "sip-migrations-"));
    try {
      await cp(MIGRATIONS_DIR, copy, { recursive: true });
      const before = (await readdir(copy)).sort();
      // drizzle-kit's exports map hides its CLI; pnpm links the package into node_modules.
      const bin = join(PACKAGE_DIR, "node_modules", "drizzle-kit", "bin.cjs");
      // drizzle-kit writes "./" before --out, so it has to be relative to the working directory.
      const { stdout } = await promisify(execFile)(
        process.execPath,
        [
          bin,
          "generate",
          "--dialect",
          "postgresql",
          "--schema",
          "./src/schema",
          "--out",
          relative(PACKAGE_DIR, copy),
        ],
        { cwd: PACKAGE_DIR },
      );
      expect(stdout).toContain("No schema changes");
      expect((await readdir(copy)).sort()).toEqual(before);
    } finally {
      await rm(copy, { recursive: true, force: true });
    }
  });
});
