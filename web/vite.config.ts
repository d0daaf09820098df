import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/**
 * The connections page's build: `web/` is the root, `web/dist` the output. `base: './'` makes
 * every asset URL relative, so the same files work at a site's root (CloudFront) or under a
 * path. `config.js` is not part of the build: whoever serves the page writes it (web/README.md).
 */
export default defineConfig({
  base: './',
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', sourcemap: false },
});
