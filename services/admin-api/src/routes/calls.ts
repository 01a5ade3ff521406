/**
 * `/v1/calls`: call records, newest first, a page at a time, filtered by caller, callee and start
 * time (`since`/`until` are an extension to the contract). Written by the call-record writer from
 * the edges' call events; this route only reads them.
 */
import type { CallRecord } from "@sip-platform/db";
import type { AdminApiDeps, AdminApp } from "../app.js";
import { CallPage, type CallView, DEFAULT_PAGE_SIZE, errors, ListCallsQuery } from "../schemas.js";

export function registerCallRoutes(app: AdminApp, deps: AdminApiDeps): void {
  const { repository } = deps;

  app.get(
    "/v1/calls",
    {
      schema: {
        summary: "List call records, newest first, a page at a time",
        tags: ["calls"],
        querystring: ListCallsQuery,
        response: { 200: CallPage, ...errors(400, 401, 503) },
      },
    },
    async (request) => {
      const { limit, cursor, from, to, since, until } = request.query;
      const page = await repository.listCalls({
        limit: limit ?? DEFAULT_PAGE_SIZE,
        cursor,
        from,
        to,
        since: since === undefined ? undefined : new Date(since),
        until: until === undefined ? undefined : new Date(until),
      });
      return { items: page.items.map(callView), nextCursor: page.nextCursor ?? null };
    },
  );
}

export function callView(c: CallRecord): CallView {
  return {
    callId: c.callId,
    from: c.from,
    to: c.to,
    startedAt: c.startedAt.toISOString(),
    answeredAt: c.answeredAt?.toISOString() ?? null,
    endedAt: c.endedAt?.toISOString() ?? null,
    durationMs: c.durationMs,
    status: c.status,
    endReason: c.endReason,
  };
}
