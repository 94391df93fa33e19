// The dashboard's only script: show times in the browser's zone (the page says UTC without it).
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  for (const el of document.querySelectorAll("time[data-ts]")) {
    const t = Number(el.dataset.ts);
    if (!Number.isFinite(t)) continue;
    const d = new Date(t * 1000);
    el.title = el.textContent;
    // In a list's cell, to the minute (the title keeps the second), so that a row with two
    // times fits beside its ids at 1280 px.
    const brief = el.closest("td") !== null;
    el.textContent = d.toLocaleString(undefined, {
      year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
      ...(brief ? {} : { second: "2-digit" }), timeZoneName: "short",
    });
  }
});
