// The control panel driven as a person would: headless Chromium (Debian's) through
// puppeteer-core, by clicks and typing only. Run by control_test.cpp against a real master and
// slave: node control_page.js URL ADMIN_TOKEN SLAVE FILES (FILES holds other.zip, a save to
// upload, and downloads/, where the browser saves). Prints each step; exits 1 on the first
// failure, naming it.
"use strict";
const fs = require("fs");
const path = require("path");
const puppeteer = require("puppeteer-core");

const [url, token, slave, files] = process.argv.slice(2);
const downloads = path.join(files, "downloads");

/// Waits for a finished download of that name; its bytes.
async function downloaded(name) {
  const file = path.join(downloads, name);
  for (let i = 0; i < 300; i++) {
    if (fs.existsSync(file) && !fs.existsSync(file + ".crdownload")) return fs.readFileSync(file);
    await new Promise(r => setTimeout(r, 100));
  }
  throw new Error("no download " + name + " in " + downloads);
}
const instance = "clicked";
let page = null; // for the failure's report

/// Clicks an element. The panel re-renders as its polls answer, so an element found a moment ago
/// can be gone by the click: then it is found again (a few times, not forever).
async function press(selector, options) {
  for (let attempt = 1; ; attempt++) {
    try {
      await page.waitForSelector(selector);
      return await page.click(selector, options);
    } catch (e) {
      if (attempt >= 5 || !/not clickable|detached|not an Element/.test(e.message)) throw e;
      await new Promise(r => setTimeout(r, 200));
    }
  }
}

(async () => {
  const browser = await puppeteer.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking"],
  });
  try {
    page = await browser.newPage();
    const cdp = await browser.target().createCDPSession();
    await cdp.send("Browser.setDownloadBehavior", { behavior: "allow", downloadPath: downloads });
    page.on("console", m => console.log("page console: " + m.text()));
    page.setDefaultTimeout(30000);
    page.on("dialog", d => d.accept()); // the delete confirmation
    const step = what => console.log("step: " + what);
    const waitText = (selector, want, timeout = 30000) =>
      page.waitForFunction((s, w) => { const e = document.querySelector(s); return e && e.textContent.includes(w); }, { timeout }, selector, want);

    step("a viewer sees a sign-in form and no controls");
    await page.goto(url, { waitUntil: "load" });
    await page.waitForSelector("#sign-in");
    if (await page.$("button.start")) throw new Error("a viewer sees instance controls");

    step("a wrong token is refused");
    await page.type("#token", "not-the-token");
    await press("#sign-in");
    await waitText(".sign-in .error", "wrong admin token");

    step("sign in with the admin token");
    await page.$eval("#token", e => { e.value = ""; });
    await press("#token", { clickCount: 3 });
    await page.keyboard.press("Backspace");
    await page.type("#token", token);
    await press("#sign-in");
    await page.waitForSelector("#sign-out");

    step("create an instance on " + slave);
    const form = `form.new-instance[data-slave="${slave}"]`;
    await page.waitForSelector(form);
    await page.type(form + " .new-name", instance);
    await page.type(form + " .new-scenario", "producer");
    await page.type(form + " .new-map-gen-seed", "12345");
    await press(form + " .create");
    const row = `li.control-instance[data-name="${instance}"]`;
    await waitText(row + " .state", "stopped");

    step("start it; it comes online with its UPS on the page");
    await press(row + " .start");
    await waitText(row + " .state", "running", 60000);
    await page.waitForFunction(name => [...document.querySelectorAll("article.instance")].some(
      a => a.querySelector("h3 span").textContent === name && a.querySelector(".badge").textContent === "online" &&
           Number(a.querySelector(".ups").textContent) > 0), { timeout: 60000 }, instance);

    step("storage: its exports in the table, sorted and searched by clicks and typing");
    const storageRows = () => page.$$eval("#storage-rows tr", trs => trs.map(tr => ({ name: tr.dataset.item, count: Number(tr.dataset.count) })));
    await page.waitForFunction(() => document.querySelectorAll("#storage-rows tr").length >= 2, { timeout: 60000 });
    await press("button[data-sort=count]"); // the first click on a count sorts the largest first
    await page.waitForSelector("button[data-sort=count].sorted:not(.asc)");
    let shown = await storageRows();
    if (!shown.every((r, i) => i === 0 || shown[i - 1].count >= r.count)) throw new Error("not largest first: " + JSON.stringify(shown));
    await press("button[data-sort=name]");
    await page.waitForSelector("button[data-sort=name].sorted.asc");
    shown = await storageRows();
    if (!shown.every((r, i) => i === 0 || shown[i - 1].name.localeCompare(r.name) <= 0)) throw new Error("not by name: " + JSON.stringify(shown));
    const wanted = shown[shown.length - 1].name;
    await page.type("#search", wanted);
    await page.waitForFunction(w => [...document.querySelectorAll("#storage-rows tr")].every(tr => tr.dataset.item.includes(w)), {}, wanted);
    if ((await storageRows()).length >= shown.length) throw new Error("the search left every row: " + wanted);
    await press("#search", { clickCount: 3 });
    await page.keyboard.press("Backspace");
    await page.waitForFunction(n => document.querySelectorAll("#storage-rows tr").length >= n, {}, shown.length);

    step("a console command and its reply");
    await page.type(row + " .console-line", "/c rcon.print(6 * 7)");
    await press(row + " .send");
    await waitText(row + " .console-output", "42");
    await page.$eval(row + " .console-line", e => { e.value = ""; });
    await press(row + " .console-line", { clickCount: 3 });
    await page.keyboard.press("Backspace");
    await page.type(row + " .console-line", "/c rcon.print(game.surfaces[1].map_gen_settings.seed)");
    await press(row + " .send");
    await waitText(row + " .console-output", "12345"); // the seed typed at create
    await press(row + " .show-log");
    await waitText(row + " .console-log", "rcon.print(6 * 7)");

    step("follow the console: a line the game prints later appears by itself");
    await press(row + " .follow");
    await page.$eval(row + " .console-line", e => { e.value = ""; });
    await press(row + " .console-line", { clickCount: 3 });
    await page.keyboard.press("Backspace");
    await page.type(row + " .console-line", "hello from the page");
    await press(row + " .send");
    await waitText(row + " .console-log", "[CHAT] <server>: hello from the page");

    step("change a setting");
    await press(row + " .more");
    await page.waitForSelector(row + " form.settings input[name=max_players]");
    await press(row + " form.settings input[name=max_players]", { clickCount: 3 });
    await page.keyboard.press("Backspace");
    await page.type(row + " form.settings input[name=max_players]", "7");
    await press(row + " .save-settings");
    await waitText("#control-message", "changed max_players of instance '" + instance + "' (taken at its next start)");
    await page.waitForFunction(s => document.querySelector(s).value === "7", {}, row + " form.settings input[name=max_players]");

    step("stop it, then delete it (confirmed)");
    await press(row + " .stop");
    await waitText(row + " .state", "stopped", 60000);

    step("download its latest save: the world the stop saved");
    await press(row + " .download-save");
    await waitText(row + " .save-status", "downloaded save " + instance + ".zip");
    const world = await downloaded(instance + ".zip");
    if (world.subarray(0, 4).toString("latin1") !== "PK\x03\x04") throw new Error("the downloaded save is not a zip");

    step("upload a save from a page without crypto.subtle (as on plain http off localhost): js-sha256's digest, which the slave checks");
    await page.evaluate(() => Object.defineProperty(window.crypto, "subtle", { value: undefined, configurable: true }));
    const upload = await page.$(row + " .save-file");
    await upload.uploadFile(path.join(files, "other.zip"));
    await press(row + " .upload-save");
    await waitText(row + " .save-status", "uploaded save 'other.zip'");
    await page.evaluate(() => delete window.crypto.subtle); // the browser's own again
    if (!(await page.evaluate(() => !!window.crypto.subtle))) throw new Error("crypto.subtle did not come back");

    step("it is the latest save now, and downloads byte for byte");
    await press(row + " .download-save");
    await waitText(row + " .save-status", "downloaded save other.zip");
    if (!(await downloaded("other.zip")).equals(fs.readFileSync(path.join(files, "other.zip"))))
      throw new Error("the save downloaded differs from the one uploaded");

    step("the audit log shows the changes");
    await waitText("#audit-log", "save-upload");
    await waitText("#audit-log", "max_players=7");
    await press(row + " .delete");
    await page.waitForFunction(s => !document.querySelector(s), {}, row);
    await waitText("#control-message", "deleted instance '" + instance + "'");

    step("sign out: the controls are gone");
    await press("#sign-out");
    await page.waitForSelector("#sign-in");
    if (await page.$("button.start, form.new-instance")) throw new Error("controls left after signing out");
    console.log("ok");
  } catch (e) {
    // What the panel showed when it failed.
    const shown = page ? await page.$eval("#control", el => el.innerText).catch(() => "(no panel)") : "(no page)";
    throw new Error(e.message + "\n--- the panel showed:\n" + shown);
  } finally {
    await browser.close();
  }
})().catch(e => {
  console.error("FAIL: " + e.message);
  process.exit(1);
});
