// Runs the real fieldloop-server binary for the suite.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const here = dirname(fileURLToPath(import.meta.url));
/** tests/conformance */
export const CONFORMANCE_DIR = resolve(here, "..");
export const REPO_DIR = resolve(CONFORMANCE_DIR, "../..");

export const SERVER_BIN =
  process.env.FIELDLOOP_SERVER_BIN ?? resolve(CONFORMANCE_DIR, "../../target/debug/fieldloop-server");

export interface RunningServer {
  url: string;
  dataDir: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export async function startServer(extraArgs: string[] = [], timeoutMs = 60_000): Promise<RunningServer> {
  const dataDir = mkdtempSync(join(tmpdir(), "fieldloop-conformance-"));
  const child = spawn(
    SERVER_BIN,
    ["serve", "--data", dataDir, "--listen", "127.0.0.1:0", ...extraArgs],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  const killOnExit = (): void => {
    child.kill("SIGKILL");
  };
  process.once("exit", killOnExit);

  let output = "";
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in ${timeoutMs} ms:\n${output}`)), timeoutMs);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString("utf8");
      const m = /listening on (http:\/\/\S+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolveUrl(m[1]!);
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", (chunk: Buffer) => {
      output += chunk.toString("utf8");
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code ?? signal}) before listening:\n${output}`));
    });
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
  }).catch((err: unknown) => {
    child.kill("SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  });

  return {
    url,
    dataDir,
    process: child,
    async stop() {
      process.off("exit", killOnExit);
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((r) => child.once("exit", () => r()));
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

const execFileP = promisify(execFile);

/** Issues a one-time code with the CLI, while the server runs, and parses it from the output. */
export async function issueCode(server: RunningServer, inspector: string): Promise<string> {
  const { stdout, stderr } = await execFileP(SERVER_BIN, [
    "enroll",
    "--data",
    server.dataDir,
    "--inspector",
    inspector,
    "--server",
    server.url,
  ]);
  const m = /enrollment code for \S+:\s*([0-9A-Z-]+)/.exec(stdout + stderr);
  if (!m) throw new Error(`no enrollment code in the output of enroll:\n${stdout}${stderr}`);
  return m[1]!;
}
