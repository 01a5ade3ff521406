import { ConfigError } from "./parse.js";

/**
 * For a service's `main`: runs `load` (parse the environment, derive listeners…) and, on a
 * ConfigError, ends the process with exit code 2 and one line naming every bad variable. Any other
 * error propagates.
 */
export function configOrExit<T>(service: string, load: () => T): T {
  try {
    return load();
  } catch (e) {
    if (e instanceof ConfigError) {
      const problems = e.issues.map((i) => `${i.variable}: ${i.problem}; expected ${i.expected}`);
      process.stderr.write(`${service}: invalid configuration: ${problems.join("; ")}\n`);
      process.exit(2);
    }
    throw e;
  }
}
