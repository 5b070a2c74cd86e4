// openissuer portal: optional enhancements. Every page works without this file.
(function () {
  "use strict";
  // Ask before destructive posts (forms with data-confirm).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); }
  });
  // Live preview of a configuration's metadata entry: the form is posted to its preview URL as the user types.
  var form = document.querySelector("form[data-preview]");
  var target = document.getElementById("preview");
  if (!form || !target) { return; }
  var timer = null;
  function refresh() {
    var body = new URLSearchParams(new FormData(form));
    body.delete("action");
    fetch(form.getAttribute("data-preview"), {
      method: "POST", body: body, credentials: "same-origin", headers: { "X-Portal-Fragment": "preview" }
    }).then(function (response) {
      // Only the preview fragment itself: not a sign-in page after the session ended, nor an error page.
      if (!response.ok || response.headers.get("X-Portal-Fragment") !== "preview") { return null; }
      return response.text();
    }).then(function (html) { if (html !== null) { target.innerHTML = html; } })
      .catch(function () { /* the Preview button still works */ });
  }
  form.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(refresh, 400); });
  form.addEventListener("change", function () { clearTimeout(timer); timer = setTimeout(refresh, 100); });
})();
