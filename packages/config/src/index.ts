/** Configuration: a typed environment schema, parsed once at start, frozen; the contract's variables. */
export {
  ADMIN_PORT,
  ADMIN_TOKEN,
  CLUSTER_SECRET,
  CONTRACT_SCHEMA,
  DATABASE_URL,
  DIGEST_ALGORITHMS,
  LOG_LEVEL,
  NATS_SUBJECT_PREFIX,
  NATS_URL,
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
} from "./contract.js";
export { configOrExit } from "./exit.js";
export {
  type Field,
  type FieldKind,
  field,
  type Presence,
  type PresenceOf,
  type PresenceOptions,
  required,
  type ValueOf,
} from "./field.js";
export {
  type Cidr,
  canonicalIp,
  cidrsContain,
  formatIpv6,
  type IpFamily,
  parseCidr,
  parseIpv4,
  parseIpv6,
  toBlockList,
} from "./net.js";
export {
  type Config,
  ConfigError,
  type ConfigIssue,
  type ConfigRule,
  describeSchema,
  type Env,
  type ParseOptions,
  parseConfig,
  redact,
  requireTogether,
  type Schema,
  type VariableDescription,
} from "./parse.js";
export type { ParseResult, Validator } from "./validators.js";
export * as validators from "./validators.js";
