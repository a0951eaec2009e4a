/* draftbot admin console helpers: no build step, no dependencies.
 *
 * - Forms and buttons with data-confirm ask before they submit.
 * - draftbot.post(url, data) sends JSON or form data with the session's CSRF token in a header.
 * - draftbot.debounce(fn, ms) for live previews.
 */
"use strict";

window.draftbot = (() => {
  const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || "";

  async function post(url, data) {
    const isForm = data instanceof FormData || data instanceof URLSearchParams;
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf(), ...(isForm ? {} : { "Content-Type": "application/json" }) },
      body: isForm ? data : JSON.stringify(data ?? {}),
    });
    const type = response.headers.get("content-type") || "";
    const body = type.includes("json") ? await response.json() : await response.text();
    return { ok: response.ok, status: response.status, body };
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

  return { post, debounce, csrf };
})();
