/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";
import tailwindcss from "@tailwindcss/vite";

// The bundle is package data of the Python package: `kalshi-rl serve` serves it at `/`.
export default defineConfig({
  plugins: [react(), tailwindcss()],
  build: {
    outDir: "../kalshi_rl/api/static",
    emptyOutDir: true,
    sourcemap: false,
  },
  server: {
    // `npm run dev` against a local `kalshi-rl serve` (port 8000 by default).
    proxy: { "/rl": { target: "http://127.0.0.1:8000", ws: true } },
  },
  test: {
    environment: "jsdom",
    setupFiles: ["./src/test/setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
  },
});
