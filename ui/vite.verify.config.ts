// The script of the public verification pages (/v/{code}, /v/verify), built
// apart from the tablet and console pages into dist/verify/verify.js: one
// small self-contained file under a fixed name, which fieldloop-server serves
// at /v/verify.js. Runs after the main build (which empties dist/).
import { resolve } from "node:path";
import { defineConfig } from "vite";

export default defineConfig({
  clearScreen: false,
  build: {
    outDir: "dist/verify",
    emptyOutDir: true,
    target: ["es2020", "safari14"],
    sourcemap: false,
    lib: {
      entry: resolve(import.meta.dirname, "src/verify/main.ts"),
      name: "FieldloopVerify",
      formats: ["iife"],
      fileName: () => "verify.js",
    },
  },
});
