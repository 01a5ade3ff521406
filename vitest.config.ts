import { defineConfig } from "vitest/config";
import SummaryReporter from "./tools/summary-reporter.js";

export default defineConfig({
  test: {
    include: ["packages/*/src/**/*.test.ts", "services/*/src/**/*.test.ts"],
    testTimeout: 20_000,
    reporters: ["default", new SummaryReporter()],
  },
});
