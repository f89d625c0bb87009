// Drives the tenantry web UI in headless Chromium, as a new operator would:
// log in, create a client with two contact persons, deploy it to kubesim and watch it
// come up, redeploy a new image and roll back from the revisions panel (its diff shown),
// decommission from the danger zone with the typed confirmation, then break the image
// and see the reason on the run page; a form with a mistake keeps what was typed and
// says what is wrong beside the field; the whole body of a request sent; a template
// typo refused with a suggestion; a rollout whose canary fails on a bad image halts
// before touching anyone else, and undo brings the canary back; the same in Russian.
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

// The catalogue's English phrases; a page in Russian must show none of them. What is
// data (names, code, text boxes, request bodies) is left out.
const english = JSON.parse(process.env.TENANTRY_ENGLISH || "[]");
const data = new Set(["admin", "operator", "viewer", "secret", "service", "deployment", "configmap", "ingress", "default", "missing"]);
async function noEnglish(where) {
  const text = await page.evaluate(() => {
    const clone = document.body.cloneNode(true);
    for (const e of clone.querySelectorAll("code, textarea, pre.body, pre.preview, option, script, .user, .reason")) e.remove();
    return clone.innerText;
  });
  const found = english.filter((p) => !data.has(p) && new RegExp("(^|[^\\p{L}\\p{N}])" + p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&") + "($|[^\\p{L}\\p{N}])", "u").test(text));
  const context = found.map((p) => { const i = text.indexOf(p); return text.slice(Math.max(0, i - 60), i + p.length + 60); });
  expect(found.length === 0, `no English on ${where} in Russian, found ${JSON.stringify(found)} in ${JSON.stringify(context)}`);
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
  await emails.nth(1).fill("boris,green@browser.example");
  await shot("02-new-client");
  await page.click('#new-client button[type="submit"]');
  step("a wrong e-mail: what was typed stays, the problem is said beside the field");
  const beside = page.locator('fieldset.contact:nth-of-type(2) span.field-error[data-for="contact_emails"]');
  await beside.waitFor();
  expect((await beside.textContent()).includes("contains a comma"), "the problem beside the e-mail: " + await beside.textContent());
  expect(await names.nth(0).inputValue() === "Анна Петрова" && await names.nth(1).inputValue() === "Boris Green", "the names kept");
  expect(await page.locator('textarea[name="phones"]').inputValue() === "+7 495 765-43-21", "the phone kept");
  expect((await page.textContent("p.error")).startsWith("Contact person 2, e-mail 1:"), "the field named as the form names it");
  await shot("02b-new-client-error");
  await emails.nth(1).fill("boris@browser.example");
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
  step("expand the whole body of the Deployment the run sent");
  const sent = page.locator('table.requests tr', { has: page.locator('td.path', { hasText: /deployments$/ }) }).first();
  await sent.locator("details.body > summary").click();
  const body = JSON.parse(await sent.locator("pre.body").textContent());
  expect(typeof body.spec.template.spec.containers[0].image === "string", "the image sent, in the whole body");
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

  step("drift made by hand shows on the fleet page with its diff, and Sync clears it");
  const patched = await fetch(`${process.env.TENANTRY_SIM_URL}/apis/apps/v1/namespaces/demo/deployments/lms-deployment-${id.toLowerCase()}`, {
    method: "PATCH",
    headers: { authorization: "Bearer " + process.env.TENANTRY_SIM_TOKEN, "content-type": "application/merge-patch+json" },
    body: JSON.stringify({ spec: { replicas: 2 } }),
  });
  expect(patched.ok, "kubesim took the hand edit, answered " + patched.status);
  await page.goto(url + "/");
  await page.waitForURL(/\/fleet$/);
  // Live: the row turns drifted without a reload if the page was there first.
  await page.waitForSelector(`#fleet tr[data-client="${id}"][data-drifted="true"]`, { timeout: 30000 });
  await page.check('form.filters input[name="drifted"]');
  await page.click('form.filters button[type="submit"]');
  await page.waitForURL(/drifted=true/);
  expect(await page.locator("#fleet tbody tr").count() === 1, "only the drifted environment is listed");
  await shot("10-fleet-drifted");
  await page.click(`#fleet tr[data-client="${id}"] a`);
  await page.waitForURL(/\/environments\/demo$/);
  const drift = await page.textContent("#drift");
  expect(drift.includes("spec.replicas"), "the diff names spec.replicas: " + drift);
  await shot("11-environment-diff");
  await page.click("#sync");
  await runSucceeds();
  let inSync = false;
  for (let i = 0; i < 40 && !inSync; i++) {
    await page.goto(url + `/clients/${id}/environments/demo`);
    inSync = (await page.locator('#environment[data-drifted="false"]').count()) === 1;
    if (!inSync) await page.waitForTimeout(250);
  }
  expect(inSync, "the environment is in sync after the sync");
  await page.goto(card);

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
  await page.fill('input[name="organisation"]', "ООО «Битый образ»");
  await page.selectOption('select[name="deploy"]', "demo");
  await page.click('#new-client button[type="submit"]');
  await page.waitForURL(/\/runs\/\d+$/);
  await page.waitForSelector('#run[data-status="failed"]:not([data-live])', { timeout: 90000 });
  const reason = await page.textContent("#run-reason pre");
  expect(/ImagePull|ErrImagePull/.test(reason) && reason.includes("registry.local/lms/backend:missing"), "the reason names the image: " + reason);
  await shot("06-run-failed");
  step("the fleet filtered to degraded shows the failing environment");
  await page.click("#run dd a");
  await page.waitForURL(/\/clients\/C\d+$/);
  const broken = page.url().split("/").pop();
  let degraded = false;
  for (let i = 0; i < 40 && !degraded; i++) {
    await page.goto(url + "/fleet");
    await page.selectOption('form.filters select[name="health"]', "degraded");
    await page.click('form.filters button[type="submit"]');
    await page.waitForURL(/health=degraded/);
    degraded = (await page.locator(`#fleet tr[data-client="${broken}"][data-health="degraded"]`).count()) === 1;
    if (!degraded) await page.waitForTimeout(250);
  }
  expect(degraded, "the failing environment is listed as degraded");
  const why = await page.textContent(`#fleet tr[data-client="${broken}"] td.reason`);
  expect(/ImagePull|ErrImagePull/.test(why), "the fleet says why: " + why);
  await shot("12-fleet-degraded");

  step("a rollout: the canary fails on a bad image, the rollout halts, undo brings it back");
  await page.goto(url + "/namespaces/demo");
  await imageRow.locator('input[name="value"]').fill("registry.local/lms/backend:demo");
  await imageRow.locator('button:not([name="unset"])').click();
  await page.waitForURL(/saved=docker-image$/);
  for (const c of ["C1", "C2"]) {
    await page.goto(url + "/clients/" + c);
    await page.locator('section.panel[data-namespace="demo"] form[action$="/deploy"] button').click();
    await runSucceeds();
  }
  await page.goto(url + "/namespaces/demo");
  await imageRow.locator('input[name="value"]').fill("registry.local/lms/backend:missing");
  await imageRow.locator('button:not([name="unset"])').click();
  await page.waitForURL(/saved=docker-image$/);
  await page.goto(url + "/rollouts");
  await page.check('#rollout-form input[name="select"][value="all"]');
  await page.fill('#rollout-form input[name="canary"]', "0");
  await page.fill('#rollout-form input[name="canary_clients"]', "C2");
  await page.fill('#rollout-form input[name="batch"]', "1");
  await page.click('#rollout-form button[type="submit"]');
  await page.waitForSelector("#rollout-plan");
  expect((await page.textContent("table.diff")).includes("backend:missing"), "the preview shows the new image");
  await shot("13-rollout-preview");
  await page.click('#rollout-confirm button[type="submit"]');
  await page.waitForURL(/\/rollouts\/\d+$/);
  await page.waitForSelector('#rollout-status[data-status="halted"]', { timeout: 90000 });
  expect(await page.locator('#rollout-clients tr[data-client="C2"][data-state="failed"]').count() === 1, "the canary failed");
  expect(await page.locator('#rollout-clients tr[data-client="C1"][data-state="pending"]').count() === 1, "no other client was touched");
  await shot("14-rollout-halted");
  await page.click('form[action$="/undo"] button');
  await page.waitForURL(/\/rollouts\/\d+$/);
  let undone = false;
  for (let i = 0; i < 120 && !undone; i++) {
    await page.goto(url + "/clients/C2");
    undone = (await page.locator('section.panel[data-namespace="demo"] tr[data-revision="2"]').count()) === 1;
    if (!undone) await page.waitForTimeout(250);
  }
  expect(undone, "undo made C2's revision 2");
  await page.locator('section.panel[data-namespace="demo"] details.history > summary').click();
  const back = await page.locator('section.panel[data-namespace="demo"] tr[data-revision="2"] td.path').textContent();
  expect(back.includes("backend:demo"), "C2 runs its image before the rollout again, saw " + back);
  await shot("15-rollout-undone");

  step("a template with an unknown macro is refused with a suggestion");
  await page.goto(url + "/templates/service");
  const editor = page.locator('#template-editor textarea[name="content"]');
  const original = await editor.inputValue();
  await editor.fill(original.replace("{{client-id | lower}}", "{{clinet-id | lower}}"));
  await page.fill('#template-editor input[name="note"]', "a typo on purpose");
  await page.click('#template-editor button[value="save"]');
  await page.waitForSelector("ul.problems li");
  expect((await page.textContent("ul.problems li")).includes("did you mean {{client-id}}?"), "the suggestion");
  expect((await editor.inputValue()).includes("clinet-id"), "the text kept");
  await shot("06b-template-refused");

  step("switch to Russian");
  await page.goto(url + "/clients");
  await page.click('a[hreflang="ru"]');
  await page.waitForSelector("h1");
  expect((await page.textContent("h1")) === "Клиенты", "a Russian heading");
  await shot("07-clients-ru");
  await noEnglish("the clients list");

  step("in Russian: a wrong e-mail on the card, then the template typo");
  await page.goto(card);
  await page.click("#add-contact >> xpath=.. >> summary");
  await page.fill('#add-contact input[name="contact_name"]', "Вера Иванова");
  await page.fill('#add-contact input[name="contact_emails"]', "vera,ivanova@browser.example");
  await page.click('#add-contact button[type="submit"]');
  const besideRu = page.locator('#add-contact span.field-error[data-for="contact_emails"]');
  await besideRu.waitFor();
  expect((await besideRu.textContent()).includes("содержит запятую"), "the problem in Russian: " + await besideRu.textContent());
  expect(await page.locator('#add-contact input[name="contact_name"]').inputValue() === "Вера Иванова", "the name kept");
  await shot("07b-contact-error-ru");
  await noEnglish("the client card with an error");
  await page.goto(url + "/templates/service");
  await editor.fill(original.replace("{{client-id | lower}}", "{{clinet-id | lower}}"));
  await page.click('#template-editor button[value="save"]');
  await page.waitForSelector("ul.problems li");
  expect((await page.textContent("ul.problems li")).includes("возможно, имелся в виду {{client-id}}?"), "the suggestion in Russian");
  await shot("07c-template-refused-ru");
  await noEnglish("the template editor");
  for (const path of ["/fleet", "/runs", "/namespaces/demo", "/env", "/templates", "/audit", "/users", "/tokens", "/rollouts", "/rollouts/1", "/webhooks"]) {
    await page.goto(url + path);
    await noEnglish(path);
  }
  const runs = page.locator("#runs a[href^='/runs/'], table a[href^='/runs/']");
  if (await runs.count() > 0) {
    await runs.first().click();
    await page.waitForURL(/\/runs\/\d+$/);
    await noEnglish("a run page");
  }

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
