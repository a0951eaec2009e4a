/* Intent page: filter the examples list as the admin types (the server renders every example). */
"use strict";

document.querySelectorAll("input[data-filter]").forEach((input) => {
  const list = document.querySelector(input.dataset.filter);
  if (!list) return;
  const empty = list.parentElement.querySelector("[data-filter-empty]");
  input.addEventListener("input", () => {
    const needle = input.value.trim().toLowerCase();
    let shown = 0;
    list.querySelectorAll("li[data-text]").forEach((item) => {
      const match = !needle || item.dataset.text.includes(needle);
      item.hidden = !match;
      if (match) shown += 1;
    });
    if (empty) empty.hidden = shown > 0;
  });
});

document.getElementById("failed")?.scrollIntoView({ block: "center" });
