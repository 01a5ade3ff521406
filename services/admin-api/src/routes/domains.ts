/** `/v1/domains`: the local domains (a domain must exist before subscribers in it). */
import type { Domain } from "@sip-platform/db";
import { Type } from "typebox";
import type { AdminApiDeps, AdminApp } from "../app.js";
import { type Events, events } from "../events.js";
import { CreateDomainBody, DomainList, DomainParams, DomainView, errors } from "../schemas.js";

export function registerDomainRoutes(app: AdminApp, deps: AdminApiDeps, publish: Events): void {
  const { repository } = deps;

  app.post(
    "/v1/domains",
    {
      schema: {
        summary: "Create a local domain",
        tags: ["domains"],
        body: CreateDomainBody,
        response: { 201: DomainView, ...errors(400, 401, 409, 503) },
      },
    },
    async (request, reply) => {
      const domain = await repository.createDomain(request.body.name);
      publish(events.domainsChanged, { domain: domain.name, change: "created" }, request.log);
      reply.code(201);
      return domainView(domain);
    },
  );

  app.get(
    "/v1/domains",
    {
      schema: {
        summary: "List the local domains",
        tags: ["domains"],
        response: { 200: DomainList, ...errors(401, 503) },
      },
    },
    async () => (await repository.listDomains()).map(domainView),
  );

  app.delete(
    "/v1/domains/:name",
    {
      schema: {
        summary: "Delete a domain that has no subscribers",
        tags: ["domains"],
        params: DomainParams,
        response: {
          204: Type.Null({ description: "Deleted" }),
          ...errors(401, 404, 409, 503),
        },
      },
    },
    async (request, reply) => {
      const name = request.params.name.toLowerCase();
      await repository.deleteDomain(name);
      publish(events.domainsChanged, { domain: name, change: "deleted" }, request.log);
      return reply.code(204).send(null);
    },
  );
}

function domainView(domain: Domain): DomainView {
  return { name: domain.name, createdAt: domain.createdAt.toISOString() };
}
