/* draftbot admin console helpers: no build step, no dependencies.
 *
 * - Forms and buttons with data-confirm ask before they submit.
 * - draftbot.post(url, data) sends JSON or form data with the session's CSRF token in a header
 *   (built on common.js's draftbot.request, the one fetch wrapper of every page).
 * - draftbot.debounce(fn, ms) for live previews.
 * - On a phone each table row shows as a card: every cell carries its column's heading (data-label),
 *   and the menu, one line that scrolls sideways, shows the current page.
 */
"use strict";

window.draftbot = (() => {
  const common = window.draftbot;  // common.js: what every page shares
  const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || "";

  /** POST JSON or form data with the session's CSRF token (through the pages' shared `request`). */
  async function post(url, data) {
    const answer = await common.request("POST", url, { body: data ?? {}, headers: { "X-CSRF-Token": csrf() } });
    return { ok: answer.ok, status: answer.status, body: answer.data ?? answer.raw };
  }

  function debounce(fn, ms) {
    let timer;
    return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
  }

  document.addEventListener("submit", (event) => {
    const form = event.target;
    const submitter = event.submitter;
    const question = submitter?.dataset.confirm || form.dataset.confirm;
    if (question && !window.confirm(question)) { event.preventDefault(); return; }
    if (form.dataset.busy !== undefined && submitter) {
      submitter.classList.add("busy");
      if (form.dataset.busy) submitter.textContent = form.dataset.busy;
    }
  });

  /** Give every cell of the tables in `root` its column's heading, for the card layout on phones. */
  function labelCells(root) {
    for (const table of root.querySelectorAll(".table-wrap table")) {
      const heads = Array.from(table.querySelectorAll("thead th"), (th) => th.textContent.trim());
      for (const row of table.querySelectorAll("tbody tr")) {
        if (row.cells.length !== heads.length) continue;   // a "nothing here" row spanning the table
        Array.from(row.cells).forEach((cell, i) => { if (heads[i]) cell.dataset.label = heads[i]; });
      }
    }
  }

  function showCurrentPage() {
    const nav = document.querySelector(".nav");
    const current = nav?.querySelector('[aria-current="page"]');
    if (!current || nav.scrollWidth <= nav.clientWidth) return;
    nav.scrollLeft = current.offsetLeft - nav.offsetLeft - (nav.clientWidth - current.offsetWidth) / 2;
  }

  labelCells(document);
  showCurrentPage();

  return Object.freeze({ ...common, post, debounce, csrf, labelCells });
})();
