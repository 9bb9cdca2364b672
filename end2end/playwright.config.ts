// Playwright settings: Debian's Chromium against a fennec server started for this run.
import { defineConfig } from '@playwright/test';

const port = process.env.FENNEC_E2E_PORT ?? '8931';
export const baseURL = `http://127.0.0.1:${port}`;

if (!process.env.FENNEC_BIN || !process.env.FENNEC_DATA_DIR) {
  throw new Error('Run the browser tests through scripts/test.sh, which builds fennec and sets FENNEC_BIN and FENNEC_DATA_DIR.');
}

export default defineConfig({
  testDir: './tests',
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 15_000 },
  reporter: [['list']],
  // The walkthrough performs the first-start setup that the other files sign in with.
  projects: [
    { name: 'walkthrough', testMatch: /walkthrough\.spec\.ts/ },
    { name: 'private-key-jwt', testMatch: /private-key-jwt\.spec\.ts/, dependencies: ['walkthrough'] },
    // Rotates the Production key and adds an environment, so it runs after the others.
    { name: 'manage', testMatch: /manage\.spec\.ts/, dependencies: ['private-key-jwt'] },
    { name: 'control-api', testMatch: /control-api\.spec\.ts/, dependencies: ['walkthrough'] },
    { name: 'bundle', testMatch: /bundle\.spec\.ts/, dependencies: ['walkthrough'] },
  ],
  use: {
    baseURL,
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    },
  },
  webServer: {
    command: `"${process.env.FENNEC_BIN}" serve`,
    url: `${baseURL}/console/login`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'pipe',
    stderr: 'pipe',
    env: {
      FENNEC_LISTEN: `127.0.0.1:${port}`,
      FENNEC_PUBLIC_URL: baseURL,
      FENNEC_DATA_DIR: process.env.FENNEC_DATA_DIR,
      RUST_LOG: 'info',
    },
  },
});
