// Drives the tenantry web UI in headless Chromium, as a new operator would:
// log in, create a client with two contact persons, deploy it to kubesim and watch it
// come up, redeploy a new image and roll back from the revisions panel (its diff shown),
// decommission from the danger zone with the typed confirmation, then break the image
// and see the reason on the run page; switch to Russian.
// Screenshots go to $TENANTRY_SHOTS. Started by crates/tenantry/tests/browser.rs.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";

const url = process.env.TENANTRY_URL;
const password = process.env.TENANTRY_PASSWORD;
const shots = process.env.TENANTRY_SHOTS;
const executablePath = process.env.TENANTRY_CHROMIUM || "/usr/bin/chromium";
mkdirSync(shots, { recursive: true });

const browser = await chromium.launch({ executablePath, args: ["--no-sandbox"] });
const page = await browser.newPage({ locale: "en-GB", viewport: { width: 1280, height: 900 } });
const problems = [];
// A refused form answers 4xx on purpose (the wrong confirmation below); Chromium logs
// the status as a console error, which is not a problem of the page.
page.on("console", (m) => {
  if (m.type() === "error" && !/status of 4\d\d/.test(m.text())) problems.push("console: " + m.text());
});
page.on("pageerror", (e) => problems.push("page error: " + e.message));
page.on("dialog", (d) => d.accept());
const shot = (name) => page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
const step = (s) => console.log("step: " + s);

function expect(cond, what) {
  if (!cond) throw new Error("expected " + what);
}

try {
  step("log in");
  await page.goto(url + "/clients");
  expect(page.url().includes("/login"), "a redirect to the login page");
  await page.fill('input[name="name"]', "admin");
  await page.fill('input[name="password"]', password);
  await page.click('button[type="submit"]');
  await page.waitForURL(/\/clients$/);
  await shot("01-clients");

  step("create a client with two contact persons");
  await page.click('a[href="/clients/new"]');
  await page.fill('input[name="organisation"]', "Browser Test LLC");
  await page.fill('textarea[name="phones"]', "+7 495 765-43-21");
  const names = page.locator('input[name="contact_name"]');
  const phones = page.locator('input[name="contact_phones"]');
  const emails = page.locator('input[name="contact_emails"]');
  await names.nth(0).fill("Анна Петрова");
  await phones.nth(0).fill("8 (916) 111-22-33");
  await emails.nth(0).fill("anna@browser.example");
  await names.nth(1).fill("Boris Green");
  await emails.nth(1).fill("boris@browser.example");
  await shot("02-new-client");
  await page.click('#new-client button[type="submit"]');
  await page.waitForURL(/\/clients\/C\d+$/);
  const contacts = await page
    .locator('section.contact input[name="contact_name"]')
    .evaluateAll((els) => els.map((e) => e.value));
  expect(contacts.join("|") === "Анна Петрова|Boris Green", "both contacts on the card, saw " + contacts.join("|"));
  await shot("03-client-card");

  step("deploy to kubesim and watch it come up");
  await page.click('section.panel[data-namespace="demo"] button[type="submit"]');
  await page.waitForURL(/\/runs\/\d+$/);
  await page.waitForSelector('#run[data-status="running"], #run[data-status="succeeded"]');
  await shot("04-run-live");
  // Live updates first; once the run ends the page reloads itself (without data-live)
  // to list the requests it sent.
  await page.waitForSelector('#run[data-status="succeeded"]:not([data-live])', { timeout: 90000 });
  await page.waitForSelector("table.requests tbody tr");
  const done = await page.locator("#steps tbody tr .badge.done").count();
  expect(done === 8, `8 steps done, saw ${done}`);
  await shot("05-run-succeeded");
  await page.click("#run dd a");
  await page.waitForURL(/\/clients\/C\d+$/);
  expect(await page.locator('section.panel[data-namespace="demo"] .badge.succeeded').count() === 1, "the card says succeeded");
  expect(await page.locator('section.panel[data-namespace="demo"] [data-env="healthy"]').count() === 1, "the card says healthy");
  const card = page.url();
  const id = card.split("/").pop();
  const panel = page.locator('section.panel[data-namespace="demo"]');
  const runSucceeds = async () => {
    await page.waitForURL(/\/runs\/\d+$/);
    await page.waitForSelector('#run[data-status="succeeded"]:not([data-live])', { timeout: 90000 });
  };

  step("redeploy a new image, see the diff, roll back from the revisions panel");
  await page.goto(url + "/namespaces/demo");
  const imageRow = page.locator('#params tr[data-param="docker-image"]');
  await imageRow.locator('input[name="value"]').fill("registry.local/lms/backend:v2");
  await imageRow.locator('button:not([name="unset"])').click();
  await page.waitForURL(/\/namespaces\/demo\?saved=docker-image$/);
  expect(await page.locator('p.ok[role="status"]').count() === 1, "the page says it saved");
  await page.goto(card);
  await panel.locator('form[action$="/deploy"] button').click();
  await runSucceeds();
  await page.goto(card);
  await panel.locator("details.history > summary").click();
  await panel.locator('tr[data-revision="2"] details.diffs > summary').click();
  const diffText = await panel.locator('tr[data-revision="2"] pre.diff').first().textContent();
  expect(diffText.includes("backend:demo") && diffText.includes("backend:v2"), "the diff shows both images: " + diffText);
  await shot("08-revisions");
  await panel.locator('tr[data-revision="1"] form[action$="/rollback"] button').click();
  await runSucceeds();
  await page.goto(card);
  expect(await panel.locator('tr[data-revision="3"]').count() === 1, "the rollback made revision 3");
  const image3 = await panel.locator('tr[data-revision="3"] td.path').textContent();
  expect(image3.includes("backend:demo"), "revision 3 runs the first image again, saw " + image3);

  step("decommission from the danger zone, confirmed by typing the client id");
  await panel.locator("details.danger-zone > summary").click();
  await panel.locator('details.danger-zone input[name="confirm"]').fill("C999");
  await panel.locator("details.danger-zone button.danger").click();
  await page.waitForSelector("text=type the client id to confirm");
  expect(!page.url().includes("/runs/"), "a wrong id starts nothing");
  await page.goto(card);
  await panel.locator("details.danger-zone > summary").click();
  await panel.locator('details.danger-zone input[name="confirm"]').fill(id);
  await panel.locator("details.danger-zone button.danger").click();
  await runSucceeds();
  await shot("09-decommissioned");
  await page.goto(card);
  expect(await panel.locator('[data-env="decommissioned"]').count() === 1, "the card says decommissioned");
  await page.goto(url + "/clients");
  expect(await page.locator(`#clients tr:has(a[href="/clients/${id}"]) [data-env="decommissioned"]`).count() === 1, "the list says decommissioned");

  step("break the image and see the reason");
  await page.goto(url + "/namespaces/demo");
  await page.locator('#params tr[data-param="docker-image"] input[name="value"]').fill("registry.local/lms/backend:missing");
  await page.locator('#params tr[data-param="docker-image"] button:not([name="unset"])').click();
  await page.waitForURL(/\/namespaces\/demo\?saved=docker-image$/);
  await page.goto(url + "/clients/new");
  await page.fill('input[name="organisation"]', "Failing Image Ltd");
  await page.selectOption('select[name="deploy"]', "demo");
  await page.click('#new-client button[type="submit"]');
  await page.waitForURL(/\/runs\/\d+$/);
  await page.waitForSelector('#run[data-status="failed"]:not([data-live])', { timeout: 90000 });
  const reason = await page.textContent("#run-reason pre");
  expect(/ImagePull|ErrImagePull/.test(reason) && reason.includes("registry.local/lms/backend:missing"), "the reason names the image: " + reason);
  await shot("06-run-failed");

  step("switch to Russian");
  await page.goto(url + "/clients");
  await page.click('a[hreflang="ru"]');
  await page.waitForSelector("h1");
  expect((await page.textContent("h1")) === "Клиенты", "a Russian heading");
  await shot("07-clients-ru");

  expect(problems.length === 0, "no console errors or CSP violations: " + problems.join("; "));
  console.log("ok");
} catch (e) {
  await shot("failure").catch(() => {});
  console.error("FAILED: " + e.message);
  console.error("page: " + page.url());
  process.exitCode = 1;
} finally {
  await browser.close();
}
