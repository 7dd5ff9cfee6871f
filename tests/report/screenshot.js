// Render a report in headless Chromium: screenshot of the top, and every JavaScript error the page logs.
const { chromium } = require('playwright-core');
(async () => {
  const [url, png] = process.argv.slice(2);
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors = [];
  page.on('pageerror', e => errors.push(String(e)));
  page.on('console', m => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForTimeout(2000);
  await page.screenshot({ path: png });
  await browser.close();
  console.log(JSON.stringify({ errors }));
})().catch(e => { console.error(String(e)); process.exit(1); });
