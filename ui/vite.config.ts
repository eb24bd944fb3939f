/// <reference types="vitest/config" />
// Vite builds ui/ into ui/dist, which the Tauri shell embeds (src-tauri/tauri.conf.json:
// build.frontendDist). Vitest reads its settings from here too.
import { defineConfig } from "vite";

export default defineConfig({
  // Relative asset URLs work under tauri://localhost and, later, under any path the
  // sync server serves the console from.
  base: "./",
  clearScreen: false,
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // WebKitGTK 2.40+ (Debian 12), Android System WebView, iOS 15+ WKWebView.
    target: ["es2022", "safari15"],
    sourcemap: false,
  },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});
