// The packet page's drop zone: files dropped on the upload form are chosen and sent, as if picked.
// Only an enhancement: without it, the file input and its button do the same.
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
