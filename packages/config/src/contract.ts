/**
 * The contract's variables (shared/CONTRACT.md, "Configuration") as ready-made schema fields
 * with the contract's defaults. A service picks the ones it uses:
 *
 *   const config = parseConfig({ SIP_LISTEN, SIP_PORT, LOG_LEVEL }, process.env);
 *
 * Where the contract's default is computed at start (ADMIN_TOKEN and CLUSTER_SECRET generated,
 * SIP_ADVERTISED_HOST from the listen address, NATS/Redis/Postgres embedded) the field is
 * optional and the service fills the gap; `required(CLUSTER_SECRET)` for distributed services.
 */
import { field } from "./field.js";
import { requireTogether } from "./parse.js";
import * as v from "./validators.js";

export const SIP_LISTEN = field.ip({ default: "0.0.0.0", describe: "address the SIP listeners bind" });
export const SIP_PORT = field.port({ default: 5060, describe: "SIP over UDP and TCP" });
export const SIP_TLS_PORT = field.port({
  default: 5061,
  describe: "SIP over TLS, on when SIP_TLS_CERT and SIP_TLS_KEY are set",
});
export const SIP_TLS_CERT = field.string({
  default: undefined,
  describe: "PEM certificate chain file for TLS and WSS",
});
export const SIP_TLS_KEY = field.string({
  default: undefined,
  describe: "PEM private key file for TLS and WSS",
});
export const SIP_WS_PORT = field.port({ default: 8088, describe: "SIP over WebSocket (RFC 7118)" });
export const SIP_WSS_PORT = field.port({ default: 8089, describe: "SIP over secure WebSocket (RFC 7118)" });
export const REDIRECT_PORT = field.port({ default: 5070, describe: "redirect server, UDP and TCP" });
export const SIP_ADVERTISED_HOST = field.host({
  default: undefined,
  describe: "host written into Via and Record-Route; unset means the listen address",
});
export const ADMIN_PORT = field.port({
  default: 8080,
  describe: "REST admin API, /metrics, /healthz, /readyz, /docs",
});
export const ADMIN_TOKEN = field.secret({
  default: undefined,
  minLength: 16,
  describe: "bearer token for /v1/*; unset means one is generated and printed at start",
});
export const TRUSTED_CIDRS = field.cidrs({
  default: ["127.0.0.0/8", "::1/128"],
  describe: "sources the redirect server answers",
});
export const NATS_URL = field.url({
  default: undefined,
  protocols: ["nats:", "tls:", "ws:", "wss:"],
  describe: "NATS server; unset means the in-process bus",
});
/**
 * Not in the contract: the first subject tokens of everything the services say on NATS (and the
 * JetStream stream name), so deployments, or test runs, can share one NATS server without sharing
 * queue groups.
 */
export const NATS_SUBJECT_PREFIX = field.string({
  default: "sip",
  maxLength: 64,
  pattern: /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/,
  patternExpected: "dot-separated tokens of letters, digits, _ or -",
  describe: "subject prefix on NATS (all services of a deployment must agree)",
});
export const REDIS_URL = field.url({
  default: undefined,
  protocols: ["redis:", "rediss:"],
  describe: "Redis server; unset means in-memory bindings",
});
export const DATABASE_URL = field.url({
  default: undefined,
  protocols: ["postgres:", "postgresql:", "pglite:", "memory:"],
  describe: "PostgreSQL server, pglite:<dir> or memory:; unset means embedded PGlite under ./data",
});
export const CLUSTER_SECRET = field.secret({
  default: undefined,
  minLength: 32,
  describe:
    "HMAC key shared by all instances (nonces, Record-Route tokens); generated per start in one-process mode",
});
export const LOG_LEVEL = field.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"], {
  default: "info",
  describe: "pino level",
});
/** The hashes a 401/407 challenges with, in this order (many phones answer only the first). */
export const DIGEST_ALGORITHMS = field.list(v.oneOf(["MD5", "SHA-256", "SHA-512-256"]), {
  default: ["MD5", "SHA-256"],
  unique: true,
  describe: "digest challenges a 401/407 carries, in this order",
});

/** Every contract variable, in the contract's order. */
export const CONTRACT_SCHEMA = Object.freeze({
  SIP_LISTEN,
  SIP_PORT,
  SIP_TLS_PORT,
  SIP_TLS_CERT,
  SIP_TLS_KEY,
  SIP_WS_PORT,
  SIP_WSS_PORT,
  REDIRECT_PORT,
  SIP_ADVERTISED_HOST,
  ADMIN_PORT,
  ADMIN_TOKEN,
  TRUSTED_CIDRS,
  NATS_URL,
  REDIS_URL,
  DATABASE_URL,
  CLUSTER_SECRET,
  LOG_LEVEL,
  DIGEST_ALGORITHMS,
});

/** Pass with a schema holding SIP_TLS_CERT and SIP_TLS_KEY: one without the other is an error. */
export const TLS_FILES_TOGETHER = requireTogether("SIP_TLS_CERT", "SIP_TLS_KEY");
