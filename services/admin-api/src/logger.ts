/**
 * The service's pino logger. Request logging never includes bodies, but a password, a digest
 * hash or the bearer token must not reach a log line even when someone later logs a request or
 * an object carelessly, so those paths are censored at the logger.
 */
import { type DestinationStream, type Level, type Logger, pino } from "pino";

/** Paths pino censors (fast-redact syntax: `*` is one level). */
export const REDACT_PATHS: readonly string[] = [
  "password",
  "*.password",
  "*.*.password",
  "req.body.password",
  "body.password",
  "ha1",
  "*.ha1",
  "*.*.ha1",
  "ha1Md5",
  "ha1Sha256",
  "ha1Sha512_256",
  "*.ha1Md5",
  "*.ha1Sha256",
  "*.ha1Sha512_256",
  "authorization",
  "*.authorization",
  "req.headers.authorization",
  "headers.authorization",
  "adminToken",
  "*.adminToken",
];

export interface LoggerOptions {
  readonly level: Level | "silent";
  /** Where lines go; stdout by default. Tests pass a stream that collects them. */
  readonly destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions): Logger {
  const config = {
    level: options.level,
    base: { service: "admin-api" },
    redact: { paths: [...REDACT_PATHS], censor: "[redacted]" },
  };
  return options.destination ? pino(config, options.destination) : pino(config);
}
