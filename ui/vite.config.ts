/// <reference types="vitest/config" />
// Vite builds ui/ into ui/dist: two pages from one code base.
// - index.html: the tablet app, which the Tauri shell embeds (src-tauri/tauri.conf.json:
//   build.frontendDist);
// - console.html: the supervisors' console, which fieldloop-server serves at `/`.
// Vitest reads its settings from here too.
import { resolve } from "node:path";
import vue from "@vitejs/plugin-vue";
import { defineConfig } from "vite";

export default defineConfig({
  plugins: [vue()],
  // Relative asset URLs work under tauri://localhost and under any path the
  // sync server serves the console from (the console routes with the URL hash).
  base: "./",
  clearScreen: false,
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // WebKitGTK 2.40+ (Debian 12), Android System WebView, iOS 15+ WKWebView.
    target: ["es2022", "safari15"],
    sourcemap: false,
    rollupOptions: {
      input: {
        tablet: resolve(import.meta.dirname, "index.html"),
        console: resolve(import.meta.dirname, "console.html"),
      },
    },
  },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});
