import {
  type Config,
  LOG_LEVEL,
  NATS_SUBJECT_PREFIX,
  NATS_URL,
  parseConfig,
  required,
  TRUSTED_CIDRS,
} from "@sip-platform/config";

/**
 * A redirect instance on its own: NATS is required (the edges send it the requests, and it asks the
 * registrar and the location service); several may run at once in the `redirect` queue group.
 */
export const REDIRECT_SCHEMA = Object.freeze({
  NATS_URL: required(NATS_URL),
  NATS_SUBJECT_PREFIX,
  TRUSTED_CIDRS,
  LOG_LEVEL,
});

export type RedirectConfig = Config<typeof REDIRECT_SCHEMA>;

/** Parses the environment once; throws `ConfigError` naming every bad variable. */
export function loadRedirectConfig(env: Readonly<Record<string, string | undefined>>): RedirectConfig {
  return parseConfig(REDIRECT_SCHEMA, env);
}
