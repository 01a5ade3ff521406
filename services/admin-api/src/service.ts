/**
 * The admin REST API as a value: `buildApp(deps)` gives the fastify instance (tests `inject()`
 * into it), `startAdminApi(deps)` listens. Both take their dependencies ready-made, so the
 * one-process mode passes embedded ones and `main.ts` passes the real ones; nothing here reads
 * the environment or owns a dependency's lifetime.
 */
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import { TypeBoxValidatorCompiler } from "@fastify/type-provider-typebox";
import Fastify, { type FastifyBaseLogger, type FastifyReply } from "fastify";
import type { AdminApiDeps, AdminApp } from "./app.js";
import { createTokenCheck, isPublicPath } from "./auth.js";
import { formatValidationErrors, type InputPart, loggableError, toHttpError } from "./errors.js";
import { createPublisher } from "./events.js";
import { registerCallRoutes } from "./routes/calls.js";
import { registerDomainRoutes } from "./routes/domains.js";
import { registerForwardingRoutes } from "./routes/forwarding.js";
import { registerHealthRoutes } from "./routes/health.js";
import { registerRegistrationRoutes } from "./routes/registrations.js";
import { registerSubscriberRoutes } from "./routes/subscribers.js";
import { sharedSchemas } from "./schemas.js";

export type { AdminApiDeps, AdminApp } from "./app.js";
export { createLogger, REDACT_PATHS } from "./logger.js";

export interface StartAdminApiOptions extends AdminApiDeps {
  readonly host: string;
  /** 0 picks a free port; the `url` says which. */
  readonly port: number;
}

export interface RunningAdminApi {
  /** `http://host:port` it listens on. */
  readonly url: string;
  /** Stops taking requests and waits for those in progress; does not close the dependencies. */
  close(): Promise<void>;
}

const API_VERSION = "1.0.0";

export async function buildApp(deps: AdminApiDeps): Promise<AdminApp> {
  const app: AdminApp = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    bodyLimit: 64 * 1024,
    schemaErrorFormatter: formatValidationErrors,
    // Case-sensitive paths, no duplicate-slash folding: what is public is exactly what isPublicPath says.
    routerOptions: { ignoreTrailingSlash: false, ignoreDuplicateSlashes: false, maxParamLength: 512 },
    // The router's own refusals (undecodable URL, over-long parameter) in the API's error shape.
    frameworkErrors: (error, _request, reply) => {
      const mapped = toHttpError(error, "params");
      void (reply as unknown as FastifyReply)
        .code(mapped.status)
        .send({ error: { code: mapped.code, message: mapped.message } });
    },
  }).withTypeProvider();
  app.setValidatorCompiler(TypeBoxValidatorCompiler);
  for (const schema of sharedSchemas) app.addSchema(schema);

  const authorized = createTokenCheck(deps.adminToken);
  app.addHook("onRequest", async (request, reply) => {
    if (isPublicPath(request.url) || authorized(request.headers.authorization)) return;
    return reply
      .code(401)
      .header("www-authenticate", 'Bearer realm="sip-platform admin"')
      .send({
        error: { code: "UNAUTHORIZED", message: "a valid Authorization: Bearer <token> is required" },
      });
  });

  app.setErrorHandler(async (error, request, reply) => {
    const validation = (error as { validationContext?: InputPart }).validationContext;
    const part: InputPart = validation ?? (request.method === "GET" ? "querystring" : "body");
    const mapped = toHttpError(error, part);
    if (mapped.status >= 500) {
      const level = mapped.status === 503 ? "warn" : "error";
      request.log[level]({ error: loggableError(error), stack: stackOf(error) }, "request failed");
    } else {
      request.log.debug({ error: { code: mapped.code, message: mapped.message } }, "request refused");
    }
    if (mapped.retryAfter !== undefined) reply.header("retry-after", String(mapped.retryAfter));
    return reply.code(mapped.status).send({ error: { code: mapped.code, message: mapped.message } });
  });

  app.setNotFoundHandler(async (request, reply) =>
    reply.code(404).send({
      error: { code: "NOT_FOUND", message: `no route ${request.method} ${request.url.split("?")[0]}` },
    }),
  );

  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "sip-platform admin API",
        version: API_VERSION,
        description:
          'Domains, subscribers, their registrations and call forwarding, and call records. Every `/v1` call needs `Authorization: Bearer <ADMIN_TOKEN>`. Errors are `{"error":{"code","message"}}`.',
      },
      components: {
        securitySchemes: {
          bearerAuth: { type: "http", scheme: "bearer", description: "the ADMIN_TOKEN" },
        },
      },
      security: [{ bearerAuth: [] }],
    },
    refResolver: {
      // Shared schemas appear under their $id (components/schemas/Subscriber), not def-N.
      buildLocalReference: (json, _baseUri, _fragment, i) =>
        typeof json.$id === "string" ? json.$id : `def-${i}`,
    },
  });
  await app.register(swaggerUi, { routePrefix: "/docs" });

  const publish = createPublisher(deps.bus);
  registerHealthRoutes(app, deps);
  registerDomainRoutes(app, deps, publish);
  registerSubscriberRoutes(app, deps, publish);
  registerRegistrationRoutes(app, deps, publish);
  registerForwardingRoutes(app, deps, publish);
  registerCallRoutes(app, deps);
  return app;
}

export async function startAdminApi(options: StartAdminApiOptions): Promise<RunningAdminApi> {
  const app = await buildApp(options);
  try {
    await app.listen({ host: options.host, port: options.port });
  } catch (error) {
    await app.close();
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === "object" && address !== null ? address.port : options.port;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  return { url: `http://${host}:${port}`, close: () => app.close() };
}

/** The first frames of the error's stack, without its message (which may quote query parameters). */
function stackOf(error: unknown): string | undefined {
  if (!(error instanceof Error) || error.stack === undefined) return undefined;
  return error.stack
    .split("\n")
    .filter((line) => line.trimStart().startsWith("at "))
    .slice(0, 8)
    .join("\n");
}
