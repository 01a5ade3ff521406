import { networkInterfaces } from "node:os";
import {
  ADMIN_PORT,
  ADMIN_TOKEN,
  CLUSTER_SECRET,
  DATABASE_URL,
  DIGEST_ALGORITHMS,
  LOG_LEVEL,
  NATS_SUBJECT_PREFIX,
  NATS_URL,
  parseConfig,
  REDIRECT_PORT,
  REDIS_URL,
  SIP_ADVERTISED_HOST,
  SIP_LISTEN,
  SIP_PORT,
  SIP_TLS_CERT,
  SIP_TLS_KEY,
  SIP_TLS_PORT,
  SIP_WS_PORT,
  SIP_WSS_PORT,
  TLS_FILES_TOGETHER,
  TRUSTED_CIDRS,
} from "@sip-platform/config";

/** The contract's variables the one-process platform reads (../shared/CONTRACT.md). */
export const PLATFORM_SCHEMA = {
  SIP_LISTEN,
  SIP_PORT,
  SIP_TLS_PORT,
  SIP_TLS_CERT,
  SIP_TLS_KEY,
  SIP_WS_PORT,
  SIP_WSS_PORT,
  SIP_ADVERTISED_HOST,
  REDIRECT_PORT,
  TRUSTED_CIDRS,
  ADMIN_PORT,
  ADMIN_TOKEN,
  NATS_URL,
  NATS_SUBJECT_PREFIX,
  REDIS_URL,
  DATABASE_URL,
  CLUSTER_SECRET,
  DIGEST_ALGORITHMS,
  LOG_LEVEL,
};

export type PlatformConfig = ReturnType<typeof parseConfig<typeof PLATFORM_SCHEMA>>;

export function loadPlatformConfig(env: Readonly<Record<string, string | undefined>>): PlatformConfig {
  return parseConfig(PLATFORM_SCHEMA, env, { rules: [TLS_FILES_TOGETHER] });
}

/**
 * SIP_ADVERTISED_HOST defaults to the listen address; a wildcard listen address is not something a
 * phone can reach, so then the first external IPv4 address of the machine is used (loopback last).
 */
export function advertisedHost(config: PlatformConfig): string {
  if (config.SIP_ADVERTISED_HOST) return config.SIP_ADVERTISED_HOST;
  if (config.SIP_LISTEN !== "0.0.0.0" && config.SIP_LISTEN !== "::") return config.SIP_LISTEN;
  for (const addresses of Object.values(networkInterfaces()))
    for (const a of addresses ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  return "127.0.0.1";
}
