/* Learning inbox: each "加为例句" form posts to the example route of the intent chosen in its select. */
"use strict";

document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.matches("[data-example-form]")) return;
  const intent = form.querySelector('select[name="intent"]')?.value;
  if (!intent) { event.preventDefault(); return; }
  form.action = `/admin/intents/${encodeURIComponent(intent)}/examples`;
}, true);
