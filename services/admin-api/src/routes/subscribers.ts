/**
 * `/v1/subscribers`: who may register and call. The password goes in, only its digest hashes are
 * stored, and neither comes out: responses are built from `Subscriber` (which has no hashes) and
 * serialized through `SubscriberView`, which declares no such property.
 */
import type { Subscriber } from "@sip-platform/db";
import { Type } from "typebox";
import type { AdminApiDeps, AdminApp } from "../app.js";
import { type Events, events } from "../events.js";
import {
  CreateSubscriberBody,
  DEFAULT_PAGE_SIZE,
  errors,
  ListSubscribersQuery,
  SubscriberPage,
  SubscriberParams,
  SubscriberView,
  UpdateSubscriberBody,
} from "../schemas.js";

export function registerSubscriberRoutes(app: AdminApp, deps: AdminApiDeps, publish: Events): void {
  const { repository } = deps;

  app.post(
    "/v1/subscribers",
    {
      schema: {
        summary: "Create a subscriber in a local domain",
        tags: ["subscribers"],
        body: CreateSubscriberBody,
        response: { 201: SubscriberView, ...errors(400, 401, 409, 422, 503) },
      },
    },
    async (request, reply) => {
      const { username, domain, password, displayName } = request.body;
      const subscriber = await repository.createSubscriber({ username, domain, password, displayName });
      // Drops any "no such user" a registrar or proxy may have cached.
      publish(events.credentialsChanged, credentialsOf(subscriber), request.log);
      reply.code(201);
      return subscriberView(subscriber);
    },
  );

  app.get(
    "/v1/subscribers",
    {
      schema: {
        summary: "List subscribers, a page at a time",
        tags: ["subscribers"],
        querystring: ListSubscribersQuery,
        response: { 200: SubscriberPage, ...errors(400, 401, 503) },
      },
    },
    async (request) => {
      const { domain, limit, cursor } = request.query;
      const page = await repository.listSubscribers({ domain, cursor, limit: limit ?? DEFAULT_PAGE_SIZE });
      return { items: page.items.map(subscriberView), nextCursor: page.nextCursor ?? null };
    },
  );

  app.get(
    "/v1/subscribers/:id",
    {
      schema: {
        summary: "One subscriber",
        tags: ["subscribers"],
        params: SubscriberParams,
        response: { 200: SubscriberView, ...errors(401, 404, 503) },
      },
    },
    async (request) => subscriberView(await repository.getSubscriber(request.params.id)),
  );

  app.patch(
    "/v1/subscribers/:id",
    {
      schema: {
        summary: "Change a subscriber's password, display name or enabled flag",
        tags: ["subscribers"],
        params: SubscriberParams,
        body: UpdateSubscriberBody,
        response: { 200: SubscriberView, ...errors(400, 401, 404, 503) },
      },
    },
    async (request) => {
      const { password, displayName, enabled } = request.body;
      const subscriber = await repository.updateSubscriber(request.params.id, {
        password,
        displayName,
        enabled,
      });
      if (password !== undefined || enabled !== undefined)
        publish(events.credentialsChanged, credentialsOf(subscriber), request.log);
      return subscriberView(subscriber);
    },
  );

  app.delete(
    "/v1/subscribers/:id",
    {
      schema: {
        summary: "Delete a subscriber",
        tags: ["subscribers"],
        params: SubscriberParams,
        response: { 204: Type.Null({ description: "Deleted" }), ...errors(401, 404, 503) },
      },
    },
    async (request, reply) => {
      const subscriber = await repository.getSubscriber(request.params.id);
      await repository.deleteSubscriber(subscriber.id);
      publish(events.credentialsChanged, credentialsOf(subscriber), request.log);
      return reply.code(204).send(null);
    },
  );
}

export function subscriberView(s: Subscriber): SubscriberView {
  return {
    id: s.id,
    username: s.username,
    domain: s.domain,
    displayName: s.displayName,
    enabled: s.enabled,
    createdAt: s.createdAt.toISOString(),
  };
}

function credentialsOf(s: Subscriber): { username: string; domain: string } {
  return { username: s.username, domain: s.domain };
}
