// The audit's job page with a script: its progress brought up to date in place every second
// (the page fetched again, only its progress taken), rather than the whole page reloaded every two
// seconds as it is without a script (<noscript> refresh). Once the result is there, the page loads.
"use strict";
(() => {
  const busy = (main) => main !== null && ["waiting", "running"].includes(main.dataset.state);
  if (!busy(document.querySelector("main[data-state]"))) return;
  const tick = async () => {
    try {
      const answer = await fetch(location.href, {cache: "no-store", credentials: "same-origin"});
      const page = new DOMParser().parseFromString(await answer.text(), "text/html");
      const live = document.getElementById("job-live");
      const fresh = page.getElementById("job-live");
      if (!answer.ok || !busy(page.querySelector("main[data-state]")) || !live || !fresh) {
        location.reload();
        return;
      }
      live.replaceChildren(...fresh.childNodes);
    } catch (error) {
      // the server is busy or restarting: try again
    }
    setTimeout(tick, 1000);
  };
  setTimeout(tick, 1000);
})();
