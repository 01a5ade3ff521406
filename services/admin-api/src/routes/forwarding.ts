/**
 * `/v1/subscribers/{id}/forwarding`: a subscriber's call forwarding (always, busy, no answer).
 * PUT replaces every rule (absent ones are off, `{}` is none), DELETE removes them all, GET
 * answers `{}` when none is set. After a change, `forwarding.changed` drops the entry the
 * registrars, proxies and redirect servers cached.
 */
import type { ForwardingRules as StoredRules, Subscriber } from "@sip-platform/db";
import { Type } from "typebox";
import type { AdminApiDeps, AdminApp } from "../app.js";
import { type Events, events } from "../events.js";
import { errors, ForwardingRules, SubscriberParams } from "../schemas.js";

const Forwarding = Type.Ref("Forwarding");

export function registerForwardingRoutes(app: AdminApp, deps: AdminApiDeps, publish: Events): void {
  const { repository } = deps;

  app.get(
    "/v1/subscribers/:id/forwarding",
    {
      schema: {
        summary: "The subscriber's call forwarding; {} when none is set",
        tags: ["forwarding"],
        params: SubscriberParams,
        response: { 200: Forwarding, ...errors(401, 404, 503) },
      },
    },
    async (request) => forwardingView(await repository.getForwarding(request.params.id)),
  );

  app.put(
    "/v1/subscribers/:id/forwarding",
    {
      schema: {
        summary: "Replace the subscriber's call forwarding",
        description:
          'Targets are sip:, sips: or tel: URIs; `noAnswer.afterSeconds` is 1-3600. `{}` turns forwarding off. Example: `{"busy":"sip:voicemail@example.test","noAnswer":{"target":"tel:+15550100","afterSeconds":20}}`.',
        tags: ["forwarding"],
        params: SubscriberParams,
        body: ForwardingRules,
        response: { 200: Forwarding, ...errors(400, 401, 404, 503) },
      },
    },
    async (request) => {
      const subscriber = await repository.getSubscriber(request.params.id);
      const stored = await repository.setForwarding(subscriber.id, request.body);
      publish(events.forwardingChanged, addressOf(subscriber), request.log);
      return forwardingView(stored);
    },
  );

  app.delete(
    "/v1/subscribers/:id/forwarding",
    {
      schema: {
        summary: "Turn the subscriber's call forwarding off",
        tags: ["forwarding"],
        params: SubscriberParams,
        response: { 204: Type.Null({ description: "No forwarding any more" }), ...errors(401, 404, 503) },
      },
    },
    async (request, reply) => {
      const subscriber = await repository.getSubscriber(request.params.id);
      await repository.deleteForwarding(subscriber.id);
      publish(events.forwardingChanged, addressOf(subscriber), request.log);
      return reply.code(204).send(null);
    },
  );
}

export function forwardingView(rules: StoredRules): ForwardingRules {
  return {
    ...(rules.always === undefined ? {} : { always: rules.always }),
    ...(rules.busy === undefined ? {} : { busy: rules.busy }),
    ...(rules.noAnswer === undefined
      ? {}
      : { noAnswer: { target: rules.noAnswer.target, afterSeconds: rules.noAnswer.afterSeconds } }),
  };
}

function addressOf(s: Subscriber): { username: string; domain: string } {
  return { username: s.username, domain: s.domain };
}
