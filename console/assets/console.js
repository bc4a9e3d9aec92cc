// Roster console: small enhancements only; every page works without this
// file. No inline script anywhere (the Content-Security-Policy forbids it).
(function () {
  "use strict";
  // A page showing a secret just made is the answer to a POST: reloading
  // it would post again and make a second one. Its history entry becomes
  // the address in data-after (the page's own, by GET), so that a reload
  // or a return shows the page without the secret and makes nothing.
  var minted = document.querySelector("[data-after]");
  if (minted && window.history && history.replaceState) {
    history.replaceState(null, "", minted.getAttribute("data-after"));
  }
  // Copy buttons: <button data-copy="#id">.
  document.addEventListener("click", function (e) {
    var b = e.target.closest("[data-copy]");
    if (!b) return;
    var el = document.querySelector(b.getAttribute("data-copy"));
    if (!el || !navigator.clipboard) return;
    navigator.clipboard.writeText(el.textContent.trim()).then(function () {
      var was = b.textContent; b.textContent = "Copied"; setTimeout(function () { b.textContent = was; }, 1500);
    });
  });
  // "Select all" boxes: <input type=checkbox data-select-all="name">.
  document.addEventListener("change", function (e) {
    var box = e.target.closest("[data-select-all]");
    if (!box) return;
    var name = box.getAttribute("data-select-all");
    document.querySelectorAll('input[type=checkbox][name="' + name + '"]').forEach(function (c) { c.checked = box.checked; });
  });
  // Live progress: <div data-progress="url-answering-json">, whose JSON is
  // {"percent":n,"text":"…","done":bool,"next":"url"}; without script the
  // page refreshes itself (a <meta http-equiv=refresh> on the page).
  document.querySelectorAll("[data-progress]").forEach(function (el) {
    var url = el.getAttribute("data-progress");
    var bar = el.querySelector("progress"), text = el.querySelector("[data-progress-text]");
    function tick() {
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (p) {
          if (bar) { bar.value = p.percent; bar.textContent = p.percent + "%"; }
          if (text) text.textContent = p.text;
          if (p.done) { if (p.next) window.location.assign(p.next); return; }
          setTimeout(tick, 400);
        })
        .catch(function () { setTimeout(tick, 1500); });
    }
    tick();
  });
})();
