#!/usr/bin/env node
import { configOrExit, redact } from "@sip-platform/config";
import { pino } from "pino";
import { loadPlatformConfig } from "./config.js";
import { startPlatform } from "./platform.js";

/** `pnpm start`: the whole platform in one process, printing where it listens and the admin token. */
async function main(): Promise<void> {
  const config = configOrExit("platform", () => loadPlatformConfig(process.env));
  const log = pino({ level: config.LOG_LEVEL, base: { mode: "one-process" } });
  log.info({ config: redact(config) }, "starting");
  const platform = await startPlatform(config, log);
  const sip = platform.sipListeners.map((l) => `${l.protocol} ${l.local.address}:${l.local.port}`).join(", ");
  process.stdout.write(
    [
      "SIP platform running (one process).",
      `  SIP:       ${sip}`,
      `  Redirect:  ${platform.redirectListeners[0]!.local.address}:${platform.redirectListeners[0]!.local.port} (udp, tcp)`,
      `  Admin API: ${platform.adminUrl}  (OpenAPI at ${platform.adminUrl}/docs)`,
      `  Admin token: ${platform.adminTokenGenerated ? platform.adminToken : "(from ADMIN_TOKEN)"}`,
      "",
    ].join("\n"),
  );
  const stop = (signal: string) => {
    log.info({ signal }, "stopping");
    platform.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`platform failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
