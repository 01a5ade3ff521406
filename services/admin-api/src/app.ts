/** The dependencies the API is built from and the fastify instance type its routes register on. */

import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { BindingStore } from "@sip-platform/bindings";
import type { Bus } from "@sip-platform/bus";
import type { Database, Repository } from "@sip-platform/db";
import type {
  FastifyBaseLogger,
  FastifyInstance,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from "fastify";
import type { Logger } from "pino";

export interface AdminApiDeps {
  readonly repository: Pick<
    Repository,
    | "createDomain"
    | "listDomains"
    | "deleteDomain"
    | "createSubscriber"
    | "getSubscriber"
    | "listSubscribers"
    | "updateSubscriber"
    | "deleteSubscriber"
    | "getForwarding"
    | "setForwarding"
    | "deleteForwarding"
    | "listCalls"
  >;
  /** Pinged by `/readyz`. */
  readonly database: Pick<Database, "ping">;
  readonly bindings: Pick<BindingStore, "lookup" | "clear">;
  readonly bus: Pick<Bus, "publish" | "connected">;
  /** `Authorization: Bearer <adminToken>` for every path but the probes and the docs. */
  readonly adminToken: string;
  readonly log: Logger;
  /** Epoch ms, for which bindings are live; default `Date.now`. */
  readonly clock?: () => number;
  /** How long each `/readyz` check may take, ms; default 2000. */
  readonly readinessTimeoutMs?: number;
}

export type AdminApp = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;
