import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';

export default defineConfig({
  plugins: [react()],
  resolve: {
    alias: {
      '@marginalia/shared': fileURLToPath(new URL('../shared/src/index.ts', import.meta.url)),
      // The package's default entry, which patches/@lexical+yjs+0.52.0.patch points at the patched build; the
      // "production" export condition would load the unpatched minified build instead.
      '@lexical/yjs': fileURLToPath(import.meta.resolve('@lexical/yjs')),
    },
    dedupe: ['yjs', 'lexical', 'react', 'react-dom'],
  },
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 2000 },
  server: { proxy: { '/api': 'http://127.0.0.1:4000', '/collab': { target: 'ws://127.0.0.1:4000', ws: true } } },
});
