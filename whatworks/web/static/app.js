// whatworks workspace: keyboard shortcuts and small conveniences. No framework, no build step.
(function () {
  "use strict";

  function typing(target) {
    if (!target) return false;
    var tag = target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
  }

  // Exclude needs a reason: say so before the request instead of after.
  function needsReason(button) {
    var form = button.form;
    if (!form || button.value !== "exclude") return false;
    var reason = form.querySelector("textarea[name=reason]");
    if (reason && !reason.value.trim()) {
      reason.focus();
      reason.setAttribute("aria-invalid", "true");
      reason.placeholder = "Write why it is excluded, then press Exclude (or Ctrl+Enter).";
      return true;
    }
    return false;
  }

  document.addEventListener("click", function (ev) {
    var button = ev.target.closest && ev.target.closest("button[name=decision]");
    if (button && needsReason(button)) ev.preventDefault();
  });

  document.addEventListener("keydown", function (ev) {
    if (ev.altKey || ev.metaKey) return;
    var form = document.getElementById("decision-form");
    // Ctrl+Enter in the reason box: submit with the decision last pointed at (default: exclude)
    if (form && ev.ctrlKey && ev.key === "Enter" && typing(ev.target) && ev.target.name === "reason") {
      var pick = form.querySelector("button[data-key=e]");
      if (pick) { ev.preventDefault(); pick.click(); }
      return;
    }
    if (ev.ctrlKey || typing(ev.target)) return;
    var key = ev.key && ev.key.toLowerCase();
    var target = document.querySelector("[data-key='" + key + "']");
    if (!target) return;
    ev.preventDefault();
    target.click();
  });

  // Confirm before leaving a half-written reason or correction.
  var dirty = false;
  document.addEventListener("input", function (ev) {
    if (ev.target && ev.target.form && ev.target.form.method === "post") dirty = true;
  });
  document.addEventListener("submit", function () { dirty = false; });
  window.addEventListener("beforeunload", function (ev) {
    if (dirty) { ev.preventDefault(); ev.returnValue = ""; }
  });
})();
