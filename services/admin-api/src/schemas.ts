/**
 * Every body, parameter, query and response of the REST API as TypeBox schemas: they validate
 * requests (TypeBox compiler, no coercion of bodies), shape responses (fast-json-stringify writes
 * only the declared properties, so a stray hash on an object could not leak) and become the
 * OpenAPI document. Limits mirror `@sip-platform/db`'s validators so most bad input is refused
 * here, naming the field, before it reaches the repository.
 */
import { MAX_PAGE_SIZE } from "@sip-platform/db";
import { type Static, Type } from "typebox";

export const DEFAULT_PAGE_SIZE = 100;

export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: "stable, machine-readable", examples: ["BAD_REQUEST"] }),
      message: Type.String({ description: "for people; names the offending field where there is one" }),
    }),
  },
  { $id: "Error", description: "Every error response" },
);

const errorRef = Type.Ref("Error");

/** Error responses a route can give, by status, for the OpenAPI document and the serializer. */
export function errors<const S extends readonly number[]>(
  ...statuses: S
): Record<S[number], typeof errorRef> {
  const out: Record<number, typeof errorRef> = {};
  for (const s of statuses) out[s] = errorRef;
  return out as Record<S[number], typeof errorRef>;
}

// --- shared fields -------------------------------------------------------------------------------

const DomainName = Type.String({
  minLength: 1,
  maxLength: 253,
  description: "a DNS name (RFC 1123) or an IP address; stored lower-case; also the digest realm",
  examples: ["example.test"],
});

const Username = Type.String({
  minLength: 1,
  maxLength: 128,
  // RFC 3261 §25.1 user part as the digest username: no spaces, control characters, "@" or ":".
  pattern: "^[^\\s\\u0000-\\u001f\\u007f@:]+$",
  description: "the SIP user part and digest username; no spaces, control characters, '@' or ':'",
  examples: ["1001"],
});

const Password = Type.String({
  minLength: 1,
  maxLength: 1024,
  writeOnly: true,
  description: "only its digest hashes (HA1) are stored; never returned",
});

const DisplayName = Type.Union([Type.String({ maxLength: 256 }), Type.Null()], {
  description: "shown in From/To headers; null for none",
});

const Timestamp = Type.String({ format: "date-time", description: "ISO 8601, UTC" });

// --- health --------------------------------------------------------------------------------------

export const Health = Type.Object({ status: Type.Literal("ok") });

const CheckResult = Type.Union([Type.Literal("ok"), Type.Literal("unavailable")]);

export const Readiness = Type.Object(
  {
    status: Type.Union([Type.Literal("ready"), Type.Literal("unavailable")]),
    checks: Type.Object({ database: CheckResult, bindings: CheckResult, bus: CheckResult }),
  },
  { description: "Which dependency failed is the check that says unavailable" },
);

// --- domains -------------------------------------------------------------------------------------

export const CreateDomainBody = Type.Object({ name: DomainName }, { additionalProperties: false });
export type CreateDomainBody = Static<typeof CreateDomainBody>;

export const DomainView = Type.Object({ name: DomainName, createdAt: Timestamp }, { $id: "Domain" });
export type DomainView = Static<typeof DomainView>;

export const DomainList = Type.Array(Type.Ref("Domain"), { description: "Every local domain, by name" });

export const DomainParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 253 }) });

// --- subscribers ---------------------------------------------------------------------------------

export const CreateSubscriberBody = Type.Object(
  {
    username: Username,
    domain: DomainName,
    password: Password,
    displayName: Type.Optional(DisplayName),
  },
  { additionalProperties: false },
);
export type CreateSubscriberBody = Static<typeof CreateSubscriberBody>;

export const UpdateSubscriberBody = Type.Object(
  {
    password: Type.Optional(Password),
    displayName: Type.Optional(DisplayName),
    enabled: Type.Optional(
      Type.Boolean({ description: "false refuses the subscriber's REGISTER and calls" }),
    ),
  },
  {
    additionalProperties: false,
    description:
      "Absent properties stay as they are; a password change, or enabling/disabling, drops cached credentials",
  },
);
export type UpdateSubscriberBody = Static<typeof UpdateSubscriberBody>;

export const SubscriberView = Type.Object(
  {
    id: Type.String({ format: "uuid" }),
    username: Type.String(),
    domain: Type.String(),
    displayName: Type.Union([Type.String(), Type.Null()]),
    enabled: Type.Boolean(),
    createdAt: Timestamp,
  },
  { $id: "Subscriber", description: "Never carries a password or a digest hash" },
);
export type SubscriberView = Static<typeof SubscriberView>;

export const SubscriberParams = Type.Object({
  id: Type.String({ description: "the subscriber's id (a UUID); anything else is 404" }),
});

export const ListSubscribersQuery = Type.Object(
  {
    domain: Type.Optional(Type.String({ minLength: 1, maxLength: 253, description: "only this domain" })),
    limit: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: MAX_PAGE_SIZE,
        default: DEFAULT_PAGE_SIZE,
        description: "page size",
      }),
    ),
    cursor: Type.Optional(
      Type.String({ minLength: 1, maxLength: 2048, description: "`nextCursor` of the previous page" }),
    ),
  },
  { additionalProperties: false },
);
export type ListSubscribersQuery = Static<typeof ListSubscribersQuery>;

export const SubscriberPage = Type.Object({
  items: Type.Array(Type.Ref("Subscriber")),
  nextCursor: Type.Union([Type.String(), Type.Null()], {
    description: "pass as `cursor` for the next page; null on the last page",
  }),
});

// --- registrations -------------------------------------------------------------------------------

export const RegistrationView = Type.Object(
  {
    contact: Type.String({
      description: "the Contact URI as registered",
      examples: ["sip:1001@192.0.2.1:5060"],
    }),
    expiresAt: Timestamp,
    received: Type.Union([Type.String(), Type.Null()], {
      description:
        "where the REGISTER came from, `<transport>:<address>:<port>` (IPv6 in brackets), e.g. `udp:192.0.2.1:5060`, `tcp:[2001:db8::1]:5061`; null when unknown",
      examples: ["udp:192.0.2.1:5060"],
    }),
    transport: Type.Union(
      [
        Type.Literal("udp"),
        Type.Literal("tcp"),
        Type.Literal("tls"),
        Type.Literal("ws"),
        Type.Literal("wss"),
        Type.Literal("sctp"),
        Type.Null(),
      ],
      { description: "the transport the phone registered over (else the Contact's transport parameter)" },
    ),
    userAgent: Type.Union([Type.String(), Type.Null()]),
    path: Type.Array(Type.String(), { description: "Path header values, in order (RFC 3327)" }),
  },
  { $id: "Registration" },
);
export type RegistrationView = Static<typeof RegistrationView>;

export const RegistrationList = Type.Array(Type.Ref("Registration"), {
  description: "The live bindings, highest q first",
});

// --- call forwarding -----------------------------------------------------------------------------

const ForwardingTarget = Type.String({
  minLength: 1,
  maxLength: 2048,
  description: "a sip:, sips: or tel: URI (anything else is 400 naming the field)",
  examples: ["sip:voicemail@example.test"],
});

export const ForwardingRules = Type.Object(
  {
    always: Type.Optional({ ...ForwardingTarget, description: "every call goes here instead" }),
    busy: Type.Optional({
      ...ForwardingTarget,
      description: "a 486 Busy Here or 600 Busy Everywhere from the callee sends the call here",
    }),
    noAnswer: Type.Optional(
      Type.Object(
        {
          target: ForwardingTarget,
          afterSeconds: Type.Integer({
            minimum: 1,
            maximum: 3600,
            description: "how long the callee's phones ring before the call goes to the target",
          }),
        },
        { additionalProperties: false },
      ),
    ),
  },
  {
    $id: "Forwarding",
    additionalProperties: false,
    description:
      "A subscriber's call forwarding; absent rules are off, `{}` is no forwarding. PUT replaces all rules.",
  },
);
export type ForwardingRules = Static<typeof ForwardingRules>;

// --- call records --------------------------------------------------------------------------------

const ADDRESS_FORMS =
  "the address as `user@host` or a URI (`sip:user@host`, `sips:…`, `tel:+…`); matched on user and host, whatever scheme, port or parameters the call had";

const Address = (who: string) =>
  Type.String({
    minLength: 1,
    maxLength: 2048,
    description: `only calls ${who}; ${ADDRESS_FORMS}`,
    examples: ["alice@example.test"],
  });

export const ListCallsQuery = Type.Object(
  {
    limit: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: MAX_PAGE_SIZE,
        default: DEFAULT_PAGE_SIZE,
        description: "page size",
      }),
    ),
    cursor: Type.Optional(
      Type.String({ minLength: 1, maxLength: 2048, description: "`nextCursor` of the previous page" }),
    ),
    from: Type.Optional(Address("from this caller")),
    to: Type.Optional(Address("to this callee")),
    since: Type.Optional(
      Type.String({
        format: "date-time",
        description:
          "only calls started at or after this time (ISO 8601 with offset); an extension to the contract",
        examples: ["2026-01-01T00:00:00Z"],
      }),
    ),
    until: Type.Optional(
      Type.String({
        format: "date-time",
        description:
          "only calls started before this time (ISO 8601 with offset); an extension to the contract",
      }),
    ),
  },
  { additionalProperties: false },
);
export type ListCallsQuery = Static<typeof ListCallsQuery>;

const NullableTimestamp = Type.Union([Timestamp, Type.Null()]);

export const CallView = Type.Object(
  {
    callId: Type.String({ description: "the SIP Call-ID" }),
    from: Type.Union([Type.String(), Type.Null()], {
      description: "the caller's URI as the edge saw it; null until the INVITE's event has arrived",
    }),
    to: Type.Union([Type.String(), Type.Null()], { description: "the callee's URI" }),
    startedAt: {
      ...Timestamp,
      description: "when the INVITE was proxied (until that event arrives: the earliest event of the call)",
    },
    answeredAt: { ...NullableTimestamp, description: "when a 2xx was forwarded; null if never" },
    endedAt: {
      ...NullableTimestamp,
      description:
        "the first BYE of an answered call, or the final failure of an unanswered one; null while it lasts",
    },
    durationMs: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], {
      description: "talk time, endedAt - answeredAt; 0 when it ended unanswered; null while it lasts",
    }),
    status: Type.Union([Type.Integer({ minimum: 100, maximum: 699 }), Type.Null()], {
      description: "200 when answered, else the final failure status (486, 487, …); null while ringing",
    }),
    endReason: Type.Union([Type.String(), Type.Null()], {
      description:
        "`caller-bye`, `callee-bye`, `cancelled`, `busy`, `rejected`, `no-answer`, …; null while it lasts",
    }),
  },
  { $id: "Call", description: "One call, merged from what every edge reported of it" },
);
export type CallView = Static<typeof CallView>;

export const CallPage = Type.Object({
  items: Type.Array(Type.Ref("Call"), { description: "newest first (by startedAt, then callId)" }),
  nextCursor: Type.Union([Type.String(), Type.Null()], {
    description: "pass as `cursor` for the next page; null on the last page",
  }),
});

/** Schemas routes refer to by `$ref`; added to the instance once. */
export const sharedSchemas = [
  ErrorBody,
  DomainView,
  SubscriberView,
  RegistrationView,
  ForwardingRules,
  CallView,
] as const;
