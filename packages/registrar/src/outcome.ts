/**
 * Every way a REGISTER can fail, each with exactly one SIP status and reason (as Kamailio's
 * registrar keeps them in one table). The reason never says which check failed where that would
 * help an attacker: unknown user, wrong password and disabled account share one answer.
 */
export const REGISTER_FAILURES = {
  DOMAIN_NOT_SERVED: { status: 404, reason: "Domain Not Served" },
  BAD_REQUEST: { status: 400, reason: "Bad Request" },
  UNSUPPORTED_EXTENSION: { status: 420, reason: "Bad Extension" },
  AUTH_FAILED: { status: 403, reason: "Forbidden" },
  NOT_OWNER: { status: 403, reason: "Forbidden" },
  INTERVAL_TOO_BRIEF: { status: 423, reason: "Interval Too Brief" },
  OUT_OF_ORDER: { status: 500, reason: "Server Internal Error" },
  TOO_MANY_CONTACTS: { status: 403, reason: "Too Many Contacts" },
  UNAVAILABLE: { status: 503, reason: "Service Unavailable" },
} as const;

export type RegisterFailure = keyof typeof REGISTER_FAILURES;
