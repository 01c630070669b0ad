// The packet page's enhancements; without them, every control works the same by form posts.
// Files dropped on an upload form are chosen and sent, as if picked with its file input.
// After Up or Down (the page comes back at #row-N), the keyboard's focus returns to that row.
"use strict";
document.querySelectorAll("form.drop-zone").forEach((form) => {
  const input = form.querySelector("input[type=file]");
  if (!input) return;
  const on = (e) => { e.preventDefault(); form.classList.add("dragging"); };
  const off = () => form.classList.remove("dragging");
  form.addEventListener("dragenter", on);
  form.addEventListener("dragover", on);
  form.addEventListener("dragleave", off);
  form.addEventListener("drop", (e) => {
    e.preventDefault();
    off();
    if (!e.dataTransfer || !e.dataTransfer.files.length) return;
    input.files = e.dataTransfer.files;
    form.requestSubmit();
  });
});
window.addEventListener("load", () => {   // after the browser's own move to the #row-N target
  if (!/^#row-\d+$/.test(location.hash)) return;
  const row = document.getElementById(location.hash.slice(1));
  const button = row && row.querySelector("button:not([disabled])");
  if (button) setTimeout(() => button.focus(), 0);
});
