// Render a report in headless Chromium at 1400 px and read back what a reader sees: every section's title
// (and a screenshot of it, named by section id), the x values of every drawn plot trace, every table cell
// as shown with the value behind it, the report's comment, and every JavaScript error the page logs.
// Usage: node inspect.js <report url> <screenshot folder>; prints one JSON object.
const { chromium } = require('playwright-core');
(async () => {
  const [url, shots] = process.argv.slice(2);
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const errors = [];
  page.on('pageerror', e => errors.push(String(e)));
  page.on('console', m => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForTimeout(3000);
  const seen = await page.evaluate(() => {
    const sections = [...document.querySelectorAll('.mqc-module-section[id^="mqc-module-section-"]')].map(s => ({
      id: s.id.replace('mqc-module-section-', ''),
      title: (s.querySelector('h2') || {}).textContent?.trim() ?? null,
      text: s.innerText,
    }));
    const plots = [...document.querySelectorAll('.js-plotly-plot')].map(gd => ({
      id: gd.id,
      traces: (gd.data || []).map(t => ({ name: t.name ?? null, type: t.type, x: Array.from(t.x || []) })),
    }));
    const tables = [...document.querySelectorAll('table')].filter(t => t.id).map(t => {
      const headers = [...t.querySelectorAll('thead th')].map(th => th.innerText.trim());
      const rows = [...t.querySelectorAll('tbody tr')].map(tr => [...tr.querySelectorAll('th, td')].map(c => ({
        shown: c.innerText.trim(), value: c.getAttribute('data-sorting-val') })));
      return { id: t.id, headers, rows };
    });
    const comment = document.querySelector('.report_comment');
    return { sections, plots, tables, comment: comment ? comment.innerText : null, pwned: window.__pwned ?? null };
  });
  for (const s of seen.sections) {
    const section = page.locator(`[id="mqc-module-section-${s.id}"]`);
    await section.scrollIntoViewIfNeeded();
    await page.waitForTimeout(300);
    await section.screenshot({ path: `${shots}/${s.id}.png` });
  }
  await browser.close();
  console.log(JSON.stringify({ errors, ...seen }));
})().catch(e => { console.error(String(e)); process.exit(1); });
