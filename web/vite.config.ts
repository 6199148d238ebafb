import react from '@vitejs/plugin-react'
import { defineConfig } from 'vitest/config'

// Hashed file names under assets/ are cached for a year by CloudFront; index.html and config.js
// are revalidated (docs/web.md, "Publishing").
export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist', assetsDir: 'assets', sourcemap: false, target: 'es2022' },
  server: { port: 5173, strictPort: true },
  test: { environment: 'node', include: ['test/**/*.test.ts'], setupFiles: ['test/setup.ts'] },
})
