/**
 * The demo server's configuration: read from the environment once at start, validated, frozen.
 * Variable names and defaults are the contract's (../shared/CONTRACT.md); a bad value stops the
 * start with a message naming the variable.
 */
export interface DemoConfig {
  readonly listen: string;
  readonly port: number;
  readonly tlsPort: number;
  readonly tlsCert: string | undefined;
  readonly tlsKey: string | undefined;
  readonly wsPort: number;
  readonly wssPort: number;
  readonly logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
}

export const DEMO_DEFAULTS = Object.freeze({
  SIP_LISTEN: "0.0.0.0",
  SIP_PORT: "5060",
  SIP_TLS_PORT: "5061",
  SIP_WS_PORT: "8088",
  SIP_WSS_PORT: "8089",
  LOG_LEVEL: "info",
});

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

const LEVELS = new Set(["fatal", "error", "warn", "info", "debug", "trace", "silent"]);

export function loadConfig(env: Readonly<Record<string, string | undefined>>): DemoConfig {
  const get = (name: keyof typeof DEMO_DEFAULTS) => env[name] ?? DEMO_DEFAULTS[name];
  const port = (name: keyof typeof DEMO_DEFAULTS) => {
    const raw = get(name);
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n > 65535)
      throw new ConfigError(`${name} must be a port number 0-65535, got "${raw}"`);
    return n;
  };
  const listen = get("SIP_LISTEN");
  if (!/^[0-9.]+$|:/.test(listen)) throw new ConfigError(`SIP_LISTEN must be an IP address, got "${listen}"`);
  const tlsCert = env.SIP_TLS_CERT || undefined;
  const tlsKey = env.SIP_TLS_KEY || undefined;
  if ((tlsCert === undefined) !== (tlsKey === undefined))
    throw new ConfigError("SIP_TLS_CERT and SIP_TLS_KEY must be set together");
  const logLevel = get("LOG_LEVEL");
  if (!LEVELS.has(logLevel))
    throw new ConfigError(`LOG_LEVEL must be one of ${[...LEVELS].join(", ")}, got "${logLevel}"`);
  return Object.freeze({
    listen,
    port: port("SIP_PORT"),
    tlsPort: port("SIP_TLS_PORT"),
    tlsCert,
    tlsKey,
    wsPort: port("SIP_WS_PORT"),
    wssPort: port("SIP_WSS_PORT"),
    logLevel: logLevel as DemoConfig["logLevel"],
  });
}
