// The control panel driven as a person would: headless Chromium (Debian's) through
// puppeteer-core, by clicks and typing only. Run by control_test.cpp against a real master and
// slave: node control_page.js URL ADMIN_TOKEN SLAVE. Prints each step; exits 1 on the first
// failure, naming it.
"use strict";
const puppeteer = require("puppeteer-core");

const [url, token, slave] = process.argv.slice(2);
const instance = "clicked";
let page = null; // for the failure's report

(async () => {
  const browser = await puppeteer.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking"],
  });
  try {
    page = await browser.newPage();
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
    await page.click("#sign-in");
    await waitText(".sign-in .error", "wrong admin token");

    step("sign in with the admin token");
    await page.$eval("#token", e => { e.value = ""; });
    await page.click("#token", { clickCount: 3 });
    await page.keyboard.press("Backspace");
    await page.type("#token", token);
    await page.click("#sign-in");
    await page.waitForSelector("#sign-out");

    step("create an instance on " + slave);
    const form = `form.new-instance[data-slave="${slave}"]`;
    await page.waitForSelector(form);
    await page.type(form + " .new-name", instance);
    await page.type(form + " .new-scenario", "producer");
    await page.click(form + " .create");
    const row = `li.control-instance[data-name="${instance}"]`;
    await waitText(row + " .state", "stopped");

    step("start it; it comes online with its UPS on the page");
    await page.click(row + " .start");
    await waitText(row + " .state", "running", 60000);
    await page.waitForFunction(name => [...document.querySelectorAll("article.instance")].some(
      a => a.querySelector("h3 span").textContent === name && a.querySelector(".badge").textContent === "online" &&
           Number(a.querySelector(".ups").textContent) > 0), { timeout: 60000 }, instance);

    step("a console command and its reply");
    await page.type(row + " .console-line", "/c rcon.print(6 * 7)");
    await page.click(row + " .send");
    await waitText(row + " .console-output", "42");
    await page.click(row + " .show-log");
    await waitText(row + " .console-log", "rcon.print(6 * 7)");

    step("stop it, then delete it (confirmed)");
    await page.click(row + " .stop");
    await waitText(row + " .state", "stopped", 60000);
    await page.click(row + " .delete");
    await page.waitForFunction(s => !document.querySelector(s), {}, row);
    await waitText("#control-message", "deleted instance '" + instance + "'");

    step("sign out: the controls are gone");
    await page.click("#sign-out");
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
