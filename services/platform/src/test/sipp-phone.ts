import { spawn } from "node:child_process";
import dgram from "node:dgram";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runSipp } from "@sip-platform/fixtures/sipp";
import { findBinary } from "./processes.js";

const WEBRTC_UAS = fileURLToPath(new URL("./webrtc-uas.xml", import.meta.url));

/** Why the SIPp phone cannot run here, or undefined when it can. */
export function sippMissing(): string | undefined {
  return findBinary("sipp") ? undefined : "sipp not found on PATH: apt-get install sip-tester";
}

/** A UDP port on loopback that was free a moment ago (bound, read, released). */
export async function freeUdpPort(): Promise<number> {
  const socket = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(resolve));
  return port;
}

/**
 * Registers `user` with Contact `sip:user@127.0.0.1:<port>` over UDP from that very port (the
 * shared digest REGISTER scenario), so the platform later sends the user's calls to whoever
 * listens on the port: a SIPp UAS started right after.
 */
export async function registerSippUser(o: {
  port: number;
  user: string;
  domain: string;
  password: string;
  proxy: { host: string; port: number };
}): Promise<void> {
  await runSipp("register-auth", o.proxy, {
    transport: "u1",
    args: ["-i", "127.0.0.1", "-p", String(o.port), "-s", o.user, "-au", o.user, "-ap", o.password].concat([
      "-key",
      "domain",
      o.domain,
    ]),
  });
}

/** A SIPp UAS running `webrtc-uas.xml` for one call. */
export interface SippUas {
  /** Resolves once SIPp exited 0 (the call went INVITE … BYE as scripted); rejects otherwise. */
  readonly done: Promise<void>;
  /** The messages SIPp exchanged so far (its `-trace_msg` file). */
  messages(): Promise<string>;
  /** Kills SIPp if still running, removes its files. */
  stop(): Promise<void>;
}

/** Starts the WebRTC-answering UAS on 127.0.0.1:`port` (UDP) for one call, at most `timeoutS`. */
export async function startWebRtcUas(port: number, timeoutS = 60): Promise<SippUas> {
  const dir = await mkdtemp(join(tmpdir(), "sipp-uas-"));
  const messageFile = join(dir, "messages.log");
  const child = spawn(
    "sipp",
    ["-sf", WEBRTC_UAS, "-m", "1", "-t", "u1", "-i", "127.0.0.1", "-p", String(port)].concat([
      "-timeout",
      `${timeoutS}s`,
      "-timeout_error",
      "-nostdin",
      "-trace_msg",
      "-message_file",
      messageFile,
    ]),
    { cwd: dir, stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  child.stdout.on("data", (c) => {
    out += String(c);
  });
  child.stderr.on("data", (c) => {
    out += String(c);
  });
  const messages = () => readFile(messageFile, "utf8").catch(() => "");
  const done = new Promise<void>((resolve, reject) => {
    child.once("exit", (code, signal) => {
      if (code === 0) resolve();
      else
        void messages().then((m) =>
          reject(new Error(`sipp webrtc-uas exited ${code ?? signal}:\n${out}\n--- messages:\n${m}`)),
        );
    });
    child.once("error", reject);
  });
  done.catch(() => {});
  return {
    done,
    messages,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGKILL");
        await done.catch(() => {});
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
